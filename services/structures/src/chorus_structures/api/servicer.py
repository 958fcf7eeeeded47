"""gRPC servicer of ``chorus.structures.v1.StructuresService``: every RPC, from the handler
groups (directory, access, management, members, attachments, spaces, sollicitations).

Every RPC requires an authenticated caller (the AuthInterceptor rejects the others with
UNAUTHENTICATED), except the public-directory look-ups of ``main.PUBLIC_METHODS``
(GetStructure, FindStructureByIdentifier), which answer a caller without a token public
structures only. Handlers map proto ⇄ domain and call use cases; domain errors are
:mod:`chorus_platform.errors`, which the platform's ErrorInterceptor turns into statuses with
ErrorInfo reasons and field violations (``api/errors.py``).
"""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2_grpc as pb_grpc

from chorus_structures.api.access import AccessHandlers
from chorus_structures.api.attachments import AttachmentHandlers
from chorus_structures.api.directory import DirectoryHandlers
from chorus_structures.api.handlers import UseCases
from chorus_structures.api.management import ManagementHandlers
from chorus_structures.api.members import MemberHandlers
from chorus_structures.api.sollicitations import SollicitationHandlers
from chorus_structures.api.spaces import SpaceHandlers
from chorus_structures.api.summary import SummaryHandlers

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["StructuresService"].full_name


class StructuresServicer(
    DirectoryHandlers,
    AccessHandlers,
    ManagementHandlers,
    MemberHandlers,
    AttachmentHandlers,
    SpaceHandlers,
    SummaryHandlers,
    SollicitationHandlers,
    pb_grpc.StructuresServiceServicer,
):
    """Every RPC of the service, on the use cases ``main`` built."""

    def __init__(self, usecases: UseCases) -> None:
        super().__init__(usecases)
