"""Proto3 scalars as REST values: empty strings and unset timestamps read as ``null``."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are refused, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


def optional(value: str) -> str | None:
    """A proto3 string that may be absent: ``""`` -> ``None``."""
    return value or None


def timestamp(message: Message, field: str) -> datetime | None:
    """A Timestamp field as an aware UTC datetime, ``None`` when unset."""
    if not message.HasField(field):
        return None
    value: Timestamp = getattr(message, field)
    return value.ToDatetime(tzinfo=UTC)
