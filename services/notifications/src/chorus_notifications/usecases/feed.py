"""The caller's event feed ("Fil d'événements"): pages of their items, newest first, and
marking one read. A caller only ever sees and marks their own items."""

from __future__ import annotations

from dataclasses import dataclass

from chorus_platform.unit_of_work import UnitOfWork

from chorus_notifications.domain.errors import FeedItemIdRequired, FeedItemNotFound
from chorus_notifications.domain.feed import Cursor, FeedItem, page_size
from chorus_notifications.domain.ids import is_uuid
from chorus_notifications.store import feed


@dataclass(frozen=True)
class FeedPage:
    items: list[FeedItem]
    next_page_token: str
    """Empty on the last page."""


class Feed:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def page(self, user_id: str, *, size: int, page_token: str) -> FeedPage:
        """``size`` items at most (0 means 20, above 100 means 100) after ``page_token``
        (empty: from the newest). PageSizeInvalid (negative), PageTokenInvalid (a token not
        returned here)."""
        limit = page_size(size)
        after = Cursor.decode(page_token) if page_token else None
        if not is_uuid(user_id):
            return FeedPage(items=[], next_page_token="")
        async with self._uow.reading() as conn:
            items = await feed.list_page(conn, user_id=user_id, limit=limit + 1, after=after)
        page, more = items[:limit], len(items) > limit
        return FeedPage(items=page, next_page_token=Cursor.after(page[-1]).encode() if more else "")

    async def mark_read(self, user_id: str, item_id: str) -> None:
        """Marks one of the user's items read; marking it again changes nothing.
        FeedItemIdRequired (empty id); FeedItemNotFound when the item does not exist or is
        someone else's."""
        if not item_id:
            raise FeedItemIdRequired()
        if not (is_uuid(item_id) and is_uuid(user_id)):
            raise FeedItemNotFound()
        async with self._uow.transaction() as tx:
            marked = await feed.mark_read(tx.conn, user_id=user_id, item_id=item_id)
        if not marked:
            raise FeedItemNotFound()

    async def mark_all_read(self, user_id: str) -> int:
        """Marks every one of the user's unread items read; how many were unread."""
        if not is_uuid(user_id):
            return 0
        async with self._uow.transaction() as tx:
            return await feed.mark_all_read(tx.conn, user_id=user_id)

    async def unread_count(self, user_id: str) -> int:
        """How many of the user's items are unread."""
        if not is_uuid(user_id):
            return 0
        async with self._uow.reading() as conn:
            return await feed.count_unread(conn, user_id=user_id)
