"""Run in its own process by test_telemetry.py (tracing is process-global): a traced gRPC call
whose handler writes an event, relayed through the broker and handled by a consumer. Prints
one JSON object with the trace ids seen at each step and the spans exported."""

import asyncio
import io
import json
import logging
import os
import sys
import uuid

import asyncpg
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_platform import grpc_server, telemetry
from chorus_platform.consumer import EventConsumer, Subscription
from chorus_platform.db import create_pool
from chorus_platform.grpc_client import open_channel
from chorus_platform.logging import JsonFormatter
from chorus_platform.migrations import apply_migrations, platform_migrations
from chorus_platform.outbox import OutboxRelay, add_event, topic_of
from chorus_platform.settings import ChorusSettings
from chorus_platform.unit_of_work import UnitOfWork
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def trace_id() -> str:
    return f"{trace.get_current_span().get_span_context().trace_id:032x}"


async def main(dsn: str, bootstrap: str, recorded: bool) -> dict:
    if recorded:  # although no exporter is configured: this probe brings its own
        os.environ["OTEL_TRACES_SAMPLER"] = "parentbased_always_on"
    assert telemetry.setup_telemetry("probe")
    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    log_stream = io.StringIO()
    handler = logging.StreamHandler(log_stream)
    handler.setFormatter(JsonFormatter("probe"))
    logging.getLogger("probe").addHandler(handler)
    logging.getLogger("probe").setLevel("INFO")

    conn = await asyncpg.connect(dsn)
    await apply_migrations(conn, platform_migrations())
    await conn.close()
    pool = await create_pool(dsn, max_size=4)
    service = f"probe{uuid.uuid4().hex[:6]}"
    settings = ChorusSettings(
        service_name=service,
        database_url=dsn,
        database_name=dsn.rsplit("/", 1)[1],
        kafka_bootstrap=bootstrap,
        outbox_poll_seconds=0.2,
    )
    seen: dict[str, str] = {}
    handled = asyncio.Event()

    class Feed(pb_grpc.NotificationsServiceServicer):
        async def ListFeed(self, request, context):
            seen["server"] = trace_id()
            logging.getLogger("probe").info("handling")
            async with pool.acquire() as conn, conn.transaction():
                await add_event(conn, service=service, key="k", message=ev.UserActivated())
            return pb.ListFeedResponse()

    async def on_event(tx, message, envelope):
        seen["consumer"] = trace_id()
        seen["envelope"] = envelope.traceparent or ""
        handled.set()

    app = grpc_server.GrpcApp(
        name="probe",
        port=0,
        host="127.0.0.1",
        register=lambda s: (pb_grpc.add_NotificationsServiceServicer_to_server(Feed(), s), [])[1],
        grace_seconds=1,
    )
    running = await grpc_server.start(app)
    relay = OutboxRelay(settings.database_dsn, settings)
    consumer = EventConsumer(
        name=f"{service}-consumer",
        topics=[topic_of(service)],
        subscriptions=[Subscription(ev.UserActivated, on_event)],
        uow=UnitOfWork(pool, service=service),
        settings=settings,
    )
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    channel = open_channel(f"127.0.0.1:{running.port}", deadline_seconds=10)
    try:
        with trace.get_tracer("probe").start_as_current_span("client-root"):
            seen["client"] = trace_id()
            await pb_grpc.NotificationsServiceStub(channel).ListFeed(pb.ListFeedRequest())
        seen["outbox"] = await pool.fetchval("SELECT traceparent FROM outbox") or ""
        await asyncio.wait_for(handled.wait(), 60)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await channel.close()
        await running.stop()
        await pool.close()
    log_line = json.loads(log_stream.getvalue().splitlines()[0])
    return {
        **seen,
        "log_trace_id": log_line.get("trace_id", ""),
        "spans": [
            (s.name, s.kind.name, f"{s.context.trace_id:032x}")
            for s in exporter.get_finished_spans()
        ],
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] == "recorded"))))
