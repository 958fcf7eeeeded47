"""E-mail delivery: drains the ``emails`` outbox to the mailer, with retries and backoff.

A background job (:meth:`EmailDelivery.run`). Wakes when an e-mail is queued (NOTIFY
``chorus_emails``) and otherwise polls. Each e-mail goes through three steps, each its own
transaction or none:

1. **claim**: the oldest due ``PENDING`` rows (up to ``batch_size``, in one transaction) are
   taken with ``FOR UPDATE SKIP LOCKED`` (replicas never take the same row) and committed
   ``SENDING``, with this sender's id and each e-mail's Message-ID (``<email id@domain of
   CHORUS_MAIL_FROM>``, fixed at the first claim: the same on every attempt);
2. **send**, outside any transaction, one e-mail after the other over the mailer's one SMTP
   connection (kept open between e-mails and batches): nothing that fails afterwards can roll
   the SMTP acceptance back;
3. **record** the outcome (``SENT``; or the failure, retried after the :class:`RetryPolicy`
   delay, ``FAILED`` when it gives up or the error is permanent). The record is retried until
   the database takes it, for as long as the process runs: an accepted e-mail is never sent
   again because its record failed (PostgreSQL restarting, say). On shutdown it is given
   :data:`RECORD_GRACE_SECONDS` more.

Each e-mail of a batch is recorded as soon as its own attempt ends, before the next one is
sent: a connection that breaks mid-batch fails only the e-mail being sent (retried after its
backoff, never marked sent), and the next ones go over a new connection. A sender stopping
mid-batch puts the claims it has not handed to SMTP back to ``PENDING`` (no attempt counted);
one that dies (killed) leaves them ``SENDING`` for the takeover below, which cannot tell them
from the one in flight: they are sent after ``takeover_seconds``, once, each with an attempt
of unknown outcome in its history.

Only one case can send an e-mail twice: the sender goes away (crash, kill, a shutdown that
could not record within the grace) after the SMTP server accepted it and before the record.
The row is then still ``SENDING`` under a sender that no longer exists. Each sender holds a
PostgreSQL session advisory lock on its id while it lives (on its listening connection); a
sender that has been connected for ``takeover_seconds`` and finds another's lock free puts
that sender's ``SENDING`` e-mails back to ``PENDING`` with an attempt of unknown outcome
(``email_attempts.ok`` NULL), and they are sent again — with the same Message-ID, so the
recipient's mail system can recognise the copy. ``takeover_seconds`` is what keeps a live
sender's e-mail from being taken after a PostgreSQL restart (every lock drops): a live sender
records within a second or two of the database's return, long before that.

A sealed link token is opened right before sending; one that does not open marks the e-mail
FAILED at once. Logs carry ids and kinds only (bodies may hold a link token; no addresses).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Protocol

from chorus_platform.metrics import LastValues, poll_every
from chorus_platform.sealing import SealedBoxError
from chorus_platform.unit_of_work import UnitOfWork
from opentelemetry import metrics

from chorus_notifications.domain.delivery import OutgoingEmail, PermanentDeliveryError, RetryPolicy
from chorus_notifications.store import emails
from chorus_notifications.usecases.sealing_keys import SealingKeyRing

log = logging.getLogger(__name__)

DEFAULT_TAKEOVER_SECONDS = 30.0
DEFAULT_BATCH_SIZE = 50
RECORD_GRACE_SECONDS = 5.0
RECORD_RETRY_FIRST_SECONDS = 0.1
RECORD_RETRY_MAX_SECONDS = 2.0
OUTCOME_UNKNOWN = (
    "outcome unknown: its sender went away between the SMTP attempt and its record;"
    " sent again with the same Message-ID"
)

_meter = metrics.get_meter("chorus_notifications.emails")
_sent = _meter.create_counter(
    "chorus.emails.sent",
    unit="{email}",
    description="E-mails the SMTP server accepted, by template (the e-mail's kind).",
)
_failed = _meter.create_counter(
    "chorus.emails.failed",
    unit="{email}",
    description="Attempts at sending an e-mail that failed (retried later or given up), by"
    " template.",
)
_pending = LastValues(
    _meter, "chorus.emails.pending", description="E-mails queued and not sent yet."
)
_PENDING_EVERY_SECONDS = 5.0


def _reraise_swallowed_cancellation() -> None:
    """Raises CancelledError if this task was cancelled and a library swallowed it.

    aiosmtplib can return normally from a send cancelled during QUIT; without this check the
    loop would go on and shutdown would wait for it forever. Checked after the attempt was
    recorded, so a sent e-mail is not sent again.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Mailer(Protocol):
    async def send(self, email: OutgoingEmail) -> None:
        """Delivers ``email`` with its ``message_id``; returns once the server accepted it (a
        failure after that, closing the connection, is not raised); raises
        PermanentDeliveryError when it never can be, any other exception when it was not
        delivered this time."""

    async def close(self) -> None:
        """Closes what the mailer keeps open between e-mails (the sender is stopping)."""


