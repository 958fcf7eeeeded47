"""Invoice digests: invoice events kept for users who chose an hourly or daily digest, and the
job that e-mails each such user one digest per period (``domain/digests.py``).

**Keeping.** An invoice e-mail (status change, invoice received or completed) for a user whose
frequency is not IMMEDIATE becomes a ``digest_entries`` row, stamped with the digest clock, in
the consumer's transaction (once per event, user and kind, like the e-mail it replaces); a
kind the user switched off is neither e-mailed nor kept. The feed item is added at once as
for everyone.

**Sending.** :meth:`DigestJob.run` wakes every ``poll_seconds``; for each user with entries
from a period that is over (the hour, the Paris day; every entry for a user back to
IMMEDIATE), one transaction takes the user's digest lock (a replica running at the same time
skips that user), renders one e-mail per period, queues it in the e-mail outbox (which sends
it once, with retries) and marks the entries with that e-mail's event id. The e-mail and the
marks commit together, so a crash or restart before the commit leaves the entries for the
next run and one after it has nothing left to send: one e-mail per user per period. An
entry whose transaction committed after its period's digest went (a handler stamped just
before the hour, committed just after) gets a digest of its own at the next run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from chorus_platform.unit_of_work import Transaction, UnitOfWork

from chorus_notifications.domain import digests as rules
from chorus_notifications.domain import links
from chorus_notifications.domain.digests import DigestFrequency
from chorus_notifications.domain.preferences import EmailSetting
from chorus_notifications.domain.recipients import Recipient
from chorus_notifications.rendering import render_email
from chorus_notifications.store import digests, emails, recipients

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class InvoiceDigests:
    """Decides, at event time, whether an invoice e-mail waits for a digest."""

    def __init__(self, clock: Clock = system_clock) -> None:
        self._clock = clock

    async def keep_for_digest(
        self,
        tx: Transaction,
        *,
        event_id: str,
        user_id: str,
        setting: EmailSetting,
        kind: str,
        invoice_id: str,
        number: str,
        status: str,
        comment: str = "",
    ) -> bool:
        """True when the user's ``setting`` puts ``kind`` in a digest (or nowhere: switched
        off): the caller then queues no e-mail. False: e-mail it now, as usual."""
        if not rules.is_digested(kind) or setting.frequency is DigestFrequency.IMMEDIATE:
            return False
        if setting.enabled:
            await digests.add_entry(
                tx.conn,
                user_id=user_id,
                event_id=event_id,
                kind=kind,
                invoice_id=invoice_id,
                number=number,
                status=status,
                comment=comment,
                queued_at=self._clock(),
            )
        return True


class DigestJob:
    """Sends the digests that are due (see the module's docstring); ``clock`` tells the time
    (tests move it), links point into the portal at ``portal_url``."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        portal_url: str,
        clock: Clock = system_clock,
        poll_seconds: float = 30.0,
        users_per_round: int = 500,
    ) -> None:
        self._uow = uow
        self._portal_url = portal_url
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._users_per_round = users_per_round

    async def run(self) -> None:
        """Sends due digests every ``poll_seconds`` until cancelled; survives failures."""
        while True:
            try:
                await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("digest run interrupted; retrying", exc_info=True)
            await asyncio.sleep(self._poll_seconds)

    async def send_due(self) -> int:
        """Queues every digest due now; returns how many e-mails were queued."""
        now = self._clock()
        queued = 0
        while True:
            async with self._uow.reading() as conn:
                users = await digests.users_due(
                    conn,
                    hour_start=rules.period_start(DigestFrequency.HOURLY, now),
                    day_start=rules.period_start(DigestFrequency.DAILY, now),
                    limit=self._users_per_round,
                )
            sent_now = 0
            for user_id in users:
                sent_now += await self._send_for(user_id, now)
            queued += sent_now
            if len(users) < self._users_per_round or not sent_now:
                return queued

    async def _send_for(self, user_id: str, now: datetime) -> int:
        async with self._uow.transaction() as tx:
            if not await digests.lock_user(tx.conn, user_id):
                return 0  # another replica is on it
            frequency = await digests.frequency_of(tx.conn, user_id)
            immediate = frequency is DigestFrequency.IMMEDIATE
            cutoff = now if immediate else rules.period_start(frequency, now)
            person = await recipients.get(tx.conn, user_id)
            queued = 0
            while oldest := await digests.oldest_waiting(tx.conn, user_id, before=cutoff):
                first_at, first_id = oldest
                start = first_at if immediate else rules.period_start(frequency, first_at)
                end = cutoff if immediate else rules.period_end(frequency, start)
                event_id = f"digest:{user_id}:{first_id}"
                if person is not None:  # entries are kept for known users only
                    await self._queue(tx, person, frequency, start, end, event_id)
                    queued += 1
                await digests.mark_period(
                    tx.conn, user_id, start=start, end=end, digest_event_id=event_id
                )
            return queued

    async def _queue(
        self,
        tx: Transaction,
        person: Recipient,
        frequency: DigestFrequency,
        start: datetime,
        end: datetime,
        event_id: str,
    ) -> None:
        """Queues the digest of ``person``'s entries in [start, end)."""
        invoices, count = await digests.invoices_in_period(
            tx.conn, person.user_id, start=start, end=end, limit=rules.MAX_LINES
        )
        portal = self._portal_url
        lines = [
            rules.digest_line(
                number=invoice.number,
                status=invoice.status,
                received=invoice.received,
                comment=invoice.comment,
                invoice_url=links.absolute(portal, links.invoice_path(invoice.invoice_id)),
                locale=person.locale,
            )
            for invoice in invoices
        ]
        draft = rules.digest_email(
            first_name=person.first_name,
            frequency=frequency,
            start=start,
            lines=lines,
            invoice_count=count,
            invoices_url=links.absolute(portal, links.INVOICES_PATH),
            locale=person.locale,
        )
        email_id = await emails.enqueue(
            tx.conn,
            event_id=event_id,
            recipient_address=person.contact_email,
            user_id=person.user_id,
            content=render_email(draft),
        )
        log.info(
            "digest queued",
            extra={"email_id": email_id, "invoices": count, "frequency": str(frequency)},
        )
