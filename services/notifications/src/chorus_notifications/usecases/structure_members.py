"""The structure members projection (structure id, user id → role, services), kept from
structures' membership events in the consumer's transaction.

Each membership event is projected before its notice is worked out, in the same
transaction, so the table and the messages stay in step with the inbox's exactly-once
processing. Every write is an idempotent upsert or delete; an event without a structure id
changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from chorus_platform.unit_of_work import Transaction

from chorus_notifications.domain.members import PRINCIPAL_MANAGER, SECONDARY_MANAGER
from chorus_notifications.store import members


class StructureMembersProjection:
    async def member_added(
        self,
        tx: Transaction,
        *,
        structure_id: str,
        user_id: str,
        role: str,
        service_ids: Sequence[str],
        service_codes: Sequence[str],
    ) -> None:
        """The member, their role and the services they are limited to (none: all)."""
        if structure_id:
            await members.upsert(
                tx.conn,
                structure_id=structure_id,
                user_id=user_id,
                role=role,
                service_ids=list(service_ids),
                service_codes=list(service_codes),
            )

    async def role_changed(
        self, tx: Transaction, *, structure_id: str, user_id: str, role: str
    ) -> None:
        """The member's new role (their services unchanged)."""
        if structure_id:
            await members.upsert(tx.conn, structure_id=structure_id, user_id=user_id, role=role)

    async def services_changed(
        self,
        tx: Transaction,
        *,
        structure_id: str,
        user_id: str,
        service_ids: Sequence[str],
        service_codes: Sequence[str],
    ) -> None:
        """The services the member is limited to (none: all), with their codes."""
        if structure_id:
            await members.set_services(
                tx.conn,
                structure_id=structure_id,
                user_id=user_id,
                service_ids=list(service_ids),
                service_codes=list(service_codes),
            )

    async def member_detached(self, tx: Transaction, *, structure_id: str, user_id: str) -> None:
        """The member is gone (detached by a manager, or left)."""
        if structure_id:
            await members.remove(tx.conn, structure_id=structure_id, user_id=user_id)

    async def principal_transferred(
        self,
        tx: Transaction,
        *,
        structure_id: str,
        new_principal_id: str,
        previous_principal_id: str,
    ) -> None:
        """The previous principal manager becomes secondary, the new one principal."""
        if not structure_id:
            return
        if previous_principal_id:
            await members.upsert(
                tx.conn,
                structure_id=structure_id,
                user_id=previous_principal_id,
                role=SECONDARY_MANAGER,
            )
        await members.upsert(
            tx.conn, structure_id=structure_id, user_id=new_principal_id, role=PRINCIPAL_MANAGER
        )
