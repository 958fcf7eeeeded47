"""Creating a structure: what a user asks for, as typed, and the rules it must pass."""

from __future__ import annotations

from dataclasses import dataclass

from chorus_platform.errors import PermissionDenied

from chorus_structures.domain.details import (
    Violation,
    checked_address,
    checked_email,
    checked_libelle,
    checked_raison_sociale,
    checked_vat_number,
    invalid,
)
from chorus_structures.domain.identifiers import (
    Identifier,
    IdentifierInvalid,
    IdentifierType,
    validate_identifier,
)
from chorus_structures.domain.structure import Address, NewStructure, StructureKind


@dataclass(frozen=True)
class StructureDraft:
    """What a user asks to create, as typed."""

    identifier_type: IdentifierType | None
    identifier: str
    raison_sociale: str
    address: Address
    kind: StructureKind | None = None
    libelle: str = ""
    email: str = ""
    vat_number: str = ""


def validate_new_structure(draft: StructureDraft, *, allow_public: bool) -> NewStructure:
    """Applies the creation rules to ``draft``.

    Raises PermissionDenied ``PUBLIC_CREATION_DISABLED`` for a public structure when
    ``allow_public`` is off, and InvalidArgument with every field violation otherwise; its
    reason is the first violation's (the identifier's reason when the identifier is wrong).
    """
    kind = draft.kind or StructureKind.PRIVEE
    if kind is StructureKind.PUBLIQUE and not allow_public:
        raise PermissionDenied(
            "PUBLIC_CREATION_DISABLED",
            "La création de structures publiques est réservée à l'import de l'annuaire. "
            "Créez une structure privée ou contactez l'administrateur.",
        )
    violations: list[Violation] = []
    identifier = _checked_identifier(draft, violations)
    if kind is StructureKind.PUBLIQUE and draft.identifier_type not in (
        None,
        IdentifierType.SIRET,
    ):
        violations.append(
            Violation(
                "identifier_type",
                "PUBLIC_STRUCTURE_REQUIRES_SIRET",
                "Une structure publique s'identifie par son SIRET.",
            )
        )
    raison_sociale = checked_raison_sociale(draft.raison_sociale, violations)
    libelle = checked_libelle(draft.libelle, violations)
    address = checked_address(draft.address, violations)
    email = checked_email(draft.email, violations)
    vat_number = checked_vat_number(draft.identifier_type, draft.vat_number, violations)
    if violations:
        raise invalid(violations)
    assert identifier is not None
    return NewStructure(
        identifier=identifier,
        raison_sociale=raison_sociale,
        libelle=libelle,
        kind=kind,
        address=address,
        email=email,
        vat_number=vat_number,
    )


def _checked_identifier(draft: StructureDraft, violations: list[Violation]) -> Identifier | None:
    try:
        return validate_identifier(draft.identifier_type, draft.identifier, creating=True)
    except IdentifierInvalid as error:
        violations.append(Violation(error.violations[0].field, error.reason, error.message))
        return None
