"""Handlers for managing a structure: its details and routing, its services, its history."""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb

from chorus_structures.api.handlers import Handlers
from chorus_structures.api.mapping import (
    action_to_proto,
    changes_from_proto,
    optional_field,
    uuid_from_request,
)
from chorus_structures.api.request_fields import manager_caller_id, structure_id_of
from chorus_structures.contract import service_to_proto, structure_to_proto
from chorus_structures.domain.paging import page_request


class ManagementHandlers(Handlers):
    async def UpdateStructure(self, request, context):
        """Changes the fields set in the request, for a manager of the structure.

        Details (raison sociale, libellé, address, e-mail, VAT number) are checked as at
        creation; the status only by the principal manager; routing parameters only on a
        public structure. Emits StructureUpdated and records STRUCTURE_UPDATED in the history
        when something changed. Errors: INVALID_ARGUMENT STRUCTURE_ID_INVALID and the field
        reasons of CreateStructure; NOT_FOUND STRUCTURE_NOT_FOUND; PERMISSION_DENIED
        MANAGER_REQUIRED, PRINCIPAL_MANAGER_REQUIRED (status); FAILED_PRECONDITION
        ROUTING_PARAMETERS_PUBLIC_ONLY.
        """
        structure = await self._usecases.management.update_structure(
            manager_caller_id(), structure_id_of(request), changes_from_proto(request)
        )
        return pb.UpdateStructureResponse(structure=structure_to_proto(structure))

    async def CreateService(self, request, context):
        """Adds a service (code upper-cased and unique in the structure) for a manager; emits
        ServiceCreated. FACTURES_PUBLIQUES is reserved to public structures; the service
        carries ``reserved_for_public_suppliers``. Errors: INVALID_ARGUMENT
        STRUCTURE_ID_INVALID, SERVICE_CODE_REQUIRED, SERVICE_CODE_INVALID, SERVICE_CODE_RESERVED,
        SERVICE_NAME_REQUIRED, SERVICE_NAME_TOO_LONG; ALREADY_EXISTS SERVICE_CODE_TAKEN;
        NOT_FOUND STRUCTURE_NOT_FOUND; PERMISSION_DENIED MANAGER_REQUIRED.
        """
        service = await self._usecases.management.create_service(
            manager_caller_id(),
            structure_id_of(request),
            code=request.code,
            name=request.name,
            engagement_required=request.engagement_required,
        )
        return pb.CreateServiceResponse(service=service_to_proto(service))

    async def UpdateService(self, request, context):
        """Renames, (de)activates a service or changes its "engagement required" flag (the
        code never changes), for a manager; emits ServiceUpdated when something changed.
        Errors: INVALID_ARGUMENT STRUCTURE_ID_INVALID, SERVICE_ID_INVALID,
        SERVICE_NAME_REQUIRED, SERVICE_NAME_TOO_LONG; NOT_FOUND STRUCTURE_NOT_FOUND,
        SERVICE_NOT_FOUND; PERMISSION_DENIED MANAGER_REQUIRED.
        """
        service = await self._usecases.management.update_service(
            manager_caller_id(),
            structure_id_of(request),
            uuid_from_request(request.service_id, "service_id", "SERVICE_ID_INVALID"),
            name=optional_field(request, "name"),
            active=optional_field(request, "active"),
            engagement_required=optional_field(request, "engagement_required"),
        )
        return pb.UpdateServiceResponse(service=service_to_proto(service))

    async def ListManagerActions(self, request, context):
        """The structure's history (who did what to whom, when), newest first, 20 per page by
        default, 100 at most; managers only. Errors: INVALID_ARGUMENT STRUCTURE_ID_INVALID,
        PAGE_SIZE_INVALID, PAGE_TOKEN_INVALID; NOT_FOUND STRUCTURE_NOT_FOUND;
        PERMISSION_DENIED MANAGER_REQUIRED.
        """
        structure_id = structure_id_of(request)
        page = page_request(request.page_size, request.page_token, "history", structure_id)
        actions, after = await self._usecases.management.list_history(
            manager_caller_id(), structure_id, page
        )
        return pb.ListManagerActionsResponse(
            actions=[action_to_proto(a) for a in actions],
            next_page_token=page.next_token(after) if after else "",
        )
