"""Structure names (structures' StructureCreated and StructureUpdated), kept to name a
structure in messages whose event does not."""

from __future__ import annotations

from chorus_platform.unit_of_work import Transaction

from chorus_notifications.store import structures


class StructureNames:
    async def remember(
        self,
        tx: Transaction,
        *,
        structure_id: str,
        raison_sociale: str,
        libelle: str,
        identifier: str,
    ) -> None:
        """Keeps the structure's name: its raison sociale, else its label, else its
        identifier. A structure without an id is ignored."""
        if structure_id:
            name = raison_sociale or libelle or identifier
            await structures.upsert_name(tx.conn, structure_id, name)
