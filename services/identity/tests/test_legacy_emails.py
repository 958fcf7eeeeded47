"""Accounts stored before login e-mails turned strict: a Unicode domain (``jean@exémple.fr``,
now ``jean@xn--exmple-cva.fr``) or accents before the @ (``solène@exemple.fr``, now refused).

The legacy rows are inserted with SQL, as the former code stored them; the service, the data
step of ``chorus-identity migrate`` and the lookups run for real on PostgreSQL.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import grpc
import pytest
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_identity.domain.accounts import (
    legacy_login_email,
    login_lookup_forms,
    normalise_login_email,
)
from chorus_identity.domain.hashing import SecretHasher
from chorus_identity.domain.secret_question import normalise_answer
from chorus_identity.main import migrate
from chorus_identity.usecases.admin import grant_admin
from chorus_identity.usecases.legacy_emails import LegacyEmailsReport, convert_legacy_emails

from .conftest import FAST_ARGON2, STRONG_PASSWORD, open_token, own_unit_of_work

OTHER_PASSWORD = "Tartiflette-Reblochon-74"
HASHER = SecretHasher(
    time_cost=FAST_ARGON2["argon2_time_cost"],
    memory_cost=FAST_ARGON2["argon2_memory_cost"],
    parallelism=FAST_ARGON2["argon2_parallelism"],
)


async def insert_legacy_account(
    db, login_email: str, *, password: str = STRONG_PASSWORD, status: str = "ACTIF"
) -> str:
    """An account row as the former code stored it (login and contact alike); its id."""
    user_id = uuid.uuid4()
    now = datetime.now(UTC)
    await db.execute(
        "INSERT INTO users (id, login_email, contact_email, first_name, last_name, status,"
        " created_at, updated_at, activated_at, terms_version, terms_accepted_at)"
        " VALUES ($1, $2, $2, 'Jean', 'Dupont', $3, $4, $4, $5, 'v1', $4)",
        user_id,
        login_email,
        status,
        now,
        now if status == "ACTIF" else None,
    )
    if status == "ACTIF":
        await db.execute(
            "INSERT INTO credentials (user_id, password_hash, password_changed_at,"
            " secret_question, secret_answer_hash, updated_at)"
            " VALUES ($1, $2, $3, 'Nom de mon premier chat ?', $4, $3)",
            user_id,
            HASHER.hash(password),
            now,
            HASHER.hash(normalise_answer("Minou")),
        )
    return str(user_id)


def mailbox(local: str = "jean") -> tuple[str, str, str]:
    """A fresh mailbox on an internationalised domain: (as typed, legacy form, ASCII form)."""
    name = f"{local}.{uuid.uuid4().hex[:8]}"
    return f"{name.title()}@Exémple.fr", f"{name}@exémple.fr", f"{name}@xn--exmple-cva.fr"


async def convert(settings) -> LegacyEmailsReport:
    """The data step of ``migrate``, run again on its own."""
    async with own_unit_of_work(settings) as uow:
        return await convert_legacy_emails(uow)


async def login_user_id(flows, email: str, password: str = STRONG_PASSWORD) -> str:
    """Logs in and answers whose session it is."""
    pair = (await flows.login(email, password)).tokens
    me = await flows.stub.GetMe(pb.GetMeRequest(), metadata=flows.bearer(pair.access_token))
    return me.user.id


async def resets_of(flows, user_id: str) -> int:
    return len(await flows.events(ev.PasswordResetRequested, user_id))


def test_lookup_forms_strict_first_then_legacy():
    assert login_lookup_forms(" Jean@Exémple.FR ") == ("jean@xn--exmple-cva.fr", "jean@exémple.fr")
    assert login_lookup_forms("jean@xn--exmple-cva.fr") == (
        "jean@xn--exmple-cva.fr",
        "jean@exémple.fr",
    )
    assert login_lookup_forms("Solène@Exemple.fr") == ("solène@exemple.fr",)
    assert login_lookup_forms("Jean@Exemple.fr") == ("jean@exemple.fr",)
    assert legacy_login_email("Solène@Exémple.fr") == "solène@exémple.fr"
    with pytest.raises(ValueError):
        normalise_login_email("solène@exemple.fr")  # storing stays strict
    with pytest.raises(ValueError):
        login_lookup_forms("pas-une-adresse")


async def test_legacy_rows_log_in_reset_and_are_told_of_a_new_registration_before_migration(
    isolated_flows,
):
    flows, db = isolated_flows, isolated_flows.db
    typed, legacy, ascii_form = mailbox()
    unicode_domain = await insert_legacy_account(db, legacy)
    accented = f"solène.{uuid.uuid4().hex[:8]}@exemple.fr"
    accented_id = await insert_legacy_account(db, accented)

    for email, user_id in (
        (typed, unicode_domain),
        (legacy, unicode_domain),
        (ascii_form, unicode_domain),
        (accented.replace("solène", "Solène"), accented_id),
    ):
        assert await login_user_id(flows, email) == user_id
        before = await resets_of(flows, user_id)
        await flows.stub.RequestPasswordReset(pb.RequestPasswordResetRequest(login_email=email))
        assert await resets_of(flows, user_id) == before + 1

    for email in (typed, ascii_form):
        # Taken in its legacy form: the same empty answer as for a new address, no second
        # account; the owner of the legacy row is told.
        answer = await flows.stub.RegisterAccount(
            pb.RegisterAccountRequest(
                login_email=email, first_name="Jean", last_name="Dupont", terms_accepted=True
            )
        )
        assert answer == pb.RegisterAccountResponse()
    audited = await db.fetch(
        "SELECT details ->> 'outcome' AS outcome FROM security_events"
        " WHERE user_id = $1 AND kind = 'EXISTING_ACCOUNT_REGISTRATION_ATTEMPTED' ORDER BY seq",
        uuid.UUID(unicode_domain),
    )
    # One notice an hour at most: the second attempt is audited, not e-mailed again.
    assert [row["outcome"] for row in audited] == ["NOTICE_SENT", "NOTICE_ALREADY_SENT"]
    [notice] = await flows.events(ev.ExistingAccountRegistrationAttempted, unicode_domain)
    assert (notice.login_email, notice.account_active) == (legacy, True)
    # Registration stays strict: accents before the @ are refused, not found as a duplicate.
    refused = await flows.error(flows.register(accented))
    assert (refused.code, refused.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "EMAIL_INVALID")
    assert await db.fetchval("SELECT count(*) FROM users") == 2

    wrong = await flows.error(flows.login(typed, OTHER_PASSWORD))
    assert wrong.reason == "INVALID_CREDENTIALS"


async def test_pending_legacy_row_gets_its_activation_link_again_and_admin_lookups_find_it(
    isolated_flows,
):
    flows, db = isolated_flows, isolated_flows.db
    typed, legacy, _ = mailbox()
    pending = await insert_legacy_account(db, legacy, status="EN_ATTENTE_ACTIVATION")
    await flows.stub.ResendActivation(pb.ResendActivationRequest(login_email=typed))
    assert len(await flows.events(ev.ActivationLinkIssued, pending)) == 1

    accented = f"solène.{uuid.uuid4().hex[:8]}@exemple.fr"
    accented_id = await insert_legacy_account(db, accented)
    async with own_unit_of_work(flows.settings) as uow:
        assert (await grant_admin(uow, accented)).id == accented_id
    auth = flows.bearer((await flows.login(accented)).tokens.access_token)
    found = await flows.stub.FindUserByLoginEmail(
        pb.FindUserByLoginEmailRequest(login_email=typed), metadata=auth
    )
    assert found.user.id == pending


async def test_migrate_rewrites_unicode_domains_keeps_accented_local_parts_and_is_idempotent(
    isolated_flows, caplog
):
    flows, db = isolated_flows, isolated_flows.db
    typed, legacy, ascii_form = mailbox()
    unicode_domain = await insert_legacy_account(db, legacy)
    accented = f"solène.{uuid.uuid4().hex[:8]}@exémple.fr"
    accented_id = await insert_legacy_account(db, accented)
    # A pending e-mail change link to a Unicode-domain address, as the former code stored it.
    await db.execute(
        "INSERT INTO account_tokens (id, user_id, purpose, token_hash, created_at, expires_at,"
        " new_email) VALUES ($1, $2, 'CONTACT_EMAIL', $3, now(), now() + interval '1 hour', $4)",
        uuid.uuid4(),
        uuid.UUID(unicode_domain),
        uuid.uuid4().hex,
        "contact@bücher.de",
    )

    with caplog.at_level(logging.INFO):
        await migrate(flows.settings)  # the command: SQL files (none left), then the data step
    row = await db.fetchrow(
        "SELECT login_email, contact_email FROM users WHERE id = $1", uuid.UUID(unicode_domain)
    )
    assert (row["login_email"], row["contact_email"]) == (ascii_form, ascii_form)
    assert (
        await db.fetchval(
            "SELECT new_email FROM account_tokens WHERE user_id = $1", uuid.UUID(unicode_domain)
        )
        == "contact@xn--bcher-kva.de"
    )
    accented_row = await db.fetchrow(
        "SELECT login_email, contact_email FROM users WHERE id = $1", uuid.UUID(accented_id)
    )
    # Accents before the @: no ASCII form, kept as stored (domain included), flagged by id.
    assert (accented_row["login_email"], accented_row["contact_email"]) == (accented, accented)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [getattr(r, "user_id", None) for r in warnings] == [accented_id]
    assert not [r for r in caplog.records if "exémple" in str(vars(r)) or "xn--" in str(vars(r))]

    again = await convert(flows.settings)
    assert again == LegacyEmailsReport(kept_with_accented_local_part=1)

    for email, user_id in ((typed, unicode_domain), (accented.upper(), accented_id)):
        assert await login_user_id(flows, email) == user_id
        before = await resets_of(flows, user_id)
        await flows.stub.RequestPasswordReset(pb.RequestPasswordResetRequest(login_email=email))
        assert await resets_of(flows, user_id) == before + 1
    users_before = await db.fetchval("SELECT count(*) FROM users")
    await flows.stub.RegisterAccount(
        pb.RegisterAccountRequest(
            login_email=legacy, first_name="Jean", last_name="Dupont", terms_accepted=True
        )
    )
    assert await db.fetchval("SELECT count(*) FROM users") == users_before  # no duplicate
    [notice] = await flows.events(ev.ExistingAccountRegistrationAttempted, unicode_domain)
    assert notice.login_email == ascii_form


async def test_colliding_legacy_row_is_left_alone_and_still_reachable(isolated_flows, caplog):
    flows, db = isolated_flows, isolated_flows.db
    typed, legacy, ascii_form = mailbox()
    old = await insert_legacy_account(db, legacy, password=STRONG_PASSWORD)
    # Registered after the strict change, before this fix: the same mailbox, a second account.
    new = await insert_legacy_account(db, ascii_form, password=OTHER_PASSWORD)

    with caplog.at_level(logging.WARNING):
        report = await convert(flows.settings)
    assert report == LegacyEmailsReport(logins_colliding=1, contacts_converted=1)
    assert (
        await db.fetchval("SELECT login_email FROM users WHERE id = $1", uuid.UUID(old)) == legacy
    )
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert (warning.user_id, warning.other_user_id) == (old, new)
    assert "xn--" not in str(vars(warning)) and "exémple" not in str(vars(warning))

    # The password tells which account of the mailbox logs in; both get their reset link.
    assert await login_user_id(flows, typed, STRONG_PASSWORD) == old
    assert await login_user_id(flows, typed, OTHER_PASSWORD) == new
    assert await login_user_id(flows, ascii_form, STRONG_PASSWORD) == old
    await flows.stub.RequestPasswordReset(pb.RequestPasswordResetRequest(login_email=typed))
    assert (await resets_of(flows, old), await resets_of(flows, new)) == (1, 1)
    wrong = await flows.error(flows.login(typed, "Mauvais-Mot-De-Passe-1"))
    assert wrong.reason == "INVALID_CREDENTIALS"
    assert await convert(flows.settings) == LegacyEmailsReport(logins_colliding=1)


async def test_login_email_change_to_a_legacy_accounts_mailbox_is_refused(isolated_flows):
    flows, db = isolated_flows, isolated_flows.db
    typed, legacy, ascii_form = mailbox()
    await insert_legacy_account(db, legacy)
    user = await flows.active_user()
    auth = flows.bearer((await flows.tokens(user.login_email)).access_token)
    await flows.stub.RequestLoginEmailChange(
        pb.RequestLoginEmailChangeRequest(new_login_email=typed, current_password=STRONG_PASSWORD),
        metadata=auth,
    )
    [asked] = await flows.events(ev.EmailChangeRequested, user.id)
    assert asked.new_email == ascii_form  # stored strict, as ever
    taken = await flows.error(
        flows.stub.ConfirmEmailChange(
            pb.ConfirmEmailChangeRequest(token=open_token(asked)), metadata=auth
        )
    )
    assert (taken.code, taken.reason) == (grpc.StatusCode.ALREADY_EXISTS, "ACCOUNT_ALREADY_EXISTS")
    assert await db.fetchval("SELECT login_email FROM users WHERE id = $1", user.id) == (
        user.login_email
    )
