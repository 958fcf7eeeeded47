"""Spaces (feature areas of a structure), access modes, and which spaces open by default."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from chorus_structures.domain.structure import StructureKind


class Space(StrEnum):
    FACTURES_EMISES = "FACTURES_EMISES"
    FACTURES_RECUES = "FACTURES_RECUES"
    SOLLICITATIONS_EMISES = "SOLLICITATIONS_EMISES"
    SOLLICITATIONS_RECUES = "SOLLICITATIONS_RECUES"
    ACTIVITES_GESTIONNAIRE = "ACTIVITES_GESTIONNAIRE"
    MON_COMPTE = "MON_COMPTE"
    ENGAGEMENTS = "ENGAGEMENTS"
    FACTURES_TRAVAUX = "FACTURES_TRAVAUX"
    FACTURES_A_VALIDER = "FACTURES_A_VALIDER"
    SUIVI_FLUX = "SUIVI_FLUX"
    MEMOIRES_FRAIS_JUSTICE = "MEMOIRES_FRAIS_JUSTICE"
    REMBOURSEMENT_TIC = "REMBOURSEMENT_TIC"


class AccessMode(StrEnum):
    CONSULTATION = "CONSULTATION"
    MODIFICATION = "MODIFICATION"


# Every structure can issue invoices (a supplier deposits through FACTURES_EMISES); only public
# bodies receive them.
_OPEN_FOR_EVERY_STRUCTURE = (
    Space.MON_COMPTE,
    Space.ACTIVITES_GESTIONNAIRE,
    Space.SOLLICITATIONS_EMISES,
    Space.SOLLICITATIONS_RECUES,
    Space.FACTURES_EMISES,
)
_OPEN_FOR_PUBLIC_STRUCTURES = (Space.FACTURES_RECUES,)


def default_open_spaces(kind: StructureKind) -> tuple[Space, ...]:
    """The spaces a new structure of ``kind`` starts with open."""
    if kind is StructureKind.PUBLIQUE:
        return _OPEN_FOR_EVERY_STRUCTURE + _OPEN_FOR_PUBLIC_STRUCTURES
    return _OPEN_FOR_EVERY_STRUCTURE


# Every member uses their own account area; only managers use the manager activities. Neither
# can be closed.
ALWAYS_OPEN = frozenset({Space.MON_COMPTE, Space.ACTIVITES_GESTIONNAIRE})
MANAGERS_ONLY = frozenset({Space.ACTIVITES_GESTIONNAIRE})
OPEN_TO_EVERY_MEMBER = frozenset({Space.MON_COMPTE})
# A simple user may start issuing invoices without waiting for a manager.
SELF_SUBSCRIPTION = frozenset({Space.FACTURES_EMISES})


def openness(kind: StructureKind, recorded: Mapping[Space, bool]) -> dict[Space, bool]:
    """Whether each space is open: what managers recorded, else the kind's default."""
    defaults = set(default_open_spaces(kind))
    return {space: recorded.get(space, space in defaults) for space in Space}


def mode_grants(granted: AccessMode, requested: AccessMode) -> bool:
    """Whether ``granted`` covers ``requested``: MODIFICATION implies CONSULTATION."""
    return granted is AccessMode.MODIFICATION or requested is AccessMode.CONSULTATION
