"""The directory read model's entry: a structure as invoices keeps it between deposits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DirectoryEntry:
    """One structure of the read model: how it is found (its id, or its identifier type and
    identifier, e.g. ``SIRET`` and ``12345678901234``), whether a caller without a token may
    see it (``public``), and ``payload``, the structures service's own description of it
    (a serialized ``chorus.structures.v1.Structure``, read by clients/ and events/ only)."""

    structure_id: str
    identifier_type: str
    identifier: str
    public: bool
    payload: bytes
