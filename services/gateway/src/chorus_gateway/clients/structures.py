"""StructuresService calls: the directory and the caller's memberships."""

from __future__ import annotations

import grpc
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2_grpc as pb_grpc

from chorus_gateway.clients.caller import Caller


class StructuresClient:
    """Thin wrapper over the structures stub forwarding the caller's metadata."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = pb_grpc.StructuresServiceStub(channel)

    async def create_structure(
        self, request: pb.CreateStructureRequest, caller: Caller
    ) -> pb.Structure:
        response = await self._stub.CreateStructure(request, metadata=caller.metadata())
        return response.structure

    async def get_structure(self, structure_id: str, caller: Caller) -> pb.Structure:
        response = await self._stub.GetStructure(
            pb.GetStructureRequest(structure_id=structure_id), metadata=caller.metadata()
        )
        return response.structure

    async def search_structures(
        self, request: pb.SearchStructuresRequest, caller: Caller
    ) -> pb.SearchStructuresResponse:
        return await self._stub.SearchStructures(request, metadata=caller.metadata())

    async def list_my_memberships(self, caller: Caller) -> list[pb.Membership]:
        response = await self._stub.ListMyMemberships(
            pb.ListMyMembershipsRequest(), metadata=caller.metadata()
        )
        return list(response.memberships)
