"""NotificationsService calls: the caller's event feed."""

from __future__ import annotations

import grpc
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc

from chorus_edge.clients.caller import Caller


class NotificationsClient:
    """Thin wrapper over the notifications stub forwarding the caller's metadata."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = pb_grpc.NotificationsServiceStub(channel)

    async def list_feed(
        self, page_size: int, page_token: str, caller: Caller
    ) -> pb.ListFeedResponse:
        return await self._stub.ListFeed(
            pb.ListFeedRequest(page_size=page_size, page_token=page_token),
            metadata=caller.metadata(),
        )

    async def mark_feed_item_read(self, item_id: str, caller: Caller) -> None:
        await self._stub.MarkFeedItemRead(
            pb.MarkFeedItemReadRequest(item_id=item_id), metadata=caller.metadata()
        )

    async def get_preferences(self, caller: Caller) -> pb.GetPreferencesResponse:
        return await self._stub.GetPreferences(
            pb.GetPreferencesRequest(), metadata=caller.metadata()
        )

    async def update_preferences(
        self, email: dict[str, bool], caller: Caller, invoice_email_frequency: int = 0
    ) -> pb.UpdatePreferencesResponse:
        """``invoice_email_frequency`` 0 (UNSPECIFIED) keeps the current one."""
        return await self._stub.UpdatePreferences(
            pb.UpdatePreferencesRequest(
                email=email, invoice_email_frequency=invoice_email_frequency
            ),
            metadata=caller.metadata(),
        )

    async def mark_all_feed_items_read(self, caller: Caller) -> int:
        response = await self._stub.MarkAllFeedItemsRead(
            pb.MarkAllFeedItemsReadRequest(), metadata=caller.metadata()
        )
        return response.marked

    async def count_unread_feed_items(self, caller: Caller) -> int:
        response = await self._stub.CountUnreadFeedItems(
            pb.CountUnreadFeedItemsRequest(), metadata=caller.metadata()
        )
        return response.unread
