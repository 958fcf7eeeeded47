"""Dead letters for operators: see what is parked on ``<topic>.dlq`` and replay it.

    python -m chorus_platform.dlq show chorus.invoices.events.v1 [--limit 50]
    python -m chorus_platform.dlq replay chorus.invoices.events.v1 [--limit 1000]

(``make dlq-show TOPIC=…`` / ``make dlq-replay TOPIC=…`` locally; in a pod,
``kubectl exec deploy/chorus-notifications -- python -m chorus_platform.dlq show …``.)
The broker comes from ``CHORUS_KAFKA_BOOTSTRAP`` like every service. ``show`` prints one JSON
object per parked event — id, type, the consumer that gave up, attempts, error, where it came
from — never the payload, which may hold personal data. ``show`` commits nothing; ``replay``
copies the records back to the topic once the cause is fixed (consumers' inboxes make a replay
of an event already handled harmless).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid

from aiokafka import AIOKafkaConsumer

from chorus_platform.consumer import replay_dead_letters
from chorus_platform.settings import ChorusSettings
from chorus_platform.topics import dlq_topic


async def peek_dead_letters(
    settings: ChorusSettings, topic: str, *, limit: int = 50, timeout_ms: int = 2000
) -> list[dict[str, str]]:
    """Up to ``limit`` records parked on ``<topic>.dlq``, oldest first, described by their
    headers (nothing is consumed for good: a throwaway group, no commit)."""
    consumer = AIOKafkaConsumer(
        dlq_topic(topic),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"chorus-dlq-show-{uuid.uuid4().hex}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    found: list[dict[str, str]] = []
    await consumer.start()
    try:
        while len(found) < limit:
            batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=100)
            if not batches:
                break
            for records in batches.values():
                for record in records:
                    headers = {k: v.decode("utf-8", "replace") for k, v in record.headers or ()}
                    found.append(
                        {
                            "event_id": headers.get("ce_id", ""),
                            "type": headers.get("ce_type", ""),
                            "key": (record.key or b"").decode("utf-8", "replace"),
                            "consumer": headers.get("dlq_consumer", ""),
                            "attempts": headers.get("dlq_attempts", ""),
                            "error": headers.get("dlq_error", ""),
                            "original": headers.get("dlq_original", ""),
                        }
                    )
    finally:
        await consumer.stop()
    return found[:limit]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chorus_platform.dlq")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="list the events parked on <topic>.dlq")
    show.add_argument("topic", help="the events topic, e.g. chorus.invoices.events.v1")
    show.add_argument("--limit", type=int, default=50)
    replay = commands.add_parser("replay", help="copy <topic>.dlq back to <topic>")
    replay.add_argument("topic")
    replay.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args(argv)
    settings = ChorusSettings(service_name="dlq")
    if args.command == "show":
        for entry in asyncio.run(peek_dead_letters(settings, args.topic, limit=args.limit)):
            print(json.dumps(entry, ensure_ascii=False))
        return 0
    replayed = asyncio.run(replay_dead_letters(settings, args.topic, limit=args.limit))
    print(json.dumps({"topic": args.topic, "replayed": replayed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
