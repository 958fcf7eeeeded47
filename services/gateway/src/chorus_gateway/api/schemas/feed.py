"""The event feed: REST models and their mapping from ``chorus.notifications.v1``."""

from __future__ import annotations

from datetime import datetime

from chorus.notifications.v1 import notifications_service_pb2 as pb
from pydantic import BaseModel, Field

from chorus_edge.conversions import optional, timestamp


class FeedItem(BaseModel):
    id: str
    kind: str = Field(examples=["INVOICE_STATUS_CHANGED"])
    title: str
    body: str
    link: str | None = Field(description="Portal-relative link, e.g. /factures/<id>.")
    at: datetime | None
    read: bool


class FeedPage(BaseModel):
    items: list[FeedItem]
    next_page_token: str | None


def feed_page(response: pb.ListFeedResponse) -> FeedPage:
    return FeedPage(
        items=[
            FeedItem(
                id=item.id,
                kind=item.kind,
                title=item.title,
                body=item.body,
                link=optional(item.link),
                at=timestamp(item, "created_at"),
                read=item.read,
            )
            for item in response.items
        ],
        next_page_token=optional(response.next_page_token),
    )
