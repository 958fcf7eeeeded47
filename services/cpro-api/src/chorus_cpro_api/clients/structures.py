"""StructuresService calls: directory search and consultation, services, spaces, the
technical account's attachment."""

from __future__ import annotations

import grpc
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2_grpc as pb_grpc

from chorus_cpro_api.clients.caller import Caller


class StructuresClient:
    """Thin wrapper over the structures stub; the channel gives every call its deadline."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = pb_grpc.StructuresServiceStub(channel)

    async def search_structures(
        self, request: pb.SearchStructuresRequest, caller: Caller
    ) -> pb.SearchStructuresResponse:
        return await self._stub.SearchStructures(request, metadata=caller.metadata())

    async def get_structure(self, request: pb.GetStructureRequest, caller: Caller) -> pb.Structure:
        response = await self._stub.GetStructure(request, metadata=caller.metadata())
        return response.structure

    async def list_services(
        self, request: pb.ListServicesRequest, caller: Caller
    ) -> pb.ListServicesResponse:
        return await self._stub.ListServices(request, metadata=caller.metadata())

    async def get_service(
        self, request: pb.GetServiceRequest, caller: Caller
    ) -> pb.GetServiceResponse:
        return await self._stub.GetService(request, metadata=caller.metadata())

    async def list_my_memberships(self, caller: Caller) -> list[pb.Membership]:
        response = await self._stub.ListMyMemberships(
            pb.ListMyMembershipsRequest(), metadata=caller.metadata()
        )
        return list(response.memberships)

    async def list_spaces(
        self, request: pb.ListSpacesRequest, caller: Caller
    ) -> list[pb.SpaceState]:
        response = await self._stub.ListSpaces(request, metadata=caller.metadata())
        return list(response.spaces)
