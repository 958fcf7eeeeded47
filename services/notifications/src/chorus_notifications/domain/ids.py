"""Identifiers as other services send them: user, item and actor ids are UUIDs, except when
they are not (a system actor, a token from elsewhere), which must not reach a uuid column."""

from __future__ import annotations

import uuid


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
