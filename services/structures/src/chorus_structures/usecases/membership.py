"""Members and roles: listing, role and service changes, detaching, leaving, transferring the
principal role, attaching an existing account directly.

Every change locks the structure row first, so one structure's changes (and their events)
happen one after the other and the role read is the one the change applies to. Names and
e-mails come from identity, best effort (ids only when it does not answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg
from chorus_platform.unit_of_work import Transaction, UnitOfWork

from chorus_structures.clients.identity import IdentityDirectory
from chorus_structures.domain.access import Role
from chorus_structures.domain.attachments import AttachmentStatus
from chorus_structures.domain.events import (
    MemberAdded,
    MemberDetached,
    MemberRoleChanged,
    MemberServicesChanged,
    PrincipalTransferred,
)
from chorus_structures.domain.history import Action, ActionKind
from chorus_structures.domain.membership import (
    Member,
    check_detach,
    check_leave,
    check_not_member,
    check_role_change,
    check_transfer,
    grantable_role,
    member_not_found,
    require_manager,
    require_member,
)
from chorus_structures.domain.people import Profile
from chorus_structures.domain.structure import Structure, require_structure
from chorus_structures.store import attachment_requests, history, memberships, services, structures


async def _locked(conn: asyncpg.Connection, structure_id: UUID) -> Structure:
    return require_structure(await structures.lock_structure(conn, structure_id))


async def _end_membership(tx: Transaction, structure: Structure, member: Member, by: UUID) -> None:
    conn = tx.conn
    await memberships.remove_member(conn, structure.id, member.user_id)
    await attachment_requests.deactivate_validated(conn, structure.id, member.user_id)
    left = by == member.user_id
    await history.record(
        conn,
        structure.id,
        Action(
            ActionKind.MEMBER_LEFT if left else ActionKind.MEMBER_DETACHED,
            by,
            member.user_id,
            {"role": member.role.value},
        ),
    )
    tx.emit(MemberDetached(structure, member.user_id, member.role, by))


class Members:
    def __init__(self, uow: UnitOfWork, identity: IdentityDirectory) -> None:
        self._uow = uow
        self._identity = identity

    async def list_members(
        self, caller: UUID, structure_id: UUID
    ) -> tuple[list[Member], dict[UUID, Profile]]:
        """The members, principal first, with their profiles. Members only (NOT_A_MEMBER)."""
        async with self._uow.reading() as conn:
            require_structure(await structures.get_structure(conn, structure_id))
            require_member(await memberships.role_of(conn, structure_id, caller))
            members = await memberships.members_of(conn, structure_id)
        return members, await self._identity.profiles(m.user_id for m in members)

    async def update(
        self,
        caller: UUID,
        structure_id: UUID,
        user_id: UUID,
        *,
        role: Role | None,
        service_ids: Sequence[UUID] | None,
    ) -> tuple[Member, dict[UUID, Profile]]:
        """Changes a member's role (UTILISATEUR <-> GESTIONNAIRE_SECONDAIRE) and/or the
        services they are limited to, for a manager; returns the member and their profile.
        Errors: MANAGER_REQUIRED, ROLE_NOT_GRANTABLE, PRINCIPAL_ROLE_PROTECTED (role of the
        principal), MEMBER_NOT_FOUND, SERVICE_NOT_FOUND."""
        async with self._uow.transaction() as tx:
            conn = tx.conn
            structure = await _locked(conn, structure_id)
            actor_role = require_manager(await memberships.role_of(conn, structure_id, caller))
            target = await memberships.get_member(conn, structure_id, user_id)
            if target is None:
                raise member_not_found()
            if role is not None and role is not target.role:
                check_role_change(actor_role, target, role)
                await memberships.set_role(conn, structure_id, user_id, role)
                await history.record(
                    conn,
                    structure_id,
                    Action(
                        ActionKind.ROLE_CHANGED,
                        caller,
                        user_id,
                        {"previous_role": target.role.value, "role": role.value},
                    ),
                )
                tx.emit(MemberRoleChanged(structure, user_id, target.role, role, caller))
            if service_ids is not None and set(service_ids) != target.service_ids:
                chosen = await services.require_services(
                    conn, structure_id, service_ids, "services.service_ids"
                )
                await memberships.set_services(conn, structure_id, user_id, chosen)
                codes = {s.id: s.code for s in structure.services}
                await history.record(
                    conn,
                    structure_id,
                    Action(
                        ActionKind.MEMBER_SERVICES_CHANGED,
                        caller,
                        user_id,
                        {"services": ", ".join(sorted(codes[s] for s in chosen)) or "*"},
                    ),
                )
                tx.emit(
                    MemberServicesChanged(
                        structure_id,
                        user_id,
                        chosen,
                        await services.codes_of(conn, chosen),
                        caller,
                    )
                )
            updated = await memberships.get_member(conn, structure_id, user_id)
            assert updated is not None
        return updated, await self._identity.profiles([updated.user_id])

    async def detach(self, caller: UUID, structure_id: UUID, user_id: UUID) -> None:
        """A manager detaches a member (never the principal); a member naming themself
        leaves. Errors: MANAGER_REQUIRED, MEMBER_NOT_FOUND, PRINCIPAL_CANNOT_BE_DETACHED (and,
        for oneself, those of :meth:`leave`)."""
        if user_id == caller:
            await self.leave(caller, structure_id)
            return
        async with self._uow.transaction() as tx:
            structure = await _locked(tx.conn, structure_id)
            actor_role = await memberships.role_of(tx.conn, structure_id, caller)
            target = await memberships.get_member(tx.conn, structure_id, user_id)
            check_detach(actor_role, target)
            assert target is not None
            await _end_membership(tx, structure, target, caller)

    async def leave(self, caller: UUID, structure_id: UUID) -> None:
        """The caller leaves the structure. Errors: NOT_A_MEMBER,
        PRINCIPAL_MUST_TRANSFER_FIRST."""
        async with self._uow.transaction() as tx:
            structure = await _locked(tx.conn, structure_id)
            member = await memberships.get_member(tx.conn, structure_id, caller)
            check_leave(member.role if member else None)
            assert member is not None
            await _end_membership(tx, structure, member, caller)

    async def transfer_principal(
        self, caller: UUID, structure_id: UUID, user_id: UUID
    ) -> tuple[Member, Member, dict[UUID, Profile]]:
        """Makes ``user_id`` principal and the caller secondary, in one transaction (demote
        first: the database never sees two principals, and refuses to commit none). Returns
        the new principal, the previous one and their profiles. Errors:
        PRINCIPAL_MANAGER_REQUIRED, MEMBER_NOT_FOUND, ALREADY_PRINCIPAL."""
        async with self._uow.transaction() as tx:
            conn = tx.conn
            structure = await _locked(conn, structure_id)
            actor_role = await memberships.role_of(conn, structure_id, caller)
            target = await memberships.get_member(conn, structure_id, user_id)
            check_transfer(actor_role, caller, target)
            assert target is not None
            await memberships.set_role(conn, structure_id, caller, Role.GESTIONNAIRE_SECONDAIRE)
            await memberships.set_role(conn, structure_id, user_id, Role.GESTIONNAIRE_PRINCIPAL)
            # A principal acts for the whole structure.
            await memberships.set_services(conn, structure_id, user_id, ())
            await history.record(
                conn,
                structure_id,
                Action(
                    ActionKind.PRINCIPAL_TRANSFERRED,
                    caller,
                    user_id,
                    {
                        "previous_role": target.role.value,
                        "role": Role.GESTIONNAIRE_PRINCIPAL.value,
                    },
                ),
            )
            tx.emit(PrincipalTransferred(structure, caller, user_id))
            principal = await memberships.get_member(conn, structure_id, user_id)
            previous = await memberships.get_member(conn, structure_id, caller)
            assert principal is not None and previous is not None
        profiles = await self._identity.profiles([principal.user_id, previous.user_id])
        return principal, previous, profiles

    async def attach_by_email(
        self,
        caller: UUID,
        structure_id: UUID,
        *,
        login_email: str,
        role: Role | None,
        service_ids: Sequence[UUID],
    ) -> tuple[Member, dict[UUID, Profile]]:
        """A manager attaches an existing, active account directly. A pending request of that
        user is closed as VALIDEE. Errors: MANAGER_REQUIRED (checked before asking identity),
        ROLE_NOT_GRANTABLE, USER_NOT_FOUND, USER_NOT_ACTIVE, ALREADY_A_MEMBER,
        SERVICE_NOT_FOUND, IDENTITY_UNAVAILABLE."""
        granted = grantable_role(role)
        async with self._uow.reading() as conn:
            require_structure(await structures.get_structure(conn, structure_id))
            require_manager(await memberships.role_of(conn, structure_id, caller))
        account = await self._identity.find_by_login_email(login_email)
        async with self._uow.transaction() as tx:
            conn = tx.conn
            structure = await _locked(conn, structure_id)
            require_manager(await memberships.role_of(conn, structure_id, caller))
            check_not_member(await memberships.role_of(conn, structure_id, account.user_id))
            chosen = await services.require_services(conn, structure_id, service_ids, "service_ids")
            await memberships.add_member(conn, structure_id, account.user_id, granted)
            await memberships.set_services(conn, structure_id, account.user_id, chosen)
            pending = await attachment_requests.pending_of(conn, structure_id, account.user_id)
            if pending is not None:
                await attachment_requests.record_decision(
                    conn,
                    pending.id,
                    status=AttachmentStatus.VALIDEE,
                    granted_role=granted,
                    comment="",
                    decided_by=caller,
                )
            await history.record(
                conn,
                structure_id,
                Action(
                    ActionKind.MEMBER_ATTACHED,
                    caller,
                    account.user_id,
                    {"role": granted.value, "login_email": login_email.strip().lower()},
                ),
            )
            tx.emit(
                MemberAdded(
                    structure_id,
                    account.user_id,
                    granted,
                    added_by=caller,
                    structure_name=structure.raison_sociale,
                    service_ids=chosen,
                    service_codes=await services.codes_of(conn, chosen),
                )
            )
            member = await memberships.get_member(conn, structure_id, account.user_id)
            assert member is not None
        return member, {account.user_id: account.profile}
