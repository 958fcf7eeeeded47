"""Attachment requests: asking, cancelling, listing, deciding (one or many).

Every change locks the structure row first, so one structure's requests are decided one
after the other and their events keep that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from chorus_platform.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from chorus_platform.unit_of_work import Transaction, UnitOfWork

from chorus_structures.clients.identity import IdentityDirectory
from chorus_structures.config import StructuresSettings
from chorus_structures.domain.access import Role
from chorus_structures.domain.attachments import (
    AttachmentRequest,
    AttachmentStatus,
    Decision,
    check_cancellable,
    check_pending,
    checked_comment,
    request_not_found,
)
from chorus_structures.domain.events import (
    AttachmentDecided,
    AttachmentRequestCancelled,
    AttachmentRequested,
    MemberAdded,
)
from chorus_structures.domain.history import Action, ActionKind
from chorus_structures.domain.membership import (
    check_not_member,
    grantable_role,
    require_manager,
    require_manager_of_item,
)
from chorus_structures.domain.paging import Page, Position
from chorus_structures.domain.people import Profile
from chorus_structures.domain.structure import Structure, require_active, require_structure
from chorus_structures.store import attachment_requests, history, memberships, services, structures

BATCH_MAX = 100


async def _accept(
    tx: Transaction,
    structure: Structure,
    request: AttachmentRequest,
    role: Role,
    comment: str,
    *,
    decided_by: UUID | None,
) -> AttachmentRequest:
    conn = tx.conn
    check_not_member(await memberships.role_of(conn, structure.id, request.user_id))
    await memberships.add_member(conn, structure.id, request.user_id, role)
    # Services deleted since the request are dropped rather than failing the decision.
    still_there = await services.known_service_ids(conn, structure.id, request.service_ids)
    kept = [s for s in request.service_ids if s in still_there]
    await memberships.set_services(conn, structure.id, request.user_id, kept)
    decided = await attachment_requests.record_decision(
        conn,
        request.id,
        status=AttachmentStatus.VALIDEE,
        granted_role=role,
        comment=comment,
        decided_by=decided_by,
    )
    details = {"role": role.value}
    if comment:
        details["comment"] = comment
    await history.record(
        conn,
        structure.id,
        Action(ActionKind.ATTACHMENT_ACCEPTED, decided_by, request.user_id, details),
    )
    tx.emit(AttachmentDecided(decided))
    tx.emit(
        MemberAdded(
            structure.id,
            request.user_id,
            role,
            added_by=decided_by,
            structure_name=structure.raison_sociale,
            attachment_request_id=request.id,
            service_ids=kept,
            service_codes=await services.codes_of(conn, kept),
        )
    )
    return decided


async def _refuse(
    tx: Transaction,
    structure: Structure,
    request: AttachmentRequest,
    comment: str,
    by: UUID,
) -> AttachmentRequest:
    decided = await attachment_requests.record_decision(
        tx.conn,
        request.id,
        status=AttachmentStatus.REFUSEE,
        granted_role=None,
        comment=comment,
        decided_by=by,
    )
    await history.record(
        tx.conn,
        structure.id,
        Action(ActionKind.ATTACHMENT_REFUSED, by, request.user_id, {"comment": comment}),
    )
    tx.emit(AttachmentDecided(decided))
    return decided


async def _decide(
    tx: Transaction,
    structure: Structure,
    request: AttachmentRequest,
    decision: Decision,
    role: Role,
    comment: str,
    caller: UUID,
) -> AttachmentRequest:
    check_pending(request)
    if decision is Decision.VALIDEE:
        return await _accept(tx, structure, request, role, comment, decided_by=caller)
    return await _refuse(tx, structure, request, comment, caller)


class Attachments:
    """Attachment requests; a structure without any manager is claimed by its first
    requester when ``claim_unmanaged_structures`` is on (read at each call)."""

    def __init__(
        self, uow: UnitOfWork, identity: IdentityDirectory, settings: StructuresSettings
    ) -> None:
        self._uow = uow
        self._identity = identity
        self._settings = settings

    async def request(
        self,
        caller: UUID,
        structure_id: UUID,
        *,
        comment: str,
        service_ids: Sequence[UUID],
    ) -> AttachmentRequest:
        """The caller asks to join; AttachmentRequested names the managers who may decide.

        A structure without any manager (imported from the directory) cannot decide: with
        ``claim_unmanaged_structures`` the request is validated at once and the requester
        becomes its principal manager. Errors: STRUCTURE_NOT_FOUND, STRUCTURE_INACTIVE,
        ALREADY_A_MEMBER, SERVICE_NOT_FOUND, COMMENT_TOO_LONG; ALREADY_EXISTS
        ATTACHMENT_REQUEST_PENDING.
        """
        text = checked_comment(comment)
        async with self._uow.transaction() as tx:
            conn = tx.conn
            structure = require_active(
                require_structure(await structures.lock_structure(conn, structure_id))
            )
            check_not_member(await memberships.role_of(conn, structure_id, caller))
            chosen = await services.require_services(conn, structure_id, service_ids, "service_ids")
            request = await attachment_requests.insert_pending(
                conn, structure_id, caller, text, chosen
            )
            if request is None:
                raise AlreadyExists(
                    "ATTACHMENT_REQUEST_PENDING",
                    "Vous avez déjà une demande de rattachement en attente pour cette "
                    "structure : attendez la décision d'un gestionnaire ou annulez-la.",
                )
            managers = await memberships.manager_ids(conn, structure_id)
            if not managers and self._settings.claim_unmanaged_structures:
                return await _accept(
                    tx, structure, request, Role.GESTIONNAIRE_PRINCIPAL, "", decided_by=None
                )
            tx.emit(AttachmentRequested(request, managers))
            return request

    async def cancel(self, caller: UUID, request_id: UUID) -> AttachmentRequest:
        """The requester withdraws a pending request (ANNULEE). Errors: NOT_FOUND
        ATTACHMENT_REQUEST_NOT_FOUND (also for someone else's),
        ATTACHMENT_REQUEST_ALREADY_DECIDED."""
        async with self._uow.transaction() as tx:
            conn = tx.conn
            structure_id = await attachment_requests.structure_of(conn, request_id)
            if structure_id is None:
                raise request_not_found()
            await structures.lock_structure(conn, structure_id)
            request = check_cancellable(
                await attachment_requests.get_request(conn, request_id), caller
            )
            cancelled = await attachment_requests.record_decision(
                conn,
                request.id,
                status=AttachmentStatus.ANNULEE,
                granted_role=None,
                comment="",
                decided_by=caller,
            )
            tx.emit(AttachmentRequestCancelled(cancelled))
            return cancelled

    async def list_for_structure(
        self, caller: UUID, structure_id: UUID, status: AttachmentStatus | None, page: Page
    ) -> tuple[list[AttachmentRequest], Position | None, dict[UUID, Profile]]:
        """A page of the structure's requests, newest first, for a manager, with the
        requesters' profiles and the position the next page starts after."""
        async with self._uow.reading() as conn:
            require_structure(await structures.get_structure(conn, structure_id))
            require_manager(await memberships.role_of(conn, structure_id, caller))
            rows = await attachment_requests.list_for_structure(conn, structure_id, status, page)
        shown = rows[: page.size]
        after = None
        if len(rows) > page.size:
            after = Position(shown[-1].requested_at, shown[-1].id)
        return shown, after, await self._identity.profiles(r.user_id for r in shown)

    async def list_mine(self, caller: UUID) -> list[AttachmentRequest]:
        """The caller's requests, newest first (the last 200)."""
        async with self._uow.reading() as conn:
            return await attachment_requests.list_for_user(conn, caller)

    async def decide(
        self,
        caller: UUID,
        request_id: UUID,
        *,
        decision: Decision,
        role: Role | None,
        comment: str,
    ) -> AttachmentRequest:
        """A manager of the request's structure accepts it (the requester joins with
        ``role``, UTILISATEUR by default, and the services asked for) or refuses it (the
        comment is kept for the requester). Errors: ATTACHMENT_REQUEST_NOT_FOUND (also for a
        caller neither member of the structure nor the requester), MANAGER_REQUIRED,
        ROLE_NOT_GRANTABLE, COMMENT_TOO_LONG,
        ATTACHMENT_REQUEST_ALREADY_DECIDED, ALREADY_A_MEMBER."""
        granted = grantable_role(role)
        text = checked_comment(comment)
        async with self._uow.transaction() as tx:
            conn = tx.conn
            structure_id = await attachment_requests.structure_of(conn, request_id)
            if structure_id is None:
                raise request_not_found()
            structure = require_structure(await structures.lock_structure(conn, structure_id))
            request = await attachment_requests.get_request(conn, request_id)
            assert request is not None
            require_manager_of_item(
                await memberships.role_of(conn, structure_id, caller),
                concerns_caller=request.user_id == caller,
                not_found=request_not_found(),
            )
            return await _decide(tx, structure, request, decision, granted, text, caller)

    async def decide_many(
        self,
        caller: UUID,
        structure_id: UUID,
        request_ids: Sequence[UUID],
        *,
        decision: Decision,
        role: Role | None,
        comment: str,
    ) -> list[AttachmentRequest]:
        """The same decision for several pending requests of one structure: all or none.
        Errors as :meth:`decide`, plus REQUEST_IDS_REQUIRED / TOO_MANY_REQUEST_IDS; an id of
        another structure is ATTACHMENT_REQUEST_NOT_FOUND."""
        if not request_ids:
            message = "Choisissez au moins une demande de rattachement."
            raise InvalidArgument(
                "REQUEST_IDS_REQUIRED", message, [FieldViolation("request_ids", message)]
            )
        if len(request_ids) > BATCH_MAX:
            message = f"Traitez au plus {BATCH_MAX} demandes à la fois."
            raise InvalidArgument(
                "TOO_MANY_REQUEST_IDS", message, [FieldViolation("request_ids", message)]
            )
        granted = grantable_role(role)
        text = checked_comment(comment)
        async with self._uow.transaction() as tx:
            conn = tx.conn
            structure = require_structure(await structures.lock_structure(conn, structure_id))
            require_manager(await memberships.role_of(conn, structure_id, caller))
            decided = []
            for index, request_id in enumerate(request_ids):
                request = await attachment_requests.get_request(conn, request_id)
                if request is None or request.structure_id != structure_id:
                    raise NotFound(
                        "ATTACHMENT_REQUEST_NOT_FOUND",
                        "Une des demandes choisies n'existe pas pour cette structure.",
                        [FieldViolation(f"request_ids[{index}]", "Demande introuvable.")],
                    )
                decided.append(
                    await _decide(tx, structure, request, decision, granted, text, caller)
                )
            return decided
