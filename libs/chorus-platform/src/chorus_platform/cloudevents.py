"""CloudEvents Kafka binding, binary mode: attributes in ``ce_*`` headers, protobuf value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CONTENT_TYPE = "application/protobuf"
SPEC_VERSION = "1.0"


@dataclass(frozen=True)
class Envelope:
    """The CloudEvents attributes of one received record, plus where it came from."""

    id: str
    type: str
    source: str
    time: str
    topic: str
    key: str
    traceparent: str | None
    partition: int = -1
    offset: int = -1


def to_headers(
    *, event_id: str, ce_type: str, source: str, time: datetime, traceparent: str | None
) -> list[tuple[str, bytes]]:
    """Kafka headers for one event."""
    headers = [
        ("ce_specversion", SPEC_VERSION.encode()),
        ("ce_id", event_id.encode()),
        ("ce_type", ce_type.encode()),
        ("ce_source", source.encode()),
        ("ce_time", time.isoformat().encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    if traceparent:
        headers.append(("traceparent", traceparent.encode()))
    return headers


def from_record(record) -> Envelope:
    """Reads the envelope of an aiokafka record; raises ValueError when ce_id/ce_type lack."""
    headers = {k: v.decode() for k, v in (record.headers or ())}
    if "ce_id" not in headers or "ce_type" not in headers:
        raise ValueError("record without CloudEvents ce_id/ce_type headers")
    return Envelope(
        id=headers["ce_id"],
        type=headers["ce_type"],
        source=headers.get("ce_source", ""),
        time=headers.get("ce_time", ""),
        topic=record.topic,
        key=(record.key or b"").decode(),
        traceparent=headers.get("traceparent"),
        partition=record.partition,
        offset=record.offset,
    )
