"""gRPC NotificationsService: the caller's event feed ("Fil d'événements"), e-mail
preferences and the public sealing key."""

from __future__ import annotations

import uuid

import asyncpg
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_platform.auth import current_principal
from chorus_platform.sealing import ALGORITHM
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_notifications.domain import preferences as preference_rules
from chorus_notifications.domain.errors import (
    FeedItemIdRequired,
    FeedItemNotFound,
    PreferenceKindUnknown,
)
from chorus_notifications.domain.feed import Cursor, FeedItem, page_size
from chorus_notifications.events.sealing import SealingKeyRing
from chorus_notifications.store import feed, preferences

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["NotificationsService"].full_name
PUBLIC_METHODS = {f"/{SERVICE_NAME}/GetSealingKey"}
"""Callable without an access token (every other RPC needs one)."""


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _to_proto(item: FeedItem) -> pb.FeedItem:
    created_at = Timestamp()
    created_at.FromDatetime(item.created_at)
    return pb.FeedItem(
        id=item.id,
        kind=item.kind,
        title=item.title,
        body=item.body,
        link=item.link,
        created_at=created_at,
        read=item.read,
    )


class NotificationsServicer(pb_grpc.NotificationsServiceServicer):
    """Feed RPCs need an authenticated caller and only ever see the caller's own items."""

    def __init__(self, pool: asyncpg.Pool, keys: SealingKeyRing) -> None:
        self._pool = pool
        self._keys = keys

    async def GetSealingKey(
        self, request: pb.GetSealingKeyRequest, context
    ) -> pb.GetSealingKeyResponse:
        """The X25519 public key to seal secrets to (chorus_platform.sealing). Public; no
        errors once the service is up."""
        key = await self._keys.published()
        return pb.GetSealingKeyResponse(
            key_id=key.key_id, algorithm=ALGORITHM, public_key=key.public_key
        )

    async def ListFeed(self, request: pb.ListFeedRequest, context) -> pb.ListFeedResponse:
        """The caller's feed items, newest first.

        ``page_size``: 0 means 20, above 100 means 100. ``next_page_token`` is empty on the
        last page. Errors: UNAUTHENTICATED; INVALID_ARGUMENT ``PAGE_SIZE_INVALID`` (negative),
        ``PAGE_TOKEN_INVALID`` (a token not returned by this RPC).
        """
        user_id = current_principal().user_id
        limit = page_size(request.page_size)
        after = Cursor.decode(request.page_token) if request.page_token else None
        if not _is_uuid(user_id):
            return pb.ListFeedResponse()
        async with self._pool.acquire() as conn:
            items = await feed.list_page(conn, user_id=user_id, limit=limit + 1, after=after)
        page, more = items[:limit], len(items) > limit
        return pb.ListFeedResponse(
            items=[_to_proto(item) for item in page],
            next_page_token=Cursor.after(page[-1]).encode() if more else "",
        )

    async def MarkFeedItemRead(
        self, request: pb.MarkFeedItemReadRequest, context
    ) -> pb.MarkFeedItemReadResponse:
        """Marks one of the caller's items read; marking it again changes nothing.

        Errors: UNAUTHENTICATED; INVALID_ARGUMENT ``FEED_ITEM_ID_REQUIRED`` (empty id);
        NOT_FOUND ``FEED_ITEM_NOT_FOUND`` when the item does not exist or is someone else's.
        """
        user_id = current_principal().user_id
        if not request.item_id:
            raise FeedItemIdRequired()
        if not (_is_uuid(request.item_id) and _is_uuid(user_id)):
            raise FeedItemNotFound()
        async with self._pool.acquire() as conn:
            marked = await feed.mark_read(conn, user_id=user_id, item_id=request.item_id)
        if not marked:
            raise FeedItemNotFound()
        return pb.MarkFeedItemReadResponse()

    async def GetPreferences(
        self, request: pb.GetPreferencesRequest, context
    ) -> pb.GetPreferencesResponse:
        """The caller's e-mail preferences: every optional kind, true (the default) or false.
        Account security kinds are always e-mailed and not listed. Errors: UNAUTHENTICATED."""
        return pb.GetPreferencesResponse(email=await self._preferences(current_principal()))

    async def UpdatePreferences(
        self, request: pb.UpdatePreferencesRequest, context
    ) -> pb.UpdatePreferencesResponse:
        """Sets the kinds given (the others keep their setting); returns every optional kind.

        Errors: UNAUTHENTICATED; INVALID_ARGUMENT ``PREFERENCE_KIND_UNKNOWN`` (one violation
        ``email.<kind>`` per kind that is unknown or mandatory; nothing is changed).
        """
        principal = current_principal()
        wanted = dict(request.email)
        refused = sorted(kind for kind in wanted if not preference_rules.is_optional(kind))
        if refused:
            raise PreferenceKindUnknown(refused)
        if wanted and _is_uuid(principal.user_id):
            async with self._pool.acquire() as conn:
                await preferences.set_many(conn, principal.user_id, wanted)
        return pb.UpdatePreferencesResponse(email=await self._preferences(principal))

    async def _preferences(self, principal) -> dict[str, bool]:
        if not _is_uuid(principal.user_id):
            return preference_rules.effective({})
        async with self._pool.acquire() as conn:
            stored = await preferences.of_user(conn, principal.user_id)
        return preference_rules.effective(stored)
