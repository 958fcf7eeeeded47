"""The deny-list of revoked sessions: every service refuses the access tokens of a session
identity revoked (logout, refresh-token reuse, password reset or change, deactivation…) as
soon as it hears of it, instead of when the token expires.

An access token names its session (claim ``sid``). :class:`RevocationList` holds the revoked
session ids, each until ``tokens_valid_until`` (revocation + access-token lifetime, when the
last token of the session has expired anyway) plus a margin; the
:class:`~chorus_platform.auth.TokenVerifier` refuses a listed session with UNAUTHENTICATED
``SESSION_REVOKED``, reads and writes alike.

:class:`RevocationFeed` fills the list from two sources, both idempotent, run together:

- **Priming**: ``source`` (identity's ``ListRevokedSessions`` over gRPC; identity reads its
  own database), every session revoked within one token lifetime. Retried every
  ``retry_seconds`` until it answers once; then asked again every ``recheck_seconds`` for
  what was revoked since the previous answer (less a margin), so that a revocation whose event
  the broker lost (it acknowledged, then died) is still refused within ``recheck_seconds``.
- **Following**: the ``SessionRevoked`` records of ``chorus.identity.events.v1``, read with
  no consumer group (each process needs *every* revocation, so replicas must not share the
  partitions, and nothing is committed), from the first record newer than one token lifetime
  (+ margin) ago (seek by timestamp). That window contains everything the priming returns,
  so there is no gap whichever answers first: a revocation committed before the priming is
  in its answer, one published later is read from the broker, and one in between is in both.
  The follower needs no database; a broker outage or restart makes it reconnect and seek
  again.

Failure policy — **fail open, visibly**: while neither source has answered (identity and the
broker both unreachable at start) tokens are still accepted on their signature alone, as
before this list existed: refusing every token would turn an identity outage into an outage
of every service. The feed logs a warning on each failed priming, and :meth:`RevocationFeed.
ready` keeps the service NOT_SERVING (gRPC health, hence no traffic from Kubernetes) until one
source has loaded the window; a running service whose sources fail later keeps its list and
keeps following once the broker is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from chorus.identity.events.v1 import identity_events_pb2 as identity_events
from google.protobuf.message import DecodeError

from chorus_platform.broker_connections import track
from chorus_platform.kafka_clients import client_options
from chorus_platform.outbox import topic_of
from chorus_platform.settings import ChorusSettings

log = logging.getLogger(__name__)

REVOCATIONS_TOPIC = topic_of("identity")
"""Where identity publishes ``SessionRevoked``."""
SESSION_REVOKED_TYPE = identity_events.SessionRevoked.DESCRIPTOR.full_name
MARGIN_SECONDS = 60.0
"""Kept past ``tokens_valid_until``: a refresh that committed just before the revocation may
sign its token a moment after the revocation's timestamp."""


@dataclass(frozen=True)
class RevokedSession:
    """A revoked session and the moment (epoch seconds) its last token expires."""

    session_id: str
    tokens_valid_until: float


RevokedSessionsSource = Callable[[float | None], Awaitable[list[RevokedSession]]]
"""The sessions revoked since a moment (epoch seconds; None: every session whose tokens may
still be valid), for the priming and its rechecks."""


