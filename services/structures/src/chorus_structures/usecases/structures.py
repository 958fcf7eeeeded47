"""Managing a structure (managers only): its details and routing, its services, reading its
history."""

from __future__ import annotations

from dataclasses import asdict
from uuid import UUID

from chorus_platform.errors import AlreadyExists, FieldViolation
from chorus_platform.unit_of_work import UnitOfWork

from chorus_structures.domain.access import Role
from chorus_structures.domain.changes import StructureChanges, apply_changes
from chorus_structures.domain.events import ServiceCreated, ServiceUpdated, StructureUpdated
from chorus_structures.domain.history import Action, ActionKind, RecordedAction
from chorus_structures.domain.membership import require_manager
from chorus_structures.domain.paging import Page, Position
from chorus_structures.domain.services import (
    apply_service_changes,
    require_service,
    validate_new_service,
)
from chorus_structures.domain.structure import Structure, StructureService, require_structure
from chorus_structures.store import history, memberships, services, structures


def _changed_fields(before: Structure, after: Structure) -> dict[str, str]:
    """The fields that changed, with their new values (for the history)."""
    changed: dict[str, str] = {}
    for name in ("raison_sociale", "libelle", "email", "vat_number", "status"):
        if getattr(before, name) != getattr(after, name):
            changed[name] = str(getattr(after, name))
    if before.address != after.address:
        changed["address"] = ", ".join(
            part
            for part in (
                after.address.line1,
                after.address.line2,
                f"{after.address.postal_code} {after.address.city}",
                after.address.country,
            )
            if part
        )
    for name, value in asdict(after.routing).items():
        if getattr(before.routing, name) != value:
            changed[name] = "true" if value else "false"
    return changed


class StructureManagement:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def update_structure(
        self, caller: UUID, structure_id: UUID, changes: StructureChanges
    ) -> Structure:
        """Applies ``changes`` for a manager; StructureUpdated and the history only when something
        changed. Errors: see :func:`apply_changes`, MANAGER_REQUIRED, STRUCTURE_NOT_FOUND."""
        async with self._uow.transaction() as tx:
            conn = tx.conn
            current = require_structure(await structures.lock_structure(conn, structure_id))
            role = require_manager(await memberships.role_of(conn, structure_id, caller))
            updated = apply_changes(current, changes, principal=role is Role.GESTIONNAIRE_PRINCIPAL)
            changed = _changed_fields(current, updated)
            if not changed:
                return current
            await structures.update_structure(conn, updated)
            stored = require_structure(await structures.get_structure(conn, structure_id))
            await history.record(
                conn, structure_id, Action(ActionKind.STRUCTURE_UPDATED, caller, details=changed)
            )
            tx.emit(StructureUpdated(stored, caller))
            return stored

    async def create_service(
        self,
        caller: UUID,
        structure_id: UUID,
        *,
        code: str,
        name: str,
        engagement_required: bool,
    ) -> StructureService:
        """Adds a service for a manager. Errors: SERVICE_CODE_REQUIRED, SERVICE_CODE_INVALID,
        SERVICE_CODE_RESERVED, SERVICE_NAME_REQUIRED, SERVICE_NAME_TOO_LONG; ALREADY_EXISTS
        SERVICE_CODE_TAKEN; MANAGER_REQUIRED; STRUCTURE_NOT_FOUND."""
        async with self._uow.transaction() as tx:
            conn = tx.conn
            structure = require_structure(await structures.lock_structure(conn, structure_id))
            require_manager(await memberships.role_of(conn, structure_id, caller))
            new = validate_new_service(code, name, engagement_required, structure.kind)
            service = await services.insert_service(conn, structure_id, new)
            if service is None:
                raise AlreadyExists(
                    "SERVICE_CODE_TAKEN",
                    f"La structure a déjà un service de code {new.code} : "
                    "choisissez un autre code.",
                    [FieldViolation("code", "Code déjà utilisé dans la structure.")],
                )
            await history.record(
                conn,
                structure_id,
                Action(
                    ActionKind.SERVICE_CREATED,
                    caller,
                    details={"service_code": service.code, "service_name": service.name},
                ),
            )
            tx.emit(ServiceCreated(structure_id, service, caller))
            return service

    async def update_service(
        self,
        caller: UUID,
        structure_id: UUID,
        service_id: UUID,
        *,
        name: str | None,
        active: bool | None,
        engagement_required: bool | None,
    ) -> StructureService:
        """Renames, (de)activates a service or changes its engagement flag, for a manager.
        Errors: SERVICE_NAME_REQUIRED, SERVICE_NAME_TOO_LONG; NOT_FOUND SERVICE_NOT_FOUND,
        STRUCTURE_NOT_FOUND; MANAGER_REQUIRED."""
        async with self._uow.transaction() as tx:
            conn = tx.conn
            require_structure(await structures.lock_structure(conn, structure_id))
            require_manager(await memberships.role_of(conn, structure_id, caller))
            current = require_service(await services.get_service(conn, structure_id, service_id))
            updated = apply_service_changes(
                current, name=name, active=active, engagement_required=engagement_required
            )
            if updated == current:
                return current
            await services.update_service(conn, structure_id, updated)
            details = {"service_code": updated.code}
            for field in ("name", "active", "engagement_required"):
                if getattr(updated, field) != getattr(current, field):
                    details[field] = (
                        str(getattr(updated, field)).lower() if field != "name" else updated.name
                    )
            await history.record(
                conn, structure_id, Action(ActionKind.SERVICE_UPDATED, caller, details=details)
            )
            tx.emit(ServiceUpdated(structure_id, updated, caller))
            return updated

    async def list_history(
        self, caller: UUID, structure_id: UUID, page: Page
    ) -> tuple[list[RecordedAction], Position | None]:
        """A page of the structure's manager history, newest first, for a manager."""
        async with self._uow.reading() as conn:
            require_structure(await structures.get_structure(conn, structure_id))
            require_manager(await memberships.role_of(conn, structure_id, caller))
            rows = await history.list_actions(conn, structure_id, page)
        shown = rows[: page.size]
        after = Position(shown[-1].at, shown[-1].id) if len(rows) > page.size else None
        return shown, after
