"""The structures service as identity needs it: is the caller a manager of a structure?

Technical accounts belong to identity, but who may manage them is structures' rule: the
managers (principal or secondary), i.e. whoever may use the ``ACTIVITES_GESTIONNAIRE`` space
in ``MODIFICATION`` mode. Calls forward the caller's token (structures lets a caller ask only
about themself) and carry the channel's deadline (``grpc_client.open_channel``).
"""

from __future__ import annotations

import logging

import grpc
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2_grpc as pb_grpc
from chorus_platform.access_tokens import Principal

from chorus_identity.domain.errors import SessionRevoked, StructuresUnavailable
from chorus_identity.domain.technical_accounts import ManagerAccess

log = logging.getLogger(__name__)


class StructuresClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = pb_grpc.StructuresServiceStub(channel)

    async def manager_access(self, principal: Principal, structure_id: str) -> ManagerAccess:
        """Whether the caller manages ``structure_id`` (a UUID), and if not, why.

        Errors: SessionRevoked when structures refuses the forwarded token;
        StructuresUnavailable when it cannot answer."""
        metadata = principal.metadata()
        request = pb.CheckAccessRequest(
            user_id=principal.user_id,
            structure_id=structure_id,
            space=pb.SPACE_ACTIVITES_GESTIONNAIRE,
            mode=pb.ACCESS_MODE_MODIFICATION,
        )
        answer = await self._call(self._stub.CheckAccess, request, metadata)
        if answer is None:
            return ManagerAccess.STRUCTURE_UNKNOWN
        if answer.allowed:
            return ManagerAccess.MANAGER
        if answer.reason == "STRUCTURE_INACTIVE":
            return ManagerAccess.STRUCTURE_INACTIVE
        if answer.reason != "NOT_A_MEMBER":
            return ManagerAccess.NOT_MANAGER
        # structures answers NOT_A_MEMBER for an unknown structure too: tell them apart.
        found = await self._call(
            self._stub.GetStructure, pb.GetStructureRequest(structure_id=structure_id), metadata
        )
        return ManagerAccess.NOT_MEMBER if found is not None else ManagerAccess.STRUCTURE_UNKNOWN

    @staticmethod
    async def _call(method, request, metadata):
        """The answer; None for NOT_FOUND / INVALID_ARGUMENT (no such structure)."""
        try:
            return await method(request, metadata=metadata)
        except grpc.aio.AioRpcError as err:
            code = err.code()
            if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            if code == grpc.StatusCode.UNAUTHENTICATED:
                raise SessionRevoked() from None
            log.warning("structures did not answer", extra={"code": code.name})
            raise StructuresUnavailable() from err
