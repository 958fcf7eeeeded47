"""E-mail delivery: drains the ``emails`` outbox to the mailer, with retries and backoff.

A background job (:meth:`EmailDelivery.run`). Wakes when an e-mail is queued (NOTIFY
``chorus_emails``) and otherwise polls. Each e-mail is claimed with ``FOR UPDATE SKIP
LOCKED`` and sent inside that transaction, so several replicas never send the same row; an
attempt is recorded either way. A crash between the SMTP acceptance and the commit makes the
e-mail go again, with the same Message-ID. A sealed link token is opened right before sending;
one that does not open, or a permanent delivery error, marks the e-mail FAILED at once; other
failures are retried after the :class:`RetryPolicy` delay, until it gives up (FAILED).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from chorus_platform.sealing import SealedBoxError
from chorus_platform.unit_of_work import UnitOfWork

from chorus_notifications.domain.delivery import OutgoingEmail, PermanentDeliveryError, RetryPolicy
from chorus_notifications.store import emails
from chorus_notifications.usecases.sealing_keys import SealingKeyRing

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
    async def send(self, email: OutgoingEmail) -> None:
        """Delivers ``email``; raises PermanentDeliveryError when it never can be, any other
        exception when it was not delivered this time."""


class EmailDelivery:
    """Sends due e-mails through ``mailer``; ``listen_dsn`` is the database the wake-ups
    (NOTIFY) are listened to on, ``poll_seconds`` the longest sleep without one."""

    def __init__(
        self,
        uow: UnitOfWork,
        mailer: Mailer,
        keys: SealingKeyRing,
        retries: RetryPolicy,
        *,
        listen_dsn: str,
        poll_seconds: float,
    ) -> None:
        self._uow = uow
        self._mailer = mailer
        self._keys = keys
        self._policy = retries
        self._dsn = listen_dsn
        self._poll_seconds = poll_seconds
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
        async with emails.listening(self._dsn, self._wakeup.set):
            while True:
                self._wakeup.clear()
                await self.send_due()
                async with self._uow.reading() as conn:
                    due_in = await emails.seconds_until_next_due(conn)
                timeout = self._poll_seconds if due_in is None else min(due_in, self._poll_seconds)
                # asyncio.timeout, not wait_for: on 3.11 wait_for drops a cancellation that
                # arrives as the event is set, and shutdown would then hang.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wakeup.wait()

    async def send_due(self) -> int:
        """Attempts every e-mail due now; returns how many attempts were made."""
        attempts = 0
        while await self._attempt_next():
            attempts += 1
            _reraise_swallowed_cancellation()
        return attempts

    async def _attempt_next(self) -> bool:
        async with self._uow.transaction() as tx:
            conn = tx.conn
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
