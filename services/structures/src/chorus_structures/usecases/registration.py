"""Registering structures: a user creates one (CreateStructure), the demo seed registers its
own. Both go through :func:`register`, the one write path for a new structure.
"""

from __future__ import annotations

from uuid import UUID

from chorus_platform.errors import AlreadyExists, FieldViolation
from chorus_platform.unit_of_work import Transaction, UnitOfWork

from chorus_structures.config import StructuresSettings
from chorus_structures.domain.access import Role
from chorus_structures.domain.creation import StructureDraft, validate_new_structure
from chorus_structures.domain.events import MemberAdded, StructureCreated
from chorus_structures.domain.history import Action, ActionKind
from chorus_structures.domain.structure import NewStructure, Structure
from chorus_structures.store import history, memberships, services, structures


async def register(
    tx: Transaction, new: NewStructure, *, created_by: UUID | None
) -> Structure | None:
    """Stores ``new`` with its services (its spaces start as its kind's defaults), makes
    ``created_by`` (if any) its principal manager, and emits StructureCreated (+ MemberAdded).

    Runs inside the caller's transaction. Returns None, having written nothing, when the
    identifier is already registered.
    """
    conn = tx.conn
    structure_id = await structures.insert_structure(conn, new, created_by=created_by)
    if structure_id is None:
        return None
    await services.add_services(conn, structure_id, new.services)
    structure = await structures.get_structure(conn, structure_id)
    assert structure is not None
    tx.emit(StructureCreated(structure, created_by))
    if created_by is not None:
        await memberships.add_member(conn, structure_id, created_by, Role.GESTIONNAIRE_PRINCIPAL)
        await history.record(
            conn, structure_id, Action(ActionKind.STRUCTURE_CREATED, created_by, created_by)
        )
        tx.emit(
            MemberAdded(
                structure_id,
                created_by,
                Role.GESTIONNAIRE_PRINCIPAL,
                structure_name=structure.raison_sociale,
            )
        )
    return structure


class Registration:
    """Users creating structures (public ones only when ``allow_public_creation`` is on,
    read at each call)."""

    def __init__(self, uow: UnitOfWork, settings: StructuresSettings) -> None:
        self._uow = uow
        self._settings = settings

    async def create(self, caller: UUID, draft: StructureDraft) -> Structure:
        """Creates the structure ``draft`` describes; the caller becomes its principal.

        Errors: the creation rules' (:func:`validate_new_structure`); ALREADY_EXISTS
        STRUCTURE_ALREADY_EXISTS when the identifier is already registered.
        """
        new = validate_new_structure(draft, allow_public=self._settings.allow_public_creation)
        async with self._uow.transaction() as tx:
            structure = await register(tx, new, created_by=caller)
            if structure is None:
                raise AlreadyExists(
                    "STRUCTURE_ALREADY_EXISTS",
                    "Une structure est déjà enregistrée avec cet identifiant : demandez plutôt "
                    "à y être rattaché.",
                    [FieldViolation("identifier", "Identifiant déjà enregistré.")],
                )
        return structure


class KnownStructures:
    """Structures the platform registers itself, without a manager (the demo seed)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def ensure(self, new: NewStructure) -> bool:
        """Registers ``new`` (StructureCreated with an empty ``created_by``) unless its
        identifier is already registered, in which case only the services it lacks are
        added. True when it was created."""
        async with self._uow.transaction() as tx:
            structure = await register(tx, new, created_by=None)
            if structure is not None:
                return True
            structure_id = await structures.find_id_by_identifier(tx.conn, new.identifier)
            assert structure_id is not None
            await services.add_services(tx.conn, structure_id, new.services)
            return False
