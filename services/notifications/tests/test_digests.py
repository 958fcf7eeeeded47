"""Invoice e-mail digests: periods (pure domain), the digest job on a real database with a
clock the tests move (hourly and daily windows, one e-mail per user per period, restarts and
a second replica, a user back to immediate), and the whole path on the running service
(preference over gRPC, an invoice event, the digest delivered to the SMTP catcher)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import grpc
import pytest
from chorus.invoices.events.v1 import invoices_events_pb2 as invoices_events
from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus_notifications.domain import digests as rules
from chorus_notifications.domain.digests import DigestFrequency
from chorus_notifications.domain.invoices import StatusChange
from chorus_notifications.domain.preferences import MANDATORY_KINDS
from chorus_notifications.domain.recipients import Recipient
from chorus_notifications.rendering import render_email
from chorus_notifications.store import members, recipients
from chorus_notifications.usecases.digests import DigestJob, InvoiceDigests
from chorus_notifications.usecases.invoice_notices import InvoiceNotices
from chorus_notifications.usecases.preferences import Preferences
from chorus_platform.rpc_status import from_rpc_error
from chorus_platform.unit_of_work import UnitOfWork

from .conftest import PORTAL, unique_email, wait_until
from .test_membership_notifications import registered

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# -- periods and wording (pure) ----------------------------------------------------------------


def test_an_hourly_period_is_the_hour_and_a_daily_one_the_paris_day():
    moment = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)  # 00:30 on 8 December in Paris
    assert rules.period_start(DigestFrequency.HOURLY, moment) == datetime(
        2026, 12, 7, 23, 0, tzinfo=UTC
    )
    assert rules.period_start(DigestFrequency.DAILY, moment) == paris(2026, 12, 8)


def test_a_day_when_the_clocks_change_lasts_23_or_25_hours():
    spring, autumn = paris(2026, 3, 29), paris(2026, 10, 25)
    assert rules.period_end(DigestFrequency.DAILY, spring) - spring == timedelta(hours=23)
    assert rules.period_end(DigestFrequency.DAILY, autumn) - autumn == timedelta(hours=25)


def test_account_security_emails_are_never_digested():
    assert not any(rules.is_digested(kind) for kind in MANDATORY_KINDS)
    assert rules.is_digested("INVOICE_STATUS_CHANGED")


def test_a_digest_reads_in_french_with_a_link_per_invoice_and_the_rest_counted():
    lines = [
        rules.digest_line(
            number="F-1",
            status="COMPLETEE",
            received=True,
            comment="",
            invoice_url=f"{PORTAL}/factures/i1",
            locale="fr",
        ),
        rules.digest_line(
            number="F-2",
            status="SUSPENDUE",
            received=False,
            comment="Pièce <b>",
            invoice_url=f"{PORTAL}/factures/i2",
            locale="fr",
        ),
    ]
    email = render_email(
        rules.digest_email(
            first_name="Zoé",
            frequency=DigestFrequency.HOURLY,
            start=paris(2026, 12, 7, 14),
            lines=lines,
            invoice_count=5,
            invoices_url=f"{PORTAL}/factures",
            locale="fr",
        )
    )
    assert email.subject == "Résumé de vos factures : 7 décembre 2026, 14 h – 15 h (5 factures)"
    assert "Bonjour Zoé" in email.text_body
    assert "- Facture n° F-1 (nouvelle facture reçue) : « complétée »" in email.text_body
    assert f"{PORTAL}/factures/i1" in email.text_body
    assert "… et 3 autres factures : consultez-les dans le portail." in email.text_body
    assert f'href="{PORTAL}/factures/i2"' in email.html_body
    assert f'href="{PORTAL}/factures"' in email.html_body
    assert "Pièce &lt;b&gt;" in email.html_body  # escaped


# -- the job on a real database ----------------------------------------------------------------


@pytest.fixture
async def pool(settings):
    pool = await asyncpg.create_pool(settings.database_dsn, min_size=1, max_size=4)
    yield pool
    await pool.close()


class Digests:
    """The invoice notices and the digest job of one service instance, on one clock."""

    def __init__(self, pool, clock: MovableClock) -> None:
        self.uow = UnitOfWork(pool, service="notifications")
        self.clock = clock
        self.notices = InvoiceNotices(portal_url=PORTAL, digests=InvoiceDigests(clock))
        self.preferences = Preferences(self.uow)

    def job(self) -> DigestJob:
        """A job as a (re)started or other replica would run it."""
        return DigestJob(self.uow, portal_url=PORTAL, clock=self.clock)

    async def person(self, first_name: str = "Zoé") -> Recipient:
        person = Recipient(str(uuid.uuid4()), unique_email(first_name.lower()), first_name, "T")
        async with self.uow.transaction() as tx:
            await recipients.upsert(tx.conn, person)
        return person

    async def status_changed(
        self, depositor: Recipient, number: str, to_status: str, *, invoice_id: str = ""
    ) -> str:
        """Handles a status change of the depositor's invoice at the clock's time."""
        invoice_id = invoice_id or str(uuid.uuid4())
        change = StatusChange(
            invoice_id=invoice_id,
            number=number,
            from_status="MISE_A_DISPOSITION",
            to_status=to_status,
            comment="",
            actor="system",
            depositor_user_id=depositor.user_id,
            recipient_structure_id="",
            supplier_structure_id="",
            service_code="",
        )
        async with self.uow.transaction() as tx:
            await self.notices.status_changed(tx, event_id=str(uuid.uuid4()), change=change)
        return invoice_id

    async def emails_of(self, person: Recipient) -> list[asyncpg.Record]:
        async with self.uow.reading() as conn:
            return await conn.fetch(
                "SELECT kind, subject, text_body FROM emails WHERE user_id = $1"
                " ORDER BY created_at",
                person.user_id,
            )


async def test_an_hourly_user_gets_one_email_for_the_hour_after_it_ends(pool):
    clock = MovableClock(paris(2026, 12, 7, 14, 5))
    digests = Digests(pool, clock)
    zoe = await digests.person()
    await digests.preferences.update(zoe.user_id, {}, DigestFrequency.HOURLY)

    first = await digests.status_changed(zoe, "F-1", "SUSPENDUE")
    clock.now = paris(2026, 12, 7, 14, 40)
    await digests.status_changed(zoe, "F-1", "REJETEE", invoice_id=first)
    clock.now = paris(2026, 12, 7, 14, 50)
    await digests.status_changed(zoe, "F-2", "SERVICE_FAIT")
    clock.now = paris(2026, 12, 7, 14, 59)
    assert await digests.job().send_due() == 0  # the hour is not over
    assert await digests.emails_of(zoe) == []  # nothing e-mailed at once either

    clock.now = paris(2026, 12, 7, 15, 0, 30)
    assert await digests.job().send_due() == 1
    assert await digests.job().send_due() == 0  # a restarted job has nothing left to send

    [email] = await digests.emails_of(zoe)
    assert email["kind"] == "INVOICE_DIGEST"
    assert email["subject"] == (
        "Résumé de vos factures : 7 décembre 2026, 14 h – 15 h (2 factures)"
    )
    assert "F-1 : « rejetée »" in email["text_body"]
    assert "F-2 : « service fait »" in email["text_body"]
    assert "suspendue" not in email["text_body"]  # the latest status only


async def test_a_daily_user_gets_one_email_per_paris_day(pool):
    clock = MovableClock(paris(2026, 12, 7, 10))
    digests = Digests(pool, clock)
    zoe = await digests.person()
    await digests.preferences.update(zoe.user_id, {}, DigestFrequency.DAILY)
    await digests.status_changed(zoe, "F-10", "SUSPENDUE")
    clock.now = paris(2026, 12, 7, 23, 30)
    await digests.status_changed(zoe, "F-11", "MANDATEE")
    clock.now = paris(2026, 12, 8, 0, 30)
    await digests.status_changed(zoe, "F-12", "REJETEE")

    clock.now = paris(2026, 12, 8, 1)
    assert await digests.job().send_due() == 1
    clock.now = paris(2026, 12, 8, 23, 59)
    assert await digests.job().send_due() == 0
    clock.now = paris(2026, 12, 9, 0, 1)
    assert await digests.job().send_due() == 1

    first, second = await digests.emails_of(zoe)
    assert first["subject"] == "Résumé quotidien de vos factures : 7 décembre 2026 (2 factures)"
    assert "F-10" in first["text_body"] and "F-11" in first["text_body"]
    assert "F-12" not in first["text_body"]
    assert second["subject"] == "Résumé quotidien de vos factures : 8 décembre 2026 (1 facture)"


async def test_two_replicas_running_at_once_send_one_email_per_user_and_period(pool):
    clock = MovableClock(paris(2026, 12, 7, 9, 15))
    digests = Digests(pool, clock)
    people = [await digests.person(f"P{i}") for i in range(5)]
    for person in people:
        await digests.preferences.update(person.user_id, {}, DigestFrequency.HOURLY)
        await digests.status_changed(person, "F-R", "SUSPENDUE")
    clock.now = paris(2026, 12, 7, 10, 1)

    sent = await asyncio.gather(*(digests.job().send_due() for _ in range(3)))

    assert sum(sent) == len(people)
    for person in people:
        assert [e["kind"] for e in await digests.emails_of(person)] == ["INVOICE_DIGEST"]


async def test_a_user_back_to_immediate_gets_what_was_waiting_then_one_email_per_event(pool):
    clock = MovableClock(paris(2026, 12, 7, 14, 10))
    digests = Digests(pool, clock)
    zoe = await digests.person()
    await digests.preferences.update(zoe.user_id, {}, DigestFrequency.HOURLY)
    await digests.status_changed(zoe, "F-W", "SUSPENDUE")

    clock.now = paris(2026, 12, 7, 14, 20)
    await digests.preferences.update(zoe.user_id, {}, DigestFrequency.IMMEDIATE)
    await digests.status_changed(zoe, "F-N", "REJETEE")
    assert await digests.job().send_due() == 1  # the waiting entry, without waiting the hour
    clock.now = paris(2026, 12, 7, 16)
    assert await digests.job().send_due() == 0

    status_email, summary = await digests.emails_of(zoe)
    assert status_email["kind"] == "INVOICE_STATUS_CHANGED"
    assert "F-N" in status_email["subject"]
    assert summary["kind"] == "INVOICE_DIGEST"
    assert summary["subject"] == "Résumé de vos factures (1 facture)"
    assert "F-W" in summary["text_body"] and "F-N" not in summary["text_body"]


async def test_a_kind_switched_off_is_neither_emailed_nor_digested(pool):
    clock = MovableClock(paris(2026, 12, 7, 14, 10))
    digests = Digests(pool, clock)
    zoe = await digests.person()
    await digests.preferences.update(
        zoe.user_id, {"INVOICE_STATUS_CHANGED": False}, DigestFrequency.DAILY
    )
    await digests.status_changed(zoe, "F-OFF", "SUSPENDUE")
    clock.now = paris(2026, 12, 9)
    assert await digests.job().send_due() == 0
    assert await digests.emails_of(zoe) == []


async def test_the_recipient_structures_members_get_new_invoices_in_their_digest(pool):
    clock = MovableClock(paris(2026, 12, 7, 8, 30))
    digests = Digests(pool, clock)
    hourly, immediate = await digests.person("Heure"), await digests.person("Vite")
    structure_id = str(uuid.uuid4())
    async with digests.uow.transaction() as tx:
        for person in (hourly, immediate):
            await members.upsert(
                tx.conn, structure_id=structure_id, user_id=person.user_id, role="UTILISATEUR"
            )
    await digests.preferences.update(hourly.user_id, {}, DigestFrequency.HOURLY)
    change = StatusChange(
        invoice_id=str(uuid.uuid4()),
        number="F-REC",
        from_status="EN_COURS_ACHEMINEMENT",
        to_status="MISE_A_DISPOSITION",
        comment="",
        actor="system",
        depositor_user_id="",
        recipient_structure_id=structure_id,
        supplier_structure_id="",
        service_code="",
    )
    async with digests.uow.transaction() as tx:
        await digests.notices.status_changed(tx, event_id=str(uuid.uuid4()), change=change)
    clock.now = paris(2026, 12, 7, 9, 0, 1)
    assert await digests.job().send_due() == 1

    assert [e["kind"] for e in await digests.emails_of(immediate)] == ["INVOICE_RECEIVED"]
    [summary] = await digests.emails_of(hourly)
    assert "F-REC (nouvelle facture reçue)" in summary["text_body"]


# -- the running service -----------------------------------------------------------------------


async def test_the_frequency_is_read_and_updated_over_grpc(service, signer):
    metadata = signer.metadata(str(uuid.uuid4()))
    initial = await service.stub.GetPreferences(pb.GetPreferencesRequest(), metadata=metadata)
    assert initial.invoice_email_frequency == pb.INVOICE_EMAIL_FREQUENCY_IMMEDIATE

    updated = await service.stub.UpdatePreferences(
        pb.UpdatePreferencesRequest(invoice_email_frequency=pb.INVOICE_EMAIL_FREQUENCY_DAILY),
        metadata=metadata,
    )
    assert updated.invoice_email_frequency == pb.INVOICE_EMAIL_FREQUENCY_DAILY
    kept = await service.stub.UpdatePreferences(
        pb.UpdatePreferencesRequest(email={"INVOICE_RECEIVED": False}), metadata=metadata
    )
    assert kept.invoice_email_frequency == pb.INVOICE_EMAIL_FREQUENCY_DAILY
    again = await service.stub.GetPreferences(pb.GetPreferencesRequest(), metadata=metadata)
    assert again.invoice_email_frequency == pb.INVOICE_EMAIL_FREQUENCY_DAILY


async def test_an_unknown_frequency_is_refused_with_a_code(service, signer):
    metadata = signer.metadata(str(uuid.uuid4()))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await service.stub.UpdatePreferences(
            pb.UpdatePreferencesRequest(invoice_email_frequency=42), metadata=metadata
        )
    error = from_rpc_error(raised.value)
    assert (error.code, error.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "DIGEST_FREQUENCY_UNKNOWN",
    )
    assert [v.field for v in error.violations] == ["invoice_email_frequency"]


async def test_an_hourly_users_invoice_event_reaches_the_mailbox_in_the_digest(
    service, events, db, signer, mail_catcher
):
    user = await registered(events, "Horace")
    await wait_until(
        lambda: db.fetchval("SELECT 1 FROM recipients WHERE user_id = $1", user.user_id)
    )
    await service.stub.UpdatePreferences(
        pb.UpdatePreferencesRequest(invoice_email_frequency=pb.INVOICE_EMAIL_FREQUENCY_HOURLY),
        metadata=signer.metadata(user.user_id),
    )
    invoice_id = str(uuid.uuid4())
    await events.publish(
        "invoices",
        invoice_id,
        invoices_events.InvoiceStatusChanged(
            invoice_id=invoice_id,
            number="F-DIGEST",
            from_status=invoices_pb.INVOICE_STATUS_MISE_A_DISPOSITION,
            to_status=invoices_pb.INVOICE_STATUS_SUSPENDUE,
            depositor_user_id=user.user_id,
            actor="system",
        ),
    )
    await wait_until(
        lambda: db.fetchval("SELECT 1 FROM digest_entries WHERE user_id = $1", user.user_id)
    )
    assert await db.fetchval("SELECT count(*) FROM emails WHERE user_id = $1", user.user_id) == 0

    # The hour is over: a job on the service's database with the clock an hour ahead.
    clock = MovableClock(datetime.now(UTC) + timedelta(hours=1))
    job = DigestJob(
        UnitOfWork(service.pool, service="notifications"), portal_url=PORTAL, clock=clock
    )
    await job.send_due()
    message = await mail_catcher.wait_for(lambda m: user.contact_email in m.envelope_to, 10)

    assert message.subject.startswith("Résumé de vos factures : ")
    assert "F-DIGEST : « suspendue »" in message.text
    assert f"{PORTAL}/factures/{invoice_id}" in message.text
    assert f'href="{PORTAL}/factures/{invoice_id}"' in message.html


async def test_a_large_digest_lists_the_first_invoices_and_counts_the_others(pool, monkeypatch):
    monkeypatch.setattr(rules, "MAX_LINES", 2)
    clock = MovableClock(paris(2026, 12, 7, 9, 1))
    digests = Digests(pool, clock)
    zoe = await digests.person()
    await digests.preferences.update(zoe.user_id, {}, DigestFrequency.DAILY)
    for n in range(5):
        clock.now += timedelta(minutes=1)
        await digests.status_changed(zoe, f"F-{n}", "MANDATEE")
    clock.now = paris(2026, 12, 8, 0, 5)
    assert await digests.job().send_due() == 1

    [email] = await digests.emails_of(zoe)
    assert "(5 factures)" in email["subject"]
    assert "F-0" in email["text_body"] and "F-1" in email["text_body"]
    assert "F-2" not in email["text_body"]
    assert "… et 3 autres factures" in email["text_body"]
    assert f"{PORTAL}/factures\n" in email["text_body"]
