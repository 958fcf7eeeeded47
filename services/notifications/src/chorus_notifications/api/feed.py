"""gRPC NotificationsService: the caller's event feed ("Fil d'événements"), e-mail
preferences and the public sealing key. Maps protobuf to the use cases and back."""

from __future__ import annotations

from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_platform.auth import current_principal
from chorus_platform.sealing import ALGORITHM
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_notifications.domain.digests import DigestFrequency
from chorus_notifications.domain.errors import DigestFrequencyUnknown
from chorus_notifications.domain.feed import FeedItem
from chorus_notifications.usecases.feed import Feed
from chorus_notifications.usecases.preferences import Preferences
from chorus_notifications.usecases.sealing_keys import SealingKeyRing

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["NotificationsService"].full_name
PUBLIC_METHODS = {f"/{SERVICE_NAME}/GetSealingKey"}
"""Callable without an access token (every other RPC needs one)."""


_FREQUENCIES = {
    pb.INVOICE_EMAIL_FREQUENCY_IMMEDIATE: DigestFrequency.IMMEDIATE,
    pb.INVOICE_EMAIL_FREQUENCY_HOURLY: DigestFrequency.HOURLY,
    pb.INVOICE_EMAIL_FREQUENCY_DAILY: DigestFrequency.DAILY,
}
_FREQUENCIES_PB = {frequency: value for value, frequency in _FREQUENCIES.items()}


def _frequency(value: int) -> DigestFrequency | None:
    """UNSPECIFIED → None (keep the setting); DigestFrequencyUnknown for a value this build
    does not know."""
    if value == pb.INVOICE_EMAIL_FREQUENCY_UNSPECIFIED:
        return None
    if value not in _FREQUENCIES:
        raise DigestFrequencyUnknown()
    return _FREQUENCIES[value]


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

    def __init__(self, feed: Feed, preferences: Preferences, keys: SealingKeyRing) -> None:
        self._feed = feed
        self._preferences = preferences
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
        page = await self._feed.page(
            current_principal().user_id, size=request.page_size, page_token=request.page_token
        )
        return pb.ListFeedResponse(
            items=[_to_proto(item) for item in page.items], next_page_token=page.next_page_token
        )

    async def MarkFeedItemRead(
        self, request: pb.MarkFeedItemReadRequest, context
    ) -> pb.MarkFeedItemReadResponse:
        """Marks one of the caller's items read; marking it again changes nothing.

        Errors: UNAUTHENTICATED; INVALID_ARGUMENT ``FEED_ITEM_ID_REQUIRED`` (empty id);
        NOT_FOUND ``FEED_ITEM_NOT_FOUND`` when the item does not exist or is someone else's.
        """
        await self._feed.mark_read(current_principal().user_id, request.item_id)
        return pb.MarkFeedItemReadResponse()

    async def MarkAllFeedItemsRead(
        self, request: pb.MarkAllFeedItemsReadRequest, context
    ) -> pb.MarkAllFeedItemsReadResponse:
        """Marks every unread item of the caller read (only theirs); answers how many were
        unread. Errors: UNAUTHENTICATED."""
        marked = await self._feed.mark_all_read(current_principal().user_id)
        return pb.MarkAllFeedItemsReadResponse(marked=marked)

    async def CountUnreadFeedItems(
        self, request: pb.CountUnreadFeedItemsRequest, context
    ) -> pb.CountUnreadFeedItemsResponse:
        """How many of the caller's items are unread. Errors: UNAUTHENTICATED."""
        return pb.CountUnreadFeedItemsResponse(
            unread=await self._feed.unread_count(current_principal().user_id)
        )

    async def GetPreferences(
        self, request: pb.GetPreferencesRequest, context
    ) -> pb.GetPreferencesResponse:
        """The caller's e-mail preferences: every optional kind, true (the default) or false,
        and the invoice e-mail frequency (IMMEDIATE by default). Account security kinds are
        always e-mailed at once and not listed. Errors: UNAUTHENTICATED."""
        user_id = current_principal().user_id
        return pb.GetPreferencesResponse(
            email=await self._preferences.of(user_id),
            invoice_email_frequency=_FREQUENCIES_PB[await self._preferences.frequency_of(user_id)],
        )

    async def UpdatePreferences(
        self, request: pb.UpdatePreferencesRequest, context
    ) -> pb.UpdatePreferencesResponse:
        """Sets the kinds given (the others keep their setting) and the invoice e-mail
        frequency unless UNSPECIFIED; returns every optional kind and the frequency.

        Errors: UNAUTHENTICATED; INVALID_ARGUMENT ``PREFERENCE_KIND_UNKNOWN`` (one violation
        ``email.<kind>`` per kind that is unknown or mandatory; nothing is changed),
        ``DIGEST_FREQUENCY_UNKNOWN`` (a frequency value this service does not know).
        """
        user_id = current_principal().user_id
        frequency = _frequency(request.invoice_email_frequency)
        email = await self._preferences.update(user_id, dict(request.email), frequency)
        return pb.UpdatePreferencesResponse(
            email=email,
            invoice_email_frequency=_FREQUENCIES_PB[await self._preferences.frequency_of(user_id)],
        )
