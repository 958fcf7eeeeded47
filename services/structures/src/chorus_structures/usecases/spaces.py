"""Spaces of a structure and subscriptions to them."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg
from chorus_platform.errors import AlreadyExists
from chorus_platform.unit_of_work import UnitOfWork

from chorus_structures.clients.identity import IdentityDirectory
from chorus_structures.domain.access import Caller, Role, granted_mode, technical_role
from chorus_structures.domain.attachments import Decision, checked_comment
from chorus_structures.domain.events import (
    SpaceClosed,
    SpaceOpened,
    SubscriptionDecided,
    SubscriptionRequested,
)
from chorus_structures.domain.history import Action, ActionKind
from chorus_structures.domain.membership import (
    require_manager,
    require_manager_of_item,
    require_member,
)
from chorus_structures.domain.paging import Page, Position
from chorus_structures.domain.people import Profile
from chorus_structures.domain.spaces import (
    ALWAYS_OPEN,
    MANAGERS_ONLY,
    SELF_SUBSCRIPTION,
    AccessMode,
    Space,
    openness,
)
from chorus_structures.domain.structure import (
    Reference,
    Structure,
    StructureStatus,
    require_structure,
)
from chorus_structures.domain.subscriptions import (
    Subscription,
    SubscriptionStatus,
    check_closable,
    check_pending,
    check_subscribable,
    subscription_not_found,
)
from chorus_structures.store import history, memberships, spaces, structures, subscriptions
from chorus_structures.usecases.directory import structure_by_reference


@dataclass(frozen=True)
class SpaceView:
    """One space as a member sees it."""

    space: Space
    open: bool
    access_mode: AccessMode | None
    pending_mode: AccessMode | None

    @property
    def managers_only(self) -> bool:
        return self.space in MANAGERS_ONLY

    @property
    def always_open(self) -> bool:
        return self.space in ALWAYS_OPEN

    @property
    def self_subscription(self) -> bool:
        return self.space in SELF_SUBSCRIPTION


async def _views(
    conn: asyncpg.Connection, structure: Structure, user_id: UUID | None, role: Role
) -> list[SpaceView]:
    """The spaces as ``user_id`` sees them with ``role`` (None: a technical account, which
    has no subscriptions)."""
    states = await _states(conn, structure)
    validated, pending = {}, {}
    if user_id is not None:
        validated = await subscriptions.validated_modes(conn, structure.id, user_id)
        pending = await subscriptions.pending_modes(conn, structure.id, user_id)
    active = structure.status is StructureStatus.ACTIVE
    views = []
    for space in Space:
        is_open = states[space]
        mode = granted_mode(role, validated.get(space), space) if is_open and active else None
        views.append(SpaceView(space, is_open, mode, pending.get(space)))
    return views


async def _states(conn: asyncpg.Connection, structure: Structure) -> dict[Space, bool]:
    recorded = await spaces.explicit_states(conn, [structure.id])
    return openness(structure.kind, recorded.get(structure.id, {}))


class Spaces:
    def __init__(self, uow: UnitOfWork, identity: IdentityDirectory) -> None:
        self._uow = uow
        self._identity = identity

    async def list_spaces(self, caller: Caller, reference: Reference) -> list[SpaceView]:
        """Every space, open or not, with the caller's mode and pending subscription. Members
        only (NOT_A_MEMBER); a technical account, its structure only (MODIFICATION in every
        open space but the managers' own). The structure by id or integer id (by integer id,
        a private structure the caller may not find is STRUCTURE_NOT_FOUND)."""
        async with self._uow.reading() as conn:
            structure = require_structure(await structure_by_reference(conn, caller, reference))
            structure_id = structure.id
            if caller.is_technical:
                role = require_member(technical_role(caller, structure_id))
                return await _views(conn, structure, None, role)
            role = require_member(await memberships.role_of(conn, structure_id, caller.user_id))
            return await _views(conn, structure, caller.user_id, role)

    async def set_space_open(
        self, caller: UUID, structure_id: UUID, space: Space, *, open_: bool
    ) -> SpaceView:
        """A manager opens or closes a space; SpaceOpened/SpaceClosed and the history only when it
        changed. Errors: MANAGER_REQUIRED, SPACE_ALWAYS_OPEN (closing MON_COMPTE or
        ACTIVITES_GESTIONNAIRE)."""
        async with self._uow.transaction() as tx:
            conn = tx.conn
            structure = require_structure(await structures.lock_structure(conn, structure_id))
            role = require_manager(await memberships.role_of(conn, structure_id, caller))
            if not open_:
                check_closable(space)
            if (await _states(conn, structure))[space] is not open_:
                await spaces.set_open(conn, structure_id, space, open_)
                kind = ActionKind.SPACE_OPENED if open_ else ActionKind.SPACE_CLOSED
                await history.record(
                    conn, structure_id, Action(kind, caller, details={"space": space.value})
                )
                event = SpaceOpened if open_ else SpaceClosed
                tx.emit(event(structure_id, space, caller))
            views = await _views(conn, structure, caller, role)
            return next(view for view in views if view.space is space)

    async def request_subscription(
        self, caller: UUID, structure_id: UUID, space: Space, mode: AccessMode
    ) -> Subscription:
        """A simple user asks to use an open space in ``mode``; a subscription to a
        self-subscription space (FACTURES_EMISES) is validated at once. Errors: NOT_A_MEMBER,
        MANAGER_HAS_ACCESS, SPACE_MANAGERS_ONLY, SPACE_CLOSED, ALREADY_SUBSCRIBED; ALREADY_EXISTS
        SUBSCRIPTION_PENDING."""
        async with self._uow.transaction() as tx:
            conn = tx.conn
            structure = require_structure(await structures.lock_structure(conn, structure_id))
            role = require_member(await memberships.role_of(conn, structure_id, caller))
            is_open = (await _states(conn, structure))[space]
            current = await subscriptions.validated_mode(conn, structure_id, caller, space)
            check_subscribable(role, space, is_open, current, mode)
            await spaces.pin(conn, structure_id, space, is_open)
            subscription = await subscriptions.insert_pending(
                conn, structure_id, caller, space, mode
            )
            if subscription is None:
                raise AlreadyExists(
                    "SUBSCRIPTION_PENDING",
                    "Vous avez déjà une demande d'abonnement en attente pour cet espace.",
                )
            if space in SELF_SUBSCRIPTION:
                validated = await subscriptions.record_decision(
                    conn,
                    subscription,
                    status=SubscriptionStatus.VALIDEE,
                    comment="",
                    decided_by=None,
                )
                tx.emit(SubscriptionDecided(validated, structure.raison_sociale))
                return validated
            managers = await memberships.manager_ids(conn, structure_id)
            tx.emit(SubscriptionRequested(subscription, managers, structure.raison_sociale))
            return subscription

    async def list_subscriptions(
        self,
        caller: UUID,
        structure_id: UUID,
        status: SubscriptionStatus | None,
        page: Page,
    ) -> tuple[list[Subscription], Position | None, dict[UUID, Profile]]:
        """A page of the structure's subscriptions, newest first, for a manager."""
        async with self._uow.reading() as conn:
            require_structure(await structures.get_structure(conn, structure_id))
            require_manager(await memberships.role_of(conn, structure_id, caller))
            rows = await subscriptions.list_for_structure(conn, structure_id, status, page)
        shown = rows[: page.size]
        after = None
        if len(rows) > page.size:
            after = Position(shown[-1].requested_at, shown[-1].id)
        return shown, after, await self._identity.profiles(s.user_id for s in shown)

    async def decide_subscription(
        self, caller: UUID, subscription_id: UUID, decision: Decision, comment: str
    ) -> Subscription:
        """A manager of the subscription's structure accepts or refuses it; a validated one
        replaces the member's previous subscription to the space. Errors: SUBSCRIPTION_NOT_FOUND
        (also for a caller neither member of the structure nor the subscriber),
        MANAGER_REQUIRED, COMMENT_TOO_LONG, SUBSCRIPTION_ALREADY_DECIDED."""
        text = checked_comment(comment)
        async with self._uow.transaction() as tx:
            conn = tx.conn
            structure_id = await subscriptions.structure_of(conn, subscription_id)
            if structure_id is None:
                raise subscription_not_found()
            structure = require_structure(await structures.lock_structure(conn, structure_id))
            subscription = await subscriptions.get_subscription(conn, subscription_id)
            assert subscription is not None
            require_manager_of_item(
                await memberships.role_of(conn, structure_id, caller),
                concerns_caller=subscription.user_id == caller,
                not_found=subscription_not_found(),
            )
            check_pending(subscription)
            accepted = decision is Decision.VALIDEE
            decided = await subscriptions.record_decision(
                conn,
                subscription,
                status=SubscriptionStatus.VALIDEE if accepted else SubscriptionStatus.REFUSEE,
                comment=text,
                decided_by=caller,
            )
            details = {"space": subscription.space.value, "mode": subscription.mode.value}
            if text:
                details["comment"] = text
            kind = ActionKind.SUBSCRIPTION_ACCEPTED if accepted else ActionKind.SUBSCRIPTION_REFUSED
            await history.record(
                conn, structure_id, Action(kind, caller, subscription.user_id, details)
            )
            tx.emit(SubscriptionDecided(decided, structure.raison_sociale))
            return decided
