"""Dead letters: the records a consumer gave up on, kept in the consuming service's database.

    python -m chorus_platform.dlq show SERVICE [--consumer NAME] [--all] [--limit 50]
    python -m chorus_platform.dlq replay SERVICE [--consumer NAME] [--id ID ...] [--limit 1000]

(``make dlq-show SERVICE=notifications`` / ``make dlq-replay SERVICE=notifications``
locally; in a pod, ``kubectl exec deploy/chorus-notifications -- python -m chorus_platform.dlq
show notifications``.) ``SERVICE`` is the consuming service: its database comes from the
standard settings (``CHORUS_DATABASE_URL``, and ``CHORUS_DATABASE_NAME`` or
``chorus_<service>``), the broker from ``CHORUS_KAFKA_BOOTSTRAP``. The table is the record of
truth, so both commands work whatever the broker forgot; the consumer also copies each parked
record to ``<topic>.dlq``, for tools that read topics.

``show`` prints one JSON object per pending dead letter, oldest first (``--all``: replayed ones
too): its id, the consumer that gave up, where the record came from, the event's id and type,
its key, attempts, error and dates — never the payload, which may hold personal data. It
changes nothing. ``replay`` publishes each pending one again (once its cause is fixed) to its
original topic with its original key and headers (acks=all), then marks it replayed; every
consumer group of that topic receives it, and inboxes make it harmless to those that already
handled it. A record that fails again is parked again, as a new pending dead letter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime

import asyncpg
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from opentelemetry import metrics

from chorus_platform.metrics import LastValues
from chorus_platform.outbox import make_producer
from chorus_platform.settings import ChorusSettings

_pending = LastValues(
    metrics.get_meter("chorus_platform.dlq"),
    "chorus.dead_letters.pending",
    description="Dead letters parked in this service's table and not replayed yet.",
)


async def measure_pending(conn: asyncpg.Connection) -> int:
    """Counts the pending dead letters (through the ``dead_letters_pending`` index) for the
    ``chorus.dead_letters.pending`` gauge; the outbox relay's backlog monitor calls it."""
    pending = await conn.fetchval(
        "SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL", timeout=4
    )
    _pending.set(pending)
    return pending


def _header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode("utf-8", "replace")
    return None


async def park(
    conn: asyncpg.Connection, *, consumer: str, record: ConsumerRecord, error: str, attempts: int
) -> None:
    """Keeps ``record`` as a pending dead letter of ``consumer`` (once: a record redelivered
    while its event is still pending is not added again)."""
    headers = list(record.headers or ())
    await conn.execute(
        'INSERT INTO dead_letters (consumer, topic, partition, "offset", key, header_keys,'
        " header_values, value, event_id, event_type, error, attempts)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        " ON CONFLICT (consumer, event_id) WHERE replayed_at IS NULL DO NOTHING",
        consumer,
        record.topic,
        record.partition,
        record.offset,
        record.key,
        [key for key, _ in headers],
        [bytes(value) for _, value in headers],
        record.value,
        _header(record, "ce_id"),
        _header(record, "ce_type"),
        error,
        attempts,
    )


async def pending(
    conn: asyncpg.Connection,
    *,
    consumer: str | None = None,
    include_replayed: bool = False,
    limit: int = 50,
) -> list[dict[str, object]]:
    """Dead letters, oldest first, described without their payload."""
    rows = await conn.fetch(
        'SELECT id, consumer, topic, partition, "offset", key, event_id, event_type, attempts,'
        " error, parked_at, replayed_at FROM dead_letters"
        " WHERE ($1::text IS NULL OR consumer = $1) AND ($2 OR replayed_at IS NULL)"
        " ORDER BY id LIMIT $3",
        consumer,
        include_replayed,
        limit,
    )
    return [_describe(row) for row in rows]


def _describe(row: asyncpg.Record) -> dict[str, object]:
    described: dict[str, object] = {}
    for name, value in row.items():
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, datetime):
            value = value.isoformat()
        described[name] = value
    return described


async def replay(
    settings: ChorusSettings,
    *,
    consumer: str | None = None,
    ids: list[int] | None = None,
    limit: int = 1000,
) -> list[int]:
    """Publishes pending dead letters again to their topics and marks them replayed (each
    only after the broker acknowledged it); returns their ids."""
    conn = await asyncpg.connect(settings.database_dsn)
    replayed: list[int] = []
    try:
        rows = await conn.fetch(
            "SELECT id, topic, key, header_keys, header_values, value FROM dead_letters"
            " WHERE replayed_at IS NULL AND ($1::text IS NULL OR consumer = $1)"
            " AND ($2::bigint[] IS NULL OR id = ANY($2)) ORDER BY id LIMIT $3",
            consumer,
            ids,
            limit,
        )
        if not rows:
            return replayed
        producer = make_producer(settings)
        await producer.start()
        try:
            for row in rows:
                headers = list(zip(row["header_keys"], row["header_values"], strict=True))
                await producer.send_and_wait(
                    row["topic"], value=row["value"], key=row["key"], headers=headers
                )
                await conn.execute(
                    "UPDATE dead_letters SET replayed_at = now() WHERE id = $1", row["id"]
                )
                replayed.append(row["id"])
        finally:
            await producer.stop()
    finally:
        await conn.close()
    return replayed


async def _show(settings: ChorusSettings, args: argparse.Namespace) -> list[dict[str, object]]:
    conn = await asyncpg.connect(settings.database_dsn)
    try:
        return await pending(
            conn, consumer=args.consumer, include_replayed=args.all, limit=args.limit
        )
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chorus_platform.dlq")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="list a service's pending dead letters")
    show.add_argument("service", help="the consuming service, e.g. notifications")
    show.add_argument("--consumer", help="only this consumer group, e.g. invoices-routing")
    show.add_argument("--all", action="store_true", help="replayed ones too")
    show.add_argument("--limit", type=int, default=50)
    again = commands.add_parser("replay", help="publish pending dead letters again")
    again.add_argument("service", help="the consuming service, e.g. notifications")
    again.add_argument("--consumer", help="only this consumer group")
    again.add_argument("--id", type=int, action="append", dest="ids", help="only this id")
    again.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args(argv)
    settings = ChorusSettings(service_name=args.service)
    try:
        if args.command == "show":
            for entry in asyncio.run(_show(settings, args)):
                print(json.dumps(entry, ensure_ascii=False))
            return 0
        replayed = asyncio.run(
            replay(settings, consumer=args.consumer, ids=args.ids, limit=args.limit)
        )
    except (OSError, asyncpg.PostgresError, KafkaError) as exc:
        print(f"erreur / error ({args.service}): {exc!r}", file=sys.stderr)
        return 1
    print(json.dumps({"service": args.service, "replayed": replayed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
