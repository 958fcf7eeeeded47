"""The deny-list of revoked sessions: the list itself, the verifier and interceptor refusing
listed sessions, and the feed priming from a source and following identity's topic on the
real broker."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import grpc
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_devstack.broker import KafkaBroker
from chorus_devstack.ports import free_port
from chorus_platform import cloudevents, grpc_server
from chorus_platform.auth import AuthInterceptor, current_principal
from chorus_platform.errors import Unauthenticated
from chorus_platform.grpc_client import open_channel
from chorus_platform.revocation import (
    MARGIN_SECONDS,
    REVOCATIONS_TOPIC,
    SESSION_REVOKED_TYPE,
    RevocationFeed,
    RevocationList,
    RevokedSession,
    decode_session_revoked,
)
from chorus_platform.rpc_status import from_rpc_error
from chorus_platform.settings import ChorusSettings
from chorus_platform.testing.tokens import TestSigner
from chorus_platform.topics import ensure_topics
from google.protobuf.timestamp_pb2 import Timestamp

TTL = 900


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- the list -------------------------------------------------------------------------------


def test_a_session_is_refused_until_its_tokens_expire_plus_the_margin():
    clock = Clock()
    revoked = RevocationList(margin_seconds=60, clock=clock)

    assert revoked.add("s1", tokens_valid_until=clock.now + TTL)

    assert revoked.is_revoked("s1") and not revoked.is_revoked("s2")
    clock.now += TTL + 59
    assert revoked.is_revoked("s1")
    clock.now += 1
    assert not revoked.is_revoked("s1")
    assert len(revoked) == 0  # dropped on the lookup that found it expired


def test_adding_again_is_harmless_and_keeps_the_later_expiry():
    clock = Clock()
    revoked = RevocationList(margin_seconds=0, clock=clock)

    assert revoked.add("s1", clock.now + 100)
    assert not revoked.add("s1", clock.now + 100)
    assert not revoked.add("s1", clock.now + 50)
    assert revoked.add("s1", clock.now + 200)
    clock.now += 150
    assert revoked.is_revoked("s1") and len(revoked) == 1


def test_a_revocation_whose_tokens_expired_long_ago_is_not_kept():
    clock = Clock()
    revoked = RevocationList(margin_seconds=60, clock=clock)

    assert not revoked.add("old", clock.now - 61)
    assert not revoked.is_revoked("old") and len(revoked) == 0


def test_prune_drops_the_expired_entries_only():
    clock = Clock()
    revoked = RevocationList(margin_seconds=0, clock=clock)
    for n in range(10):
        revoked.add(f"s{n}", clock.now + n + 1)

    clock.now += 5
    assert revoked.prune() == 5

    assert len(revoked) == 5
    assert [n for n in range(10) if revoked.is_revoked(f"s{n}")] == [5, 6, 7, 8, 9]


def record(value: bytes, ce_type: str = SESSION_REVOKED_TYPE) -> ConsumerRecord:
    return ConsumerRecord(
        REVOCATIONS_TOPIC, 0, 7, 0, 0, b"user", value, None, len(value), 0,
        [("ce_id", b"1"), ("ce_type", ce_type.encode())],
    )  # fmt: skip


def session_revoked(
    session_id: str, valid_until: float, user_id: str | None = None
) -> ev.SessionRevoked:
    until = Timestamp()
    until.FromNanoseconds(int(valid_until * 1e9))
    return ev.SessionRevoked(
        user_id=user_id or str(uuid.uuid4()),
        session_id=session_id,
        reason=ev.SESSION_REVOCATION_REASON_LOGOUT,
        tokens_valid_until=until,
    )


def test_records_decode_to_the_session_and_anything_else_is_skipped():
    event = session_revoked("s1", 1_700_000_900.25)

    decoded = decode_session_revoked(record(event.SerializeToString()))
    assert decoded is not None and decoded.session_id == "s1"
    assert decoded.tokens_valid_until == pytest.approx(1_700_000_900.25, abs=1e-3)
    other = ev.UserActivated(user_id="u").SerializeToString()
    assert decode_session_revoked(record(other, ev.UserActivated.DESCRIPTOR.full_name)) is None
    assert decode_session_revoked(record(b"\xff\xff not protobuf")) is None
    assert decode_session_revoked(record(b"")) is None  # no session id


# --- the verifier and the interceptor --------------------------------------------------------


async def test_the_verifier_refuses_a_revoked_session_and_only_it():
    signer, revoked = TestSigner(), RevocationList()
    verifier = signer.verifier(revoked)
    ended, live = signer.token("u", sid="ended"), signer.token("u", sid="live")
    assert (await verifier.verify(ended)).session_id == "ended"

    revoked.add("ended", time.time() + TTL)

    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(ended)
    assert refused.value.reason == "SESSION_REVOKED"
    assert (await verifier.verify(live)).session_id == "live"


class Feed(pb_grpc.NotificationsServiceServicer):
    """A read (ListFeed) and a write (MarkFeedItemRead) that answer with the caller."""

    async def ListFeed(self, request, context):
        return pb.ListFeedResponse(next_page_token=current_principal().session_id)

    async def MarkFeedItemRead(self, request, context):
        return pb.MarkFeedItemReadResponse()


@pytest.fixture
async def guarded_server():
    """A gRPC server whose AuthInterceptor checks a deny-list; (stub, signer, list)."""
    signer, revoked = TestSigner(), RevocationList()
    app = grpc_server.GrpcApp(
        name="test",
        port=0,
        host="127.0.0.1",
        register=lambda s: (
            pb_grpc.add_NotificationsServiceServicer_to_server(Feed(), s),
            ["chorus.notifications.v1.NotificationsService"],
        )[1],
        interceptors=[AuthInterceptor(signer.verifier(revoked), public_methods=set())],
    )
    running = await grpc_server.start(app)
    channel = open_channel(f"127.0.0.1:{running.port}", deadline_seconds=5)
    yield pb_grpc.NotificationsServiceStub(channel), signer, revoked
    await channel.close()
    await running.stop()


async def test_reads_and_writes_of_a_revoked_session_are_unauthenticated(guarded_server):
    stub, signer, revoked = guarded_server
    auth = (("authorization", f"Bearer {signer.token('u', sid='s-ended')}"),)
    assert (await stub.ListFeed(pb.ListFeedRequest(), metadata=auth)).next_page_token == "s-ended"

    revoked.add("s-ended", time.time() + TTL)

    for call in (
        stub.ListFeed(pb.ListFeedRequest(), metadata=auth),
        stub.MarkFeedItemRead(pb.MarkFeedItemReadRequest(), metadata=auth),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        error = from_rpc_error(refused.value)
        assert (error.code, error.reason) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_REVOKED")
    other = (("authorization", f"Bearer {signer.token('u', sid='s-live')}"),)
    assert (await stub.ListFeed(pb.ListFeedRequest(), metadata=other)).next_page_token == "s-live"


# --- the feed, on the real broker -------------------------------------------------------------


def feed_settings(bootstrap: str) -> ChorusSettings:
    return ChorusSettings(
        service_name=f"rev{uuid.uuid4().hex[:6]}",
        kafka_bootstrap=bootstrap,
        access_token_ttl_seconds=TTL,
    )


async def publish(
    bootstrap: str,
    session_id: str,
    *,
    valid_until: float | None = None,
    at_ms: int | None = None,
    user_id: str | None = None,
) -> None:
    """A SessionRevoked record as identity's relay writes it (CloudEvents headers, keyed by
    the user)."""
    event = session_revoked(session_id, valid_until or time.time() + TTL, user_id)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            REVOCATIONS_TOPIC,
            event.SerializeToString(),
            key=event.user_id.encode(),
            timestamp_ms=at_ms,
            headers=cloudevents.to_headers(
                event_id=str(uuid.uuid4()),
                ce_type=SESSION_REVOKED_TYPE,
                source="/chorus/identity",
                time=datetime.now(UTC),
                traceparent=None,
            ),
        )
    finally:
        await producer.stop()


def source_of(*sessions: str, failing: asyncio.Event | None = None):
    """A priming source listing ``sessions`` (a test may add more to ``fetch.sessions``); it
    fails while ``failing`` is set; ``fetch.calls`` holds the ``since`` of each call."""
    calls: list[float | None] = []

    async def fetch(since: float | None) -> list[RevokedSession]:
        calls.append(since)
        if failing is not None and failing.is_set():
            raise ConnectionError("identity unreachable")
        return [RevokedSession(s, time.time() + TTL) for s in listed]

    listed = list(sessions)
    fetch.sessions = listed  # type: ignore[attr-defined]
    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


async def until(condition, timeout: float = 15) -> float:
    """Seconds until ``condition()`` holds (polled every 10 ms); fails after ``timeout``."""
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)
    return time.monotonic() - started


@pytest.fixture
async def identity_topic(kafka_broker):
    await ensure_topics(feed_settings(kafka_broker.bootstrap), [REVOCATIONS_TOPIC])
    return kafka_broker.bootstrap


@pytest.fixture
async def running_feeds():
    """``start(feed)`` runs a feed in the background until the test ends."""
    tasks: list[asyncio.Task] = []

    def start(feed: RevocationFeed) -> RevocationFeed:
        tasks.append(asyncio.create_task(feed.run()))
        return feed

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_the_feed_is_primed_then_follows_new_revocations(identity_topic, running_feeds):
    primed, later = str(uuid.uuid4()), str(uuid.uuid4())
    feed = running_feeds(RevocationFeed(feed_settings(identity_topic), source_of(primed)))

    await feed.ready()
    assert feed.revoked.is_revoked(primed)
    await until(lambda: feed.caught_up)
    await publish(identity_topic, later)
    delay = await until(lambda: feed.revoked.is_revoked(later))

    print(f"\nrevocation published -> listed: {delay * 1000:.0f} ms")


async def test_a_revocation_published_before_the_start_but_missed_by_the_priming_is_read(
    identity_topic, running_feeds
):
    # The gap: committed and published while the service was down, and (say) the priming
    # answered from a replica that had not seen it. The follower starts one token lifetime
    # back, so it reads it anyway.
    missed = str(uuid.uuid4())
    await publish(identity_topic, missed)

    feed = running_feeds(RevocationFeed(feed_settings(identity_topic), source_of()))

    await until(lambda: feed.revoked.is_revoked(missed))


@pytest.fixture
async def own_broker():
    """A broker of the test's own (the shared one holds other tests' records)."""
    broker = KafkaBroker(free_port())
    broker.start()
    try:
        await ensure_topics(feed_settings(broker.bootstrap), [REVOCATIONS_TOPIC])
        yield broker
    finally:
        broker.stop()


async def test_the_follower_starts_one_token_lifetime_back_not_at_the_beginning(
    own_broker, running_feeds
):
    # A one-second lifetime and no margin, so that "long ago" is two seconds; the broker
    # dates records by their arrival, so the wait is real.
    settings = feed_settings(own_broker.bootstrap)
    settings.access_token_ttl_seconds = 1
    old, recent = str(uuid.uuid4()), str(uuid.uuid4())
    # tokens_valid_until far ahead, so only the seek can leave the old record out. One user,
    # so one partition: tansu answers a seek by time on a partition holding nothing recent
    # with its start (re-reading more, which the tokens' expiry makes harmless elsewhere).
    user = str(uuid.uuid4())
    await publish(own_broker.bootstrap, old, user_id=user)
    await asyncio.sleep(2)
    await publish(own_broker.bootstrap, recent, user_id=user)

    feed = running_feeds(RevocationFeed(settings, source_of(), margin_seconds=0))

    await until(lambda: feed.caught_up)
    assert feed.revoked.is_revoked(recent) and not feed.revoked.is_revoked(old)


async def test_a_revocation_whose_event_never_came_is_found_by_the_recheck(
    identity_topic, running_feeds
):
    source = source_of()
    feed = running_feeds(RevocationFeed(feed_settings(identity_topic), source, recheck_seconds=0.1))
    await until(lambda: feed.caught_up and feed.primed)
    lost = str(uuid.uuid4())

    source.sessions.append(lost)  # committed at identity; the broker lost its event

    await until(lambda: feed.revoked.is_revoked(lost))
    first, *rechecks = source.calls
    assert first is None  # the whole window, then only what is new (less the margin)
    assert rechecks and all(since > time.time() - MARGIN_SECONDS - 5 for since in rechecks)


async def test_without_identity_the_broker_alone_makes_the_list_ready(
    identity_topic, running_feeds
):
    down = asyncio.Event()
    down.set()
    source = source_of(failing=down)
    before = str(uuid.uuid4())
    await publish(identity_topic, before)

    feed = running_feeds(RevocationFeed(feed_settings(identity_topic), source, retry_seconds=0.1))

    await feed.ready()
    assert feed.caught_up and not feed.primed and feed.revoked.is_revoked(before)
    await until(lambda: len(source.calls) >= 3)  # still trying identity, with a pause
    down.clear()
    await until(lambda: feed.primed)


async def test_with_neither_identity_nor_the_broker_the_service_stays_unready(running_feeds):
    down = asyncio.Event()
    down.set()
    nowhere = feed_settings(f"127.0.0.1:{free_port()}")
    feed = running_feeds(
        RevocationFeed(nowhere, source_of(failing=down), retry_seconds=0.1, ready_wait_seconds=0.5)
    )

    with pytest.raises(RuntimeError, match="not loaded"):
        await feed.ready()
    assert not feed.loaded and len(feed.revoked) == 0


async def test_every_replica_of_a_service_hears_every_revocation(identity_topic, running_feeds):
    # No consumer group: two replicas sharing one would split the partitions between them.
    settings = feed_settings(identity_topic)
    replicas = [running_feeds(RevocationFeed(settings, source_of())) for _ in range(2)]
    for replica in replicas:
        await until(lambda r=replica: r.caught_up)
    sessions = [str(uuid.uuid4()) for _ in range(12)]  # keys spread over every partition

    for session in sessions:
        await publish(identity_topic, session)

    for replica in replicas:
        await until(lambda r=replica: all(r.revoked.is_revoked(s) for s in sessions))


async def test_the_follower_resumes_after_the_broker_restarts(own_broker, running_feeds):
    settings = feed_settings(own_broker.bootstrap)
    feed = running_feeds(RevocationFeed(settings, source_of(), retry_seconds=0.2))
    await until(lambda: feed.caught_up)

    own_broker.stop()  # in memory: the records go, the topics come back empty
    await asyncio.sleep(1)
    own_broker.start()
    after = str(uuid.uuid4())
    await publish(own_broker.bootstrap, after)

    delay = await until(lambda: feed.revoked.is_revoked(after), timeout=30)
    print(f"\nbroker restarted -> revocation listed: {delay * 1000:.0f} ms")
