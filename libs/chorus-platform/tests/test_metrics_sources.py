"""What the platform measures, read through the session's in-memory meter provider: the outbox
gauges against real PostgreSQL, the consumer's lag, durations and dead letters against the
embedded broker, the pool gauges, and the HTTP middleware's route template."""

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus_devstack.ports import free_port
from chorus_platform import cloudevents, outbox
from chorus_platform import consumer as consumer_module
from chorus_platform.consumer import EventConsumer, Subscription
from chorus_platform.db import create_pool
from chorus_platform.metrics import measure_http
from chorus_platform.migrations import apply_migrations, platform_migrations
from chorus_platform.outbox import OutboxRelay, add_event
from chorus_platform.topics import ensure_topics
from chorus_platform.unit_of_work import UnitOfWork
from fastapi import APIRouter, FastAPI


async def publish(settings, topic: str, message) -> None:
    await ensure_topics(settings, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        headers = cloudevents.to_headers(
            event_id=str(uuid.uuid4()),
            ce_type=message.DESCRIPTOR.full_name,
            source="/chorus/test",
            time=datetime.now(UTC),
            traceparent=None,
        )
        await producer.send_and_wait(topic, message.SerializeToString(), key=b"k", headers=headers)
    finally:
        await producer.stop()


def all_points(metrics_recorded, name: str, *, scope_name: str | None = None, **labels) -> list:
    data = metrics_recorded._reader.get_metrics_data()
    return [
        point
        for resource in (data.resource_metrics if data else ())
        for scope in resource.scope_metrics
        if scope_name is None or scope.scope.name == scope_name
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
        if all(point.attributes.get(k) == v for k, v in labels.items())
    ]


def points(metrics_recorded, name: str, **labels) -> list:
    return all_points(metrics_recorded, name, **labels)


def value(metrics_recorded, name: str, **labels: str) -> float | None:
    found = points(metrics_recorded, name, **labels)
    return found[-1].value if found else None


async def eventually(check, timeout: float = 60.0):
    """Waits until ``check()`` is truthy (generous: the machine is shared); returns it."""
    async with asyncio.timeout(timeout):
        while not (result := check()):
            await asyncio.sleep(0.1)
    return result


@contextlib.asynccontextmanager
async def running(job):
    task = asyncio.create_task(job())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def migrated(platform_settings):
    conn = await asyncpg.connect(platform_settings.database_dsn)
    await apply_migrations(conn, platform_migrations())
    yield conn
    await conn.close()


async def test_outbox_gauges_count_unpublished_rows_while_the_broker_is_away(
    migrated, platform_settings, metrics_recorded, monkeypatch
):
    monkeypatch.setattr(outbox, "_BACKLOG_EVERY_SECONDS", 0.2)
    for i in range(3):
        async with migrated.transaction():
            await add_event(
                migrated,
                service=platform_settings.service_name,
                key="u",
                message=ev.UserActivated(user_id=f"u{i}"),
            )
    await migrated.execute("UPDATE outbox SET ce_time = now() - interval '90 seconds'")
    nowhere = platform_settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    failures = sum(p.value for p in points(metrics_recorded, "chorus.outbox.publish_failures"))
    relay = OutboxRelay(platform_settings.database_dsn, nowhere, retry_seconds=0.1)

    async with running(relay.run):
        await eventually(lambda: value(metrics_recorded, "chorus.outbox.backlog") == 3)
        age = value(metrics_recorded, "chorus.outbox.oldest_age")
        assert 90 <= age < 3600
        assert value(metrics_recorded, "chorus.dead_letters.pending") == 0
        await eventually(
            lambda: (
                sum(p.value for p in points(metrics_recorded, "chorus.outbox.publish_failures"))
                > failures
            )
        )
        assert value(metrics_recorded, "chorus.broker.up", client="relay") == 0

    published = sum(p.value for p in points(metrics_recorded, "chorus.outbox.published"))
    relay = OutboxRelay(platform_settings.database_dsn, platform_settings)
    async with running(relay.run):
        await eventually(lambda: value(metrics_recorded, "chorus.outbox.backlog") == 0)
        assert value(metrics_recorded, "chorus.outbox.oldest_age") == 0
        await eventually(lambda: relay.published == 3)
        assert value(metrics_recorded, "chorus.broker.up", client="relay") == 1
    assert sum(p.value for p in points(metrics_recorded, "chorus.outbox.published")) == (
        published + 3
    )


async def test_consumer_lag_and_processing_are_measured(
    migrated, platform_settings, metrics_recorded, monkeypatch
):
    monkeypatch.setattr(consumer_module, "_LAG_EVERY_SECONDS", 0.2)
    topic = f"test.{uuid.uuid4().hex[:8]}.events.v1"
    group = f"test-lag-{uuid.uuid4().hex[:6]}"
    handled: list[str] = []
    gate = asyncio.Event()

    async def handle(tx, message, envelope):
        if message.user_id != "first":
            await gate.wait()
        handled.append(message.user_id)

    pool = await create_pool(platform_settings.database_dsn, max_size=3)
    consumer = EventConsumer(
        name=group,
        topics=[topic],
        subscriptions=[Subscription(ev.UserActivated, handle)],
        uow=UnitOfWork(pool, service="test"),
        settings=platform_settings,
        batch_size=1,
    )
    try:
        await publish(platform_settings, topic, ev.UserActivated(user_id="first"))
        async with running(consumer.run):
            await eventually(lambda: handled == ["first"])
            for i in range(5):
                await publish(platform_settings, topic, ev.UserActivated(user_id=f"u{i}"))
            # The handler is stuck on u0: the lag counts it and the four behind it.
            lagging = await eventually(
                lambda: [
                    p
                    for p in points(metrics_recorded, "chorus.consumer.lag", consumer_group=group)
                    if p.value == 5
                ]
            )
            assert lagging[0].attributes["topic"] == topic
            gate.set()
            await eventually(lambda: len(handled) == 6)
            await eventually(
                lambda: value(metrics_recorded, "chorus.consumer.lag", **lagging[0].attributes) == 0
            )
        durations = points(
            metrics_recorded, "messaging.process.duration", consumer_group=group, outcome="ok"
        )
        assert sum(p.count for p in durations) == 6
        # The pool's gauges: this test's pool is one of the process's open pools.
        assert value(metrics_recorded, "db.client.connection.max") >= 3
        states = {
            p.attributes["state"] for p in points(metrics_recorded, "db.client.connection.count")
        }
        assert states == {"idle", "used"}
    finally:
        await pool.close()


async def test_a_parked_event_is_counted_with_its_retries(
    migrated, platform_settings, metrics_recorded, monkeypatch
):
    monkeypatch.setattr(consumer_module, "_DEAD_LETTERS_EVERY_SECONDS", 0.2)
    topic = f"test.{uuid.uuid4().hex[:8]}.events.v1"
    group = f"test-park-{uuid.uuid4().hex[:6]}"

    async def fails(tx, message, envelope):
        raise RuntimeError("no")

    pool = await create_pool(platform_settings.database_dsn, max_size=2)
    consumer = EventConsumer(
        name=group,
        topics=[topic],
        subscriptions=[Subscription(ev.UserActivated, fails)],
        uow=UnitOfWork(pool, service="test"),
        settings=platform_settings,
    )
    try:
        await publish(platform_settings, topic, ev.UserActivated(user_id="x"))
        async with running(consumer.run):
            await eventually(
                lambda: points(
                    metrics_recorded, "chorus.consumer.dead_letters", consumer_group=group
                )
            )
            # The table says so too (the one consumer of the process measuring it).
            await eventually(lambda: value(metrics_recorded, "chorus.dead_letters.pending") == 1)
    finally:
        await pool.close()
    labels = {"consumer_group": group, "topic": topic}
    attempts = platform_settings.consumer_max_attempts
    assert value(metrics_recorded, "chorus.consumer.dead_letters", **labels) == 1
    assert value(metrics_recorded, "chorus.consumer.retries", **labels) == attempts - 1
    outcomes = {
        p.attributes["outcome"]: p.count
        for p in points(metrics_recorded, "messaging.process.duration", **labels)
    }
    assert outcomes == {"retry": attempts - 1, "parked": 1}


async def test_http_requests_are_timed_by_route_template(metrics_recorded):
    """FastAPI records the same instrument natively (scope ``fastapi``) when no OpenTelemetry
    instrumentation wraps the app; the services' apps have one, which turns it off."""
    app = FastAPI()
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: str):
        return {"id": thing_id}

    app.include_router(router, prefix="/api/v9")
    measure_http(app)

    class CopyingScope:  # as the gateway's client address middleware does
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            await self.app({**scope}, receive, send)

    @app.get("/healthz")
    async def healthz():
        return {}

    app.add_middleware(CopyingScope)
    name = "http.server.request.duration"

    def points(reader, name, **labels):
        return all_points(reader, name, scope_name="chorus_platform.http", **labels)

    before = sum(
        p.count
        for p in points(metrics_recorded, name, **{"http.route": "/api/v9/things/{thing_id}"})
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for thing_id in ("a", "b", "c"):
            assert (await client.get(f"/api/v9/things/{thing_id}")).status_code == 200
        assert (await client.get("/nowhere/at/all")).status_code == 404
        assert (await client.post("/api/v9/things/a")).status_code == 405
        assert (await client.get("/healthz")).status_code == 200

    ok = points(
        metrics_recorded,
        name,
        **{
            "http.route": "/api/v9/things/{thing_id}",
            "http.request.method": "GET",
            "http.response.status_code": 200,
        },
    )
    assert sum(p.count for p in ok) == before + 3
    routes = {p.attributes.get("http.route") for p in points(metrics_recorded, name)}
    assert not any(route and ("/things/a" in route or "nowhere" in route) for route in routes)
    assert "/healthz" not in routes
    unmatched = [
        p
        for p in points(metrics_recorded, name, **{"http.response.status_code": 404})
        if "http.route" not in p.attributes
    ]
    assert unmatched
