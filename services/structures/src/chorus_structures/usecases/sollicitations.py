"""Sollicitations: writing one, listing the sent and received ones, reading a thread,
answering, closing, downloading an attachment.

The rules are in ``domain/sollicitations.py``; here the facts they need are read (is the
caller the sender, a manager of the addressed structure, one of the support users?) in the
transaction that changes the thread, whose row is locked so its messages and events keep
their order. Events name the people to tell, as attachment requests do.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from chorus_platform.unit_of_work import UnitOfWork

from chorus_structures.clients.identity import IdentityDirectory
from chorus_structures.config import StructuresSettings
from chorus_structures.domain.access import decide
from chorus_structures.domain.events import (
    SollicitationClosed,
    SollicitationCreated,
    SollicitationReplied,
)
from chorus_structures.domain.membership import require_member
from chorus_structures.domain.paging import Page, Position
from chorus_structures.domain.people import Profile
from chorus_structures.domain.sollicitations import (
    NewSollicitation,
    Side,
    Sollicitation,
    SollicitationBox,
    SollicitationStatus,
    Upload,
    attachment_not_found,
    checked_body,
    checked_uploads,
    no_manager,
    require_open,
    require_party,
    require_receiving,
    require_sending_access,
    sollicitation_not_found,
    status_after_reply,
    support_unavailable,
)
from chorus_structures.domain.spaces import AccessMode, Space, openness
from chorus_structures.domain.structure import require_structure
from chorus_structures.store import access, memberships, sollicitations, spaces, structures


class Sollicitations:
    """The support is the accounts of ``settings.support_users``
    (``CHORUS_SUPPORT_USER_IDS``), read at each call."""

    def __init__(
        self, uow: UnitOfWork, identity: IdentityDirectory, settings: StructuresSettings
    ) -> None:
        self._uow = uow
        self._identity = identity
        self._settings = settings

    @property
    def _support(self) -> tuple[UUID, ...]:
        return self._settings.support_users

    async def _addressees(self, conn, sollicitation: Sollicitation) -> list[UUID]:
        if sollicitation.addressee_structure_id is None:
            return list(self._support)
        return await memberships.manager_ids(conn, sollicitation.addressee_structure_id)

    async def _side(self, conn, caller: UUID, sollicitation: Sollicitation | None) -> Side:
        if sollicitation is None:
            raise sollicitation_not_found()
        if sollicitation.addressee_structure_id is None:
            addressee = caller in self._support
        else:
            role = await memberships.role_of(conn, sollicitation.addressee_structure_id, caller)
            addressee = role is not None and role.is_manager
        return require_party(Side(sollicitation.sender_id == caller, addressee))

    async def create(self, caller: UUID, new: NewSollicitation) -> Sollicitation:
        """Writes a sollicitation (OUVERTE) with its first message; SollicitationCreated names
        the addressees. The caller needs the sender structure's SOLLICITATIONS_EMISES space in
        MODIFICATION (managers have it while it is open; simple users by subscription), and
        the addressed structure's SOLLICITATIONS_RECUES must be open. Errors:
        STRUCTURE_NOT_FOUND (addressed, object or sender structure), NOT_A_MEMBER,
        SPACE_CLOSED, SUBSCRIPTION_REQUIRED, STRUCTURE_INACTIVE (sender structure),
        SOLLICITATIONS_NOT_RECEIVED, STRUCTURE_WITHOUT_MANAGER, SUPPORT_UNAVAILABLE."""
        async with self._uow.transaction() as tx:
            conn = tx.conn
            for structure_id in (new.addressee_structure_id, new.object_structure_id):
                if structure_id is not None:
                    require_structure(await structures.get_structure(conn, structure_id))
            if new.sender_structure_id is not None:
                require_structure(await structures.get_structure(conn, new.sender_structure_id))
                require_member(await memberships.role_of(conn, new.sender_structure_id, caller))
                facts = await access.access_facts(
                    conn,
                    caller,
                    Space.SOLLICITATIONS_EMISES,
                    structure_id=new.sender_structure_id,
                )
                require_sending_access(
                    decide(facts.get(new.sender_structure_id), AccessMode.MODIFICATION)
                )
            if new.addressee_structure_id is not None:
                addressed = require_structure(
                    await structures.get_structure(conn, new.addressee_structure_id)
                )
                recorded = await spaces.explicit_states(conn, [addressed.id])
                require_receiving(
                    addressed.raison_sociale,
                    openness(addressed.kind, recorded.get(addressed.id, {}))[
                        Space.SOLLICITATIONS_RECUES
                    ],
                )
                addressees = await memberships.manager_ids(conn, new.addressee_structure_id)
                if not addressees:
                    raise no_manager()
            else:
                addressees = list(self._support)
                if not addressees:
                    raise support_unavailable()
            sollicitation_id = await sollicitations.insert(conn, caller, new)
            await sollicitations.add_message(
                conn, sollicitation_id, caller, from_sender=True, body=new.body, uploads=new.uploads
            )
            created = await sollicitations.get(conn, sollicitation_id)
            assert created is not None
            tx.emit(SollicitationCreated(created, addressees))
            return await sollicitations.with_messages(conn, created)

    async def get(self, caller: UUID, sollicitation_id: UUID) -> tuple[Sollicitation, bool]:
        """The thread and whether the caller is its sender. SOLLICITATION_NOT_FOUND to anyone
        neither sender nor addressee."""
        async with self._uow.reading() as conn:
            found = await sollicitations.get(conn, sollicitation_id)
            side = await self._side(conn, caller, found)
            assert found is not None
            return await sollicitations.with_messages(conn, found), side.is_sender

    async def reply(
        self, caller: UUID, sollicitation_id: UUID, body: str, uploads: Sequence[Upload]
    ) -> tuple[Sollicitation, bool]:
        """Adds the caller's message: REPONDUE after an addressee's, OUVERTE after the
        sender's; SollicitationReplied names the other side. Errors: SOLLICITATION_NOT_FOUND,
        SOLLICITATION_CLOSED, MESSAGE_REQUIRED, MESSAGE_TOO_LONG, attachment reasons."""
        text = checked_body(body)
        files = checked_uploads(uploads)
        async with self._uow.transaction() as tx:
            conn = tx.conn
            found = await sollicitations.get(conn, sollicitation_id, lock=True)
            side = await self._side(conn, caller, found)
            assert found is not None
            require_open(found)
            await sollicitations.add_message(
                conn, found.id, caller, from_sender=side.is_sender, body=text, uploads=files
            )
            await sollicitations.set_status(conn, found.id, status_after_reply(side))
            replied = await sollicitations.get(conn, found.id)
            assert replied is not None
            others = await self._other_side(conn, replied, side, caller)
            tx.emit(SollicitationReplied(replied, caller, side.is_sender, others))
            return await sollicitations.with_messages(conn, replied), side.is_sender

    async def close(self, caller: UUID, sollicitation_id: UUID) -> tuple[Sollicitation, bool]:
        """Either side closes it (CLOTUREE); SollicitationClosed names the other side.
        Errors: SOLLICITATION_NOT_FOUND, SOLLICITATION_CLOSED."""
        async with self._uow.transaction() as tx:
            conn = tx.conn
            found = await sollicitations.get(conn, sollicitation_id, lock=True)
            side = await self._side(conn, caller, found)
            assert found is not None
            require_open(found)
            await sollicitations.set_status(conn, found.id, SollicitationStatus.CLOTUREE)
            closed = await sollicitations.get(conn, found.id)
            assert closed is not None
            others = await self._other_side(conn, closed, side, caller)
            tx.emit(SollicitationClosed(closed, caller, others))
            return await sollicitations.with_messages(conn, closed), side.is_sender

    async def _other_side(
        self, conn, sollicitation: Sollicitation, side: Side, caller: UUID
    ) -> list[UUID]:
        if side.is_sender:
            people = await self._addressees(conn, sollicitation)
        else:
            people = [sollicitation.sender_id]
        return [p for p in people if p != caller]

    async def list_for(
        self,
        caller: UUID,
        box: SollicitationBox,
        status: SollicitationStatus | None,
        page: Page,
    ) -> tuple[list[Sollicitation], Position | None]:
        """A page of the caller's sent or received sollicitations, newest activity first, and
        the position the next page starts after."""
        async with self._uow.reading() as conn:
            rows = await sollicitations.list_for(
                conn, caller, box, status, page, support=caller in self._support
            )
        shown = rows[: page.size]
        after = None
        if len(rows) > page.size:
            after = Position(shown[-1].updated_at, shown[-1].id)
        return shown, after

    async def attachment(
        self, caller: UUID, sollicitation_id: UUID, attachment_id: UUID
    ) -> tuple[str, str, bytes]:
        """(file name, media type, content). Errors: SOLLICITATION_NOT_FOUND,
        ATTACHMENT_NOT_FOUND."""
        async with self._uow.reading() as conn:
            await self._side(conn, caller, await sollicitations.get(conn, sollicitation_id))
            found = await sollicitations.attachment(conn, sollicitation_id, attachment_id)
        if found is None:
            raise attachment_not_found()
        return found

    async def profiles(self, items: Sequence[Sollicitation]) -> dict[UUID, Profile]:
        """Names of the senders and authors (best effort: ids only when identity is down)."""
        ids = [s.sender_id for s in items] + [m.author_id for s in items for m in s.messages]
        return await self._identity.profiles(ids)
