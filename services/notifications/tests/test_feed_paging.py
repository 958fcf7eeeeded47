"""Unit tests of feed paging and e-mail retry rules (pure domain)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from chorus_notifications.domain.delivery import RetryPolicy
from chorus_notifications.domain.errors import PageSizeInvalid, PageTokenInvalid
from chorus_notifications.domain.feed import Cursor, page_size


def test_cursor_round_trips_through_its_token():
    cursor = Cursor(datetime(2025, 3, 1, 8, 30, 0, 123456, tzinfo=UTC), str(uuid.uuid4()))
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize(
    "token", ["garbage!", "bm90IGEgY3Vyc29y", Cursor(datetime(2025, 1, 1), "x").encode()]
)
def test_a_forged_page_token_is_invalid(token):
    with pytest.raises(PageTokenInvalid) as caught:
        Cursor.decode(token)
    assert caught.value.reason == "PAGE_TOKEN_INVALID"


def test_page_size_defaults_to_20_and_is_capped_at_100():
    assert page_size(0) == 20
    assert page_size(7) == 7
    assert page_size(100) == 100
    assert page_size(1000) == 100
    with pytest.raises(PageSizeInvalid):
        page_size(-1)


def test_retry_delays_double_up_to_the_cap_then_give_up():
    policy = RetryPolicy(max_attempts=8, base_seconds=10, cap_seconds=300)
    delays = [policy.delay_after(n) for n in range(1, 9)]
    assert delays == [10, 20, 40, 80, 160, 300, 300, None]
