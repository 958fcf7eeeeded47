"""Structures (legal entities), their services and routing parameters, as stored.

The rules of creating and changing them are beside: ``creation.py``, ``changes.py``,
``services.py``, and ``details.py`` for the fields both check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from chorus_platform.errors import FailedPrecondition, NotFound

from chorus_structures.domain.identifiers import Identifier


class StructureKind(StrEnum):
    PRIVEE = "PRIVEE"
    PUBLIQUE = "PUBLIQUE"


class StructureStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


@dataclass(frozen=True)
class Address:
    line1: str
    postal_code: str
    city: str
    country: str
    line2: str = ""


@dataclass(frozen=True)
class RoutingParameters:
    """What a public recipient demands on the invoices it receives."""

    service_code_required: bool = False
    engagement_required: bool = False
    service_or_engagement_required: bool = False
    payment_status_not_reported: bool = False


# The service public bodies receive other public bodies' invoices on: private suppliers may
# not address invoices to it.
RESERVED_PUBLIC_SERVICE_CODE = "FACTURES_PUBLIQUES"


@dataclass(frozen=True)
class StructureService:
    id: UUID
    code: str
    name: str
    active: bool = True
    engagement_required: bool = False
    # Integer id (Chorus Pro's idService), given by the database; 0 before it is stored.
    cpp_id: int = 0
    # When the service was created (Chorus Pro's dateDbtService); None before it is stored.
    created_at: datetime | None = None

    @property
    def reserved_for_public_suppliers(self) -> bool:
        return self.code == RESERVED_PUBLIC_SERVICE_CODE


@dataclass(frozen=True)
class NewService:
    code: str
    name: str
    engagement_required: bool = False


@dataclass(frozen=True)
class Structure:
    id: UUID
    identifier: Identifier
    raison_sociale: str
    libelle: str
    kind: StructureKind
    status: StructureStatus
    address: Address
    email: str
    vat_number: str
    routing: RoutingParameters
    services: tuple[StructureService, ...]
    created_at: datetime
    # Integer id (Chorus Pro's idStructureCPP), given by the database; 0 before it is stored.
    cpp_id: int = 0


@dataclass(frozen=True)
class NewStructure:
    """A structure that passed the creation rules, not stored yet."""

    identifier: Identifier
    raison_sociale: str
    kind: StructureKind
    address: Address
    libelle: str = ""
    email: str = ""
    vat_number: str = ""
    routing: RoutingParameters = field(default_factory=RoutingParameters)
    services: tuple[NewService, ...] = ()


@dataclass(frozen=True)
class Reference:
    """A structure or a service named by its UUID or by its integer id (``cpp_id``), exactly
    one of them. Integers can be guessed, UUIDs cannot: a look-up by integer follows the
    search's visibility rule (``domain/search.py``)."""

    id: UUID | None = None
    cpp_id: int | None = None

    @property
    def guessable(self) -> bool:
        return self.cpp_id is not None


def require_structure(structure: Structure | None) -> Structure:
    """NotFound STRUCTURE_NOT_FOUND for None."""
    if structure is None:
        raise NotFound("STRUCTURE_NOT_FOUND", "Aucune structure ne correspond à cette demande.")
    return structure


def require_active(structure: Structure) -> Structure:
    """FailedPrecondition STRUCTURE_INACTIVE for an inactive structure."""
    if structure.status is not StructureStatus.ACTIVE:
        raise FailedPrecondition(
            "STRUCTURE_INACTIVE",
            "Cette structure est désactivée : elle n'accepte plus de demandes.",
        )
    return structure
