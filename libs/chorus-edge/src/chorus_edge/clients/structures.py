"""StructuresService calls: the directory, memberships and roles, attachment requests, spaces,
sollicitations."""

from __future__ import annotations

import grpc
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2_grpc as pb_grpc

from chorus_edge.clients.caller import Caller


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

    async def update_structure(
        self, request: pb.UpdateStructureRequest, caller: Caller
    ) -> pb.Structure:
        response = await self._stub.UpdateStructure(request, metadata=caller.metadata())
        return response.structure

    async def create_service(
        self, request: pb.CreateServiceRequest, caller: Caller
    ) -> pb.StructureService:
        response = await self._stub.CreateService(request, metadata=caller.metadata())
        return response.service

    async def update_service(
        self, request: pb.UpdateServiceRequest, caller: Caller
    ) -> pb.StructureService:
        response = await self._stub.UpdateService(request, metadata=caller.metadata())
        return response.service

    async def list_members(self, structure_id: str, caller: Caller) -> list[pb.Member]:
        response = await self._stub.ListMembers(
            pb.ListMembersRequest(structure_id=structure_id), metadata=caller.metadata()
        )
        return list(response.members)

    async def update_member(self, request: pb.UpdateMemberRequest, caller: Caller) -> pb.Member:
        response = await self._stub.UpdateMember(request, metadata=caller.metadata())
        return response.member

    async def detach_member(self, structure_id: str, user_id: str, caller: Caller) -> None:
        await self._stub.DetachMember(
            pb.DetachMemberRequest(structure_id=structure_id, user_id=user_id),
            metadata=caller.metadata(),
        )

    async def leave_structure(self, structure_id: str, caller: Caller) -> None:
        await self._stub.LeaveStructure(
            pb.LeaveStructureRequest(structure_id=structure_id), metadata=caller.metadata()
        )

    async def transfer_principal_role(
        self, structure_id: str, user_id: str, caller: Caller
    ) -> pb.TransferPrincipalRoleResponse:
        return await self._stub.TransferPrincipalRole(
            pb.TransferPrincipalRoleRequest(structure_id=structure_id, user_id=user_id),
            metadata=caller.metadata(),
        )

    async def attach_member_by_email(
        self, request: pb.AttachMemberByEmailRequest, caller: Caller
    ) -> pb.Member:
        response = await self._stub.AttachMemberByEmail(request, metadata=caller.metadata())
        return response.member

    async def request_attachment(
        self, request: pb.RequestAttachmentRequest, caller: Caller
    ) -> pb.AttachmentRequest:
        response = await self._stub.RequestAttachment(request, metadata=caller.metadata())
        return response.request

    async def cancel_attachment_request(
        self, request_id: str, caller: Caller
    ) -> pb.AttachmentRequest:
        response = await self._stub.CancelAttachmentRequest(
            pb.CancelAttachmentRequestRequest(request_id=request_id), metadata=caller.metadata()
        )
        return response.request

    async def list_attachment_requests(
        self, request: pb.ListAttachmentRequestsRequest, caller: Caller
    ) -> pb.ListAttachmentRequestsResponse:
        return await self._stub.ListAttachmentRequests(request, metadata=caller.metadata())

    async def list_my_attachment_requests(self, caller: Caller) -> list[pb.AttachmentRequest]:
        response = await self._stub.ListMyAttachmentRequests(
            pb.ListMyAttachmentRequestsRequest(), metadata=caller.metadata()
        )
        return list(response.requests)

    async def decide_attachment_request(
        self, request: pb.DecideAttachmentRequestRequest, caller: Caller
    ) -> pb.AttachmentRequest:
        response = await self._stub.DecideAttachmentRequest(request, metadata=caller.metadata())
        return response.request

    async def batch_decide_attachment_requests(
        self, request: pb.BatchDecideAttachmentRequestsRequest, caller: Caller
    ) -> list[pb.AttachmentRequest]:
        response = await self._stub.BatchDecideAttachmentRequests(
            request, metadata=caller.metadata()
        )
        return list(response.requests)

    async def list_manager_actions(
        self, request: pb.ListManagerActionsRequest, caller: Caller
    ) -> pb.ListManagerActionsResponse:
        return await self._stub.ListManagerActions(request, metadata=caller.metadata())

    async def list_spaces(self, structure_id: str, caller: Caller) -> list[pb.SpaceState]:
        response = await self._stub.ListSpaces(
            pb.ListSpacesRequest(structure_id=structure_id), metadata=caller.metadata()
        )
        return list(response.spaces)

    async def open_space(self, structure_id: str, space: int, caller: Caller) -> pb.SpaceState:
        response = await self._stub.OpenSpace(
            pb.OpenSpaceRequest(structure_id=structure_id, space=space), metadata=caller.metadata()
        )
        return response.space

    async def close_space(self, structure_id: str, space: int, caller: Caller) -> pb.SpaceState:
        response = await self._stub.CloseSpace(
            pb.CloseSpaceRequest(structure_id=structure_id, space=space),
            metadata=caller.metadata(),
        )
        return response.space

    async def request_subscription(
        self, request: pb.RequestSubscriptionRequest, caller: Caller
    ) -> pb.Subscription:
        response = await self._stub.RequestSubscription(request, metadata=caller.metadata())
        return response.subscription

    async def list_subscriptions(
        self, request: pb.ListSubscriptionsRequest, caller: Caller
    ) -> pb.ListSubscriptionsResponse:
        return await self._stub.ListSubscriptions(request, metadata=caller.metadata())

    async def decide_subscription(
        self, request: pb.DecideSubscriptionRequest, caller: Caller
    ) -> pb.Subscription:
        response = await self._stub.DecideSubscription(request, metadata=caller.metadata())
        return response.subscription

    async def summarize_pending_requests(self, caller: Caller) -> list[pb.PendingRequestsSummary]:
        response = await self._stub.SummarizePendingRequests(
            pb.SummarizePendingRequestsRequest(), metadata=caller.metadata()
        )
        return list(response.structures)

    async def create_sollicitation(
        self, request: pb.CreateSollicitationRequest, caller: Caller
    ) -> pb.Sollicitation:
        response = await self._stub.CreateSollicitation(request, metadata=caller.metadata())
        return response.sollicitation

    async def list_sollicitations(
        self, request: pb.ListSollicitationsRequest, caller: Caller
    ) -> pb.ListSollicitationsResponse:
        return await self._stub.ListSollicitations(request, metadata=caller.metadata())

    async def get_sollicitation(self, sollicitation_id: str, caller: Caller) -> pb.Sollicitation:
        response = await self._stub.GetSollicitation(
            pb.GetSollicitationRequest(sollicitation_id=sollicitation_id),
            metadata=caller.metadata(),
        )
        return response.sollicitation

    async def reply_sollicitation(
        self, request: pb.ReplySollicitationRequest, caller: Caller
    ) -> pb.Sollicitation:
        response = await self._stub.ReplySollicitation(request, metadata=caller.metadata())
        return response.sollicitation

    async def close_sollicitation(self, sollicitation_id: str, caller: Caller) -> pb.Sollicitation:
        response = await self._stub.CloseSollicitation(
            pb.CloseSollicitationRequest(sollicitation_id=sollicitation_id),
            metadata=caller.metadata(),
        )
        return response.sollicitation

    async def get_sollicitation_attachment(
        self, sollicitation_id: str, attachment_id: str, caller: Caller
    ) -> pb.GetSollicitationAttachmentResponse:
        return await self._stub.GetSollicitationAttachment(
            pb.GetSollicitationAttachmentRequest(
                sollicitation_id=sollicitation_id, attachment_id=attachment_id
            ),
            metadata=caller.metadata(),
        )
