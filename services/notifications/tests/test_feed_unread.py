"""Integration: MarkAllFeedItemsRead and CountUnreadFeedItems over real gRPC (the portal's
"Fil d'événements" and home): only the caller's own items are counted and marked."""

from __future__ import annotations

import uuid

import grpc
import pytest
from chorus.notifications.v1 import notifications_service_pb2 as pb

from .test_feed_api import add_items, rpc_error


async def unread(service, metadata) -> int:
    answer = await service.stub.CountUnreadFeedItems(
        pb.CountUnreadFeedItemsRequest(), metadata=metadata
    )
    return answer.unread


async def test_unread_count_is_the_callers_unread_items_only(service, db, signer):
    me, someone_else = str(uuid.uuid4()), str(uuid.uuid4())
    first, _, _ = await add_items(db, me, 3)
    await add_items(db, someone_else, 4)
    metadata = signer.metadata(me)
    assert await unread(service, metadata) == 3

    await service.stub.MarkFeedItemRead(
        pb.MarkFeedItemReadRequest(item_id=first), metadata=metadata
    )

    assert await unread(service, metadata) == 2
    assert await unread(service, signer.metadata(someone_else)) == 4


async def test_mark_all_read_marks_only_the_callers_items(service, db, signer):
    me, someone_else = str(uuid.uuid4()), str(uuid.uuid4())
    first, _ = await add_items(db, me, 2)
    await add_items(db, someone_else, 2)
    metadata = signer.metadata(me)
    await service.stub.MarkFeedItemRead(
        pb.MarkFeedItemReadRequest(item_id=first), metadata=metadata
    )
    read_at = await db.fetchval("SELECT read_at FROM feed_items WHERE id = $1", first)

    answer = await service.stub.MarkAllFeedItemsRead(
        pb.MarkAllFeedItemsReadRequest(), metadata=metadata
    )

    assert answer.marked == 1
    listed = await service.stub.ListFeed(pb.ListFeedRequest(), metadata=metadata)
    assert [i.read for i in listed.items] == [True, True]
    # The first reading time of an item already read is kept.
    assert await db.fetchval("SELECT read_at FROM feed_items WHERE id = $1", first) == read_at
    assert await unread(service, signer.metadata(someone_else)) == 2
    again = await service.stub.MarkAllFeedItemsRead(
        pb.MarkAllFeedItemsReadRequest(), metadata=metadata
    )
    assert again.marked == 0


@pytest.mark.parametrize("rpc", ["MarkAllFeedItemsRead", "CountUnreadFeedItems"])
async def test_the_unread_rpcs_need_a_valid_token(service, rpc):
    request = getattr(pb, f"{rpc}Request")()
    forged = (("authorization", "Bearer not-a-jwt"),)
    code, reason, _ = await rpc_error(getattr(service.stub, rpc)(request, metadata=forged))
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID")
