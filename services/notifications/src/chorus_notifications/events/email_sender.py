"""The e-mail sender: drains the ``emails`` outbox to SMTP, with retries and backoff.

Wakes on NOTIFY ``chorus_emails`` (sent when a handler queues an e-mail) and otherwise polls.
Each e-mail is claimed with ``FOR UPDATE SKIP LOCKED`` and sent inside that transaction, so
several replicas never send the same row; an attempt is recorded either way. A crash between
the SMTP acceptance and the commit makes the e-mail go again, with the same Message-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

import asyncpg
from chorus_platform.sealing import SealedBoxError

from chorus_notifications.clients.smtp import PermanentDeliveryError
from chorus_notifications.config import NotificationsSettings
from chorus_notifications.domain.delivery import OutgoingEmail, RetryPolicy
from chorus_notifications.events.sealing import SealingKeyRing
from chorus_notifications.store import emails

log = logging.getLogger(__name__)


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
    async def send(self, email: OutgoingEmail) -> None: ...


class EmailSender:
    """Background job (:meth:`run`) sending due e-mails through ``mailer``."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: NotificationsSettings,
        mailer: Mailer,
        keys: SealingKeyRing | None = None,
    ) -> None:
        self._pool = pool
        self._keys = keys or SealingKeyRing(pool)
        self._dsn = settings.database_dsn
        self._mailer = mailer
        self._poll_seconds = settings.email_poll_seconds
        self._policy = RetryPolicy(
            max_attempts=settings.email_max_attempts,
            base_seconds=settings.email_backoff_seconds,
            cap_seconds=settings.email_backoff_max_seconds,
        )
        self._wakeup = asyncio.Event()

    async def run(self) -> None:
        """Sends until cancelled; survives database outages by reconnecting."""
        while True:
            try:
                await self._listen_and_send()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("email sender interrupted; retrying", exc_info=True)
                await asyncio.sleep(self._poll_seconds)

    async def _listen_and_send(self) -> None:
        listener = await asyncpg.connect(self._dsn)
        try:
            await listener.add_listener(emails.NOTIFY_CHANNEL, lambda *_: self._wakeup.set())
            while True:
                self._wakeup.clear()
                await self.send_due()
                async with self._pool.acquire() as conn:
                    due_in = await emails.seconds_until_next_due(conn)
                timeout = self._poll_seconds if due_in is None else min(due_in, self._poll_seconds)
                # asyncio.timeout, not wait_for: on 3.11 wait_for drops a cancellation that
                # arrives as the event is set, and shutdown would then hang.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wakeup.wait()
        finally:
            with contextlib.suppress(Exception):
                await listener.close()

    async def send_due(self) -> int:
        """Attempts every e-mail due now; returns how many attempts were made."""
        attempts = 0
        while await self._attempt_next():
            attempts += 1
            _reraise_swallowed_cancellation()
        return attempts

    async def _attempt_next(self) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            email = await emails.claim_next_due(conn)
            if email is None:
                return False
            # Logs carry ids and kinds only: bodies may hold secrets (activation links).
            context = {"email_id": email.id, "kind": email.kind, "attempt": email.attempts + 1}
            if email.sealed is not None:
                try:
                    email = email.with_secret(await self._keys.open(email.sealed))
                except SealedBoxError:
                    # Not ours or altered: no retry will open it.
                    error = "SealedBoxError: the sealed link token does not open"
                    await emails.record_failure(conn, email.id, error=error, retry_in_seconds=None)
                    log.error("email failed; giving up", extra={**context, "error": error})
                    return True
            try:
                await self._mailer.send(email)
            except Exception as exc:
                retry_in = (
                    None
                    if isinstance(exc, PermanentDeliveryError)
                    else self._policy.delay_after(email.attempts + 1)
                )
                error = f"{type(exc).__name__}: {exc}"[:1000]
                await emails.record_failure(conn, email.id, error=error, retry_in_seconds=retry_in)
                if retry_in is None:
                    log.error("email failed; giving up", extra={**context, "error": error})
                else:
                    log.warning(
                        "email not sent; will retry",
                        extra={**context, "error": error, "retry_in_seconds": retry_in},
                    )
            else:
                await emails.record_sent(conn, email.id)
                log.info("email sent", extra=context)
        return True