class RevocationList:
    """Revoked session ids, each kept until its ``tokens_valid_until`` + ``margin_seconds``.

    Adding is idempotent (the later expiry wins); an expired entry is dropped when it is next
    looked up or by :meth:`prune`."""

    def __init__(
        self, *, margin_seconds: float = MARGIN_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self._margin = margin_seconds
        self._clock = clock
        self._until: dict[str, float] = {}

    def add(self, session_id: str, tokens_valid_until: float) -> bool:
        """Lists the session; False when it was already (or is already expired)."""
        until = tokens_valid_until + self._margin
        if until <= self._clock() or self._until.get(session_id, 0.0) >= until:
            return False
        self._until[session_id] = until
        return True

    def is_revoked(self, session_id: str) -> bool:
        """True while tokens of this session must be refused."""
        until = self._until.get(session_id)
        if until is None:
            return False
        if until <= self._clock():
            del self._until[session_id]
            return False
        return True

    def prune(self) -> int:
        """Drops every expired entry; how many."""
        now = self._clock()
        expired = [sid for sid, until in self._until.items() if until <= now]
        for sid in expired:
            del self._until[sid]
        return len(expired)

    def __len__(self) -> int:
        return len(self._until)


def decode_session_revoked(record: ConsumerRecord) -> RevokedSession | None:
    """The revoked session of a ``SessionRevoked`` record; None for any other record (or one
    that does not parse: it is logged and skipped, never blocks the feed)."""
    headers = dict(record.headers or ())
    if headers.get("ce_type") != SESSION_REVOKED_TYPE.encode():
        return None
    try:
        event = identity_events.SessionRevoked.FromString(record.value or b"")
    except DecodeError:
        log.warning("unreadable SessionRevoked record skipped", extra={"offset": record.offset})
        return None
    if not event.session_id:
        return None
    until = event.tokens_valid_until
    return RevokedSession(event.session_id, until.seconds + until.nanos / 1e9)


class RevocationFeed:
    """Keeps :attr:`revoked` up to date from identity (see the module docstring).

    The follower starts ``settings.access_token_ttl_seconds`` + ``margin_seconds`` back.
    """

    def __init__(
        self,
        settings: ChorusSettings,
        source: RevokedSessionsSource,
        *,
        revoked: RevocationList | None = None,
        margin_seconds: float = MARGIN_SECONDS,
        retry_seconds: float = 1.0,
        recheck_seconds: float = 30.0,
        prune_every_seconds: float = 30.0,
        ready_wait_seconds: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.revoked = revoked or RevocationList(margin_seconds=margin_seconds, clock=clock)
        self._settings = settings
        self._source = source
        self._retry = retry_seconds
        self._recheck = recheck_seconds
        self._prune_every = prune_every_seconds
        self._clock = clock
        self._margin = margin_seconds
        self._window = settings.access_token_ttl_seconds + margin_seconds
        self._ready_wait = ready_wait_seconds
        self._loaded = asyncio.Event()
        self.primed = False
        """The priming source has answered once."""
        self.caught_up = False
        """The follower has read the window up to the end the broker had when it started."""

    @property
    def loaded(self) -> bool:
        """One source has given the whole window: the list is complete from now on."""
        return self._loaded.is_set()

    async def ready(self) -> None:
        """Readiness check: raises until the list is loaded (waiting up to
        ``ready_wait_seconds`` for it, so that a start is not reported unready for the few
        milliseconds the priming takes)."""
        try:
            async with asyncio.timeout(self._ready_wait):
                await self._loaded.wait()
        except TimeoutError:
            raise RuntimeError(
                "revoked sessions not loaded yet (identity and broker unreachable)"
            ) from None

    async def run(self) -> None:
        """Primes and follows until cancelled (a background job of the service)."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._prime())
            group.create_task(self._follow())

    async def _prime(self) -> None:
        failures = 0
        since: float | None = None  # the whole window, until the first answer
        while True:
            asked_at = self._clock()
            try:
                sessions = await self._source(since)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.warning(
                    "could not read the revoked sessions from identity; retrying",
                    extra={"attempt": failures, "error": f"{type(exc).__name__}: {exc}"[:300]},
                )
                await asyncio.sleep(self._retry)
                continue
            added = sum(self.revoked.add(s.session_id, s.tokens_valid_until) for s in sessions)
            if not self.primed:
                self.primed = True
                self._loaded.set()
                log.info(
                    "revoked sessions loaded from identity",
                    extra={"sessions": len(sessions), "listed": len(self.revoked)},
                )
            elif added:
                # Usually a revocation younger than its event's trip; else the event was lost.
                log.info("revoked sessions found by the recheck", extra={"added": added})
            failures = 0
            since = asked_at - self._margin
            await asyncio.sleep(self._recheck)

    async def _follow(self) -> None:
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("revocation follower interrupted; reconnecting", exc_info=True)
                await asyncio.sleep(self._retry)

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(
            **client_options(self._settings),
            group_id=None,
            client_id=f"{self._settings.service_name}-revocations",
            enable_auto_commit=False,
            # Past the end after the broker lost its data: start again from what it has.
            auto_offset_reset="earliest",
            metadata_max_age_ms=5000,
            fetch_max_wait_ms=self._settings.consumer_fetch_max_wait_ms,
        )
        track(consumer._client, "consumer")
        try:
            await consumer.start()
            partitions = await self._partitions(consumer)
            ends = await self._seek_window(consumer, partitions)
            last_prune = time.monotonic()
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                for records in batches.values():
                    for record in records:
                        self._apply(record)
                if not self.caught_up and await self._reached(consumer, ends):
                    self.caught_up = True
                    self._loaded.set()
                    log.info(
                        "revocation events read up to date", extra={"listed": len(self.revoked)}
                    )
                if consumer.partitions_for_topic(REVOCATIONS_TOPIC) != partitions:
                    log.info("identity's topic changed partitions; following them again")
                    return
                if time.monotonic() - last_prune >= self._prune_every:
                    self.revoked.prune()
                    last_prune = time.monotonic()
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _partitions(self, consumer: AIOKafkaConsumer) -> set[int]:
        """identity's partitions, once its topic exists (identity's relay creates it; the
        follower never does, so it cannot create it with the wrong partition count)."""
        while True:
            if REVOCATIONS_TOPIC in await consumer.topics():
                return set(consumer.partitions_for_topic(REVOCATIONS_TOPIC) or ())
            await asyncio.sleep(self._retry)

    async def _seek_window(
        self, consumer: AIOKafkaConsumer, partitions: set[int]
    ) -> dict[TopicPartition, int]:
        """Positions every partition at its first record newer than the window's start; the
        ends as they were before, which the follower must reach to be caught up."""
        assigned = [TopicPartition(REVOCATIONS_TOPIC, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        # The ends first: a record published after this is at or past them, never skipped.
        ends = await consumer.end_offsets(assigned)
        start_ms = int((self._clock() - self._window) * 1000)
        found = await consumer.offsets_for_times({tp: start_ms for tp in assigned})
        for tp in assigned:
            # None: nothing that recent. (The embedded broker answers offset 0 instead, and
            # compares with the time it received the records: reading more is harmless.)
            at = found.get(tp)
            consumer.seek(tp, at.offset if at is not None else ends[tp])
        return ends

    @staticmethod
    async def _reached(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return False
        return True

    def _apply(self, record: ConsumerRecord) -> None:
        revoked = decode_session_revoked(record)
        if revoked is not None and self.revoked.add(revoked.session_id, revoked.tokens_valid_until):
            log.debug("session revoked: its tokens are refused", extra={"sid": revoked.session_id})
