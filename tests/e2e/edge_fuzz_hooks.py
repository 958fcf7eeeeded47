"""schemathesis hooks for tests/e2e/test_edge_fuzz.py: the one server error allowed."""

from __future__ import annotations

import schemathesis


@schemathesis.check
def unavailable_says_when_to_retry(ctx, response, case) -> None:
    """A 5xx must be a 503 with ``Retry-After`` (a service temporarily unavailable, its
    reason kept); any other server error fails the run."""
    if response.status_code < 500:
        return
    retry_after = (response.headers.get("retry-after") or [""])[0]
    if response.status_code != 503 or not retry_after.isdigit():
        raise AssertionError(
            f"server error {response.status_code} (Retry-After {retry_after!r}): "
            f"{response.text[:300]}"
        )