class EmailDelivery:
    """Sends due e-mails through ``mailer``; ``listen_dsn`` is the database the wake-ups
    (NOTIFY) are listened to on, ``poll_seconds`` the longest sleep without one,
    ``message_id_domain`` the right-hand side of the Message-IDs, ``takeover_seconds`` how
    long this sender must have been connected before it sends again what a vanished sender
    left ``SENDING``, ``batch_size`` how many due e-mails one claim takes."""

    def __init__(
        self,
        uow: UnitOfWork,
        mailer: Mailer,
        keys: SealingKeyRing,
        retries: RetryPolicy,
        *,
        listen_dsn: str,
        poll_seconds: float,
        message_id_domain: str = "chorus.localhost",
        takeover_seconds: float = DEFAULT_TAKEOVER_SECONDS,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self._uow = uow
        self._mailer = mailer
        self._keys = keys
        self._policy = retries
        self._dsn = listen_dsn
        self._poll_seconds = poll_seconds
        self._message_id_domain = message_id_domain
        self._takeover_seconds = takeover_seconds
        self._batch_size = batch_size
        self._wakeup = asyncio.Event()
        self.sender_id = str(uuid.uuid4())
        """This sender's identity in ``emails.claimed_by`` (one per EmailDelivery)."""

    async def run(self) -> None:
        """Sends until cancelled; survives database outages by reconnecting. Closes the
        mailer's connection when it stops. Measures the queue for ``chorus.emails.pending``
        meanwhile."""
        measuring = asyncio.create_task(
            poll_every(_PENDING_EVERY_SECONDS, self.measure_pending), name="emails-pending"
        )
        try:
            while True:
                try:
                    await self._listen_and_send()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("email sender interrupted; retrying", exc_info=True)
                    await asyncio.sleep(self._poll_seconds)
        finally:
            measuring.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._mailer.close(), RECORD_GRACE_SECONDS)

    async def measure_pending(self) -> int:
        """Counts the e-mails not sent yet (the ``chorus.emails.pending`` gauge)."""
        async with self._uow.reading() as conn:
            pending = await emails.count_unsent(conn)
        _pending.set(pending)
        return pending

    async def _listen_and_send(self) -> None:
        loop = asyncio.get_running_loop()
        async with emails.listening(self._dsn, self._wakeup.set, self.sender_id) as presence:
            present_since = loop.time()
            async with self._uow.transaction() as tx:
                released = await emails.release_own(tx.conn, self.sender_id)
            if released:
                log.info("unsent claims released", extra={"emails": len(released)})
            while True:
                if not presence.alive:
                    raise ConnectionError("the sender's own database connection was lost")
                self._wakeup.clear()
                if loop.time() - present_since >= self._takeover_seconds:
                    await self.take_over_abandoned()
                await self.send_due()
                async with self._uow.reading() as conn:
                    due_in = await emails.seconds_until_next_due(conn)
                timeout = self._poll_seconds if due_in is None else min(due_in, self._poll_seconds)
                # asyncio.timeout, not wait_for: on 3.11 wait_for drops a cancellation that
                # arrives as the event is set, and shutdown would then hang.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wakeup.wait()

    async def take_over_abandoned(self) -> list[str]:
        """Puts back to PENDING the SENDING e-mails of senders that are gone; returns them."""
        async with self._uow.reading() as conn:
            senders = await emails.senders_with_claims(conn, other_than=self.sender_id)
        requeued: list[str] = []
        for sender in senders:
            async with self._uow.transaction() as tx:
                found = await emails.requeue_if_gone(tx.conn, sender, error=OUTCOME_UNKNOWN)
            for email_id in found:
                log.warning(
                    "email outcome unknown (its sender went away); sending it again",
                    extra={"email_id": email_id},
                )
            requeued += found
        return requeued

    async def send_due(self) -> int:
        """Attempts every e-mail due now, a batch at a time; returns how many attempts were
        made."""
        attempts = 0
        while True:
            async with self._uow.transaction() as tx:
                batch = await emails.claim_due(
                    tx.conn, self.sender_id, self._message_id_domain, limit=self._batch_size
                )
            if not batch:
                return attempts
            attempts += await self._attempt_batch(batch)

    async def _attempt_batch(self, batch: list[OutgoingEmail]) -> int:
        """Attempts each claimed e-mail in turn; on the way out (cancelled), releases those
        not handed to the mailer yet. The one being sent when cancelled stays SENDING: its
        outcome is unknown (see the module's docstring)."""
        started = 0
        try:
            for email in batch:
                started += 1
                await self._attempt(email)
                _reraise_swallowed_cancellation()
        finally:
            if started < len(batch):
                await self._release([email.id for email in batch[started:]])
        return started

    async def _release(self, email_ids: list[str]) -> None:
        """Best effort within :data:`RECORD_GRACE_SECONDS`: claims left SENDING are sent
        again once this sender is gone (takeover), as their outcome is then unknown."""
        try:
            async with asyncio.timeout(RECORD_GRACE_SECONDS):
                async with self._uow.transaction() as tx:
                    await emails.release(tx.conn, self.sender_id, email_ids)
        except Exception:
            log.warning("unsent claims not released", extra={"emails": len(email_ids)})

    async def _attempt(self, email: OutgoingEmail) -> None:
        # Logs carry ids and kinds only: bodies may hold secrets (activation links).
        context = {"email_id": email.id, "kind": email.kind, "attempt": email.attempts + 1}
        if email.sealed is not None:
            try:
                email = email.with_secret(await self._keys.open(email.sealed))
            except SealedBoxError:
                # Not ours or altered: no retry will open it.
                error = "SealedBoxError: the sealed link token does not open"
                _failed.add(1, {"template": email.kind})
                await self._record_failure(email.id, error, None)
                log.error("email failed; giving up", extra={**context, "error": error})
                return
        try:
            await self._mailer.send(email)
        except Exception as exc:
            retry_in = (
                None
                if isinstance(exc, PermanentDeliveryError)
                else self._policy.delay_after(email.attempts + 1)
            )
            error = f"{type(exc).__name__}: {exc}"[:1000]
            _failed.add(1, {"template": email.kind})
            await self._record_failure(email.id, error, retry_in)
            if retry_in is None:
                log.error("email failed; giving up", extra={**context, "error": error})
            else:
                log.warning(
                    "email not sent; will retry",
                    extra={**context, "error": error, "retry_in_seconds": retry_in},
                )
        else:
            # Accepted by the SMTP server: from here on, only recording it.
            _sent.add(1, {"template": email.kind})
            await self._record(emails.record_sent, email.id, context=context)
            log.info("email sent", extra=context)

    async def _record_failure(self, email_id: str, error: str, retry_in: float | None) -> None:
        await self._record(
            emails.record_failure,
            email_id,
            self.sender_id,
            error=error,
            retry_in_seconds=retry_in,
            context={"email_id": email_id},
        )

    async def _record(self, write, *args, context: dict, **kwargs) -> None:
        """``write(conn, *args, **kwargs)`` in a transaction, again and again until it
        commits; cancelled (shutdown), it still gets :data:`RECORD_GRACE_SECONDS`."""
        task = asyncio.ensure_future(self._record_until_done(write, args, kwargs, context))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, RECORD_GRACE_SECONDS)
            raise

    async def _record_until_done(self, write, args: tuple, kwargs: dict, context: dict) -> None:
        delay, tries = RECORD_RETRY_FIRST_SECONDS, 0
        while True:
            try:
                async with self._uow.transaction() as tx:
                    await write(tx.conn, *args, **kwargs)
            except Exception as exc:
                tries += 1
                log.warning(
                    "email outcome not recorded yet; retrying",
                    extra={**context, "tries": tries, "error": type(exc).__name__},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECORD_RETRY_MAX_SECONDS)
            else:
                if tries:
                    log.info("email outcome recorded", extra={**context, "tries": tries + 1})
                return
