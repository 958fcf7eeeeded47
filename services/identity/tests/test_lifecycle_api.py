"""Password reset, "Mon compte", lockout, two-factor authentication, admin and audit through
the real gRPC API, against a migrated database."""

from __future__ import annotations

import time
import uuid

import asyncpg
import grpc
import pyotp
import pytest
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus.identity.v1 import identity_service_pb2_grpc as pb_grpc
from chorus_identity.clients.sealing import TokenSealer
from chorus_identity.domain.errors import NotificationsUnavailable
from chorus_identity.usecases.admin import grant_admin

from .conftest import (
    STRONG_PASSWORD,
    migrated_database,
    notifications_public_key,
    open_token,
    own_unit_of_work,
    serving,
)

NEW_PASSWORD = "Tartiflette-Reblochon-74"


async def logged_in(flows, email=None):
    user = await flows.active_user(email)
    tokens = await flows.tokens(user.login_email)
    return user, flows.bearer(tokens.access_token), tokens


async def security_kinds(db, user_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT kind FROM security_events WHERE user_id = $1 ORDER BY seq", uuid.UUID(user_id)
    )
    return [row["kind"] for row in rows]


async def test_reset_link_is_sealed_needs_the_answer_and_revokes_every_session(flows, stub, db):
    user, auth, tokens = await logged_in(flows)
    await stub.RequestPasswordReset(pb.RequestPasswordResetRequest(login_email=user.login_email))
    [event] = await flows.events(ev.PasswordResetRequested, user.id)
    token = open_token(event)
    assert token.encode() not in event.SerializeToString()

    link = await stub.GetPasswordReset(pb.GetPasswordResetRequest(token=token))
    assert link.secret_question == "Nom de mon premier chat ?"
    wrong = await flows.error(
        stub.ConfirmPasswordReset(
            pb.ConfirmPasswordResetRequest(token=token, secret_answer="Rex", password=NEW_PASSWORD)
        )
    )
    assert (wrong.code, wrong.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "SECRET_ANSWER_INVALID")

    await stub.ConfirmPasswordReset(
        pb.ConfirmPasswordResetRequest(token=token, secret_answer=" MINOU ", password=NEW_PASSWORD)
    )
    refused = await flows.error(
        stub.RefreshSession(pb.RefreshSessionRequest(refresh_token=tokens.refresh_token))
    )
    assert refused.reason == "REFRESH_TOKEN_INVALID"
    revoked = await flows.error(stub.GetMe(pb.GetMeRequest(), metadata=auth))
    assert revoked.reason == "SESSION_REVOKED"
    [changed] = await flows.events(ev.PasswordChanged, user.id)
    assert changed.kind == ev.PASSWORD_CHANGE_KIND_RESET
    await flows.login(user.login_email, NEW_PASSWORD)
    again = await flows.error(stub.GetPasswordReset(pb.GetPasswordResetRequest(token=token)))
    assert again.reason == "RESET_TOKEN_INVALID"
    kinds = await security_kinds(db, user.id)
    assert kinds[-4:] == [
        "PASSWORD_RESET_REQUESTED",
        "PASSWORD_RESET_FAILED",
        "PASSWORD_RESET",
        "LOGIN_SUCCEEDED",
    ]


async def test_reset_request_is_silent_for_unknown_and_pending_accounts(flows, stub, db):
    pending = await flows.register()
    unknown = flows.new_email()
    before = await db.fetchval("SELECT count(*) FROM outbox")
    for email in (pending.login_email, unknown.upper()):
        answer = await stub.RequestPasswordReset(pb.RequestPasswordResetRequest(login_email=email))
        assert answer == pb.RequestPasswordResetResponse()
    assert await db.fetchval("SELECT count(*) FROM outbox") == before
    # Audited all the same (the same write as for a real link, and a trace of the probing).
    rows = await db.fetch(
        "SELECT user_id, details FROM security_events WHERE kind = 'PASSWORD_RESET_REQUESTED'"
        " AND details ->> 'outcome' = 'NO_ACTIVE_ACCOUNT' AND (user_id = $1 OR"
        " details ->> 'login_email' = $2) ORDER BY seq",
        uuid.UUID(pending.id),
        unknown,
    )
    assert [str(row["user_id"]) if row["user_id"] else None for row in rows] == [pending.id, None]


async def test_lockout_after_five_failures_for_known_and_unknown_addresses(flows, stub, db):
    user = await flows.active_user()
    for email in (user.login_email, flows.new_email()):
        reasons = [(await flows.error(flows.login(email, "Faux-1"))).reason for _ in range(5)]
        assert reasons == ["INVALID_CREDENTIALS"] * 4 + ["ACCOUNT_LOCKED"]
    locked = await flows.error(flows.login(user.login_email))
    assert locked.code == grpc.StatusCode.FAILED_PRECONDITION
    assert locked.reason == "ACCOUNT_LOCKED"
    assert 890 <= int(locked.metadata["retry_after_seconds"]) <= 900
    [event] = await flows.events(ev.AccountLocked, user.id)
    assert event.failed_attempts == 5

    # The lock ends at its time; then the right password works and clears the count.
    await db.execute(
        "UPDATE login_throttle SET locked_until = now() - interval '1 second'"
        " WHERE login_email = $1",
        user.login_email,
    )
    await flows.login(user.login_email)
    assert (
        await db.fetchval(
            "SELECT count(*) FROM login_throttle WHERE login_email = $1", user.login_email
        )
        == 0
    )


async def test_profile_update_and_password_change(flows, stub, db):
    user, auth, _ = await logged_in(flows)
    other = await flows.tokens(user.login_email)
    updated = await stub.UpdateMe(
        pb.UpdateMeRequest(first_name="  Camille   Anne ", phone=""), metadata=auth
    )
    assert (updated.user.first_name, updated.user.last_name) == ("Camille Anne", "Martin")
    [profile] = await flows.events(ev.UserProfileUpdated, user.id)
    assert profile.first_name == "Camille Anne"
    invalid = await flows.error(stub.UpdateMe(pb.UpdateMeRequest(last_name=" "), metadata=auth))
    assert invalid.reason == "FIELD_REQUIRED"

    personal = await flows.error(
        stub.ChangePassword(
            pb.ChangePasswordRequest(
                current_password=STRONG_PASSWORD, new_password="Camille-Anne-2026"
            ),
            metadata=auth,
        )
    )
    assert personal.reason == "PASSWORD_CONTAINS_PERSONAL_DATA"
    assert [v.field for v in personal.violations] == ["new_password"]
    await stub.ChangePassword(
        pb.ChangePasswordRequest(current_password=STRONG_PASSWORD, new_password=NEW_PASSWORD),
        metadata=auth,
    )
    await stub.GetMe(pb.GetMeRequest(), metadata=auth)  # this session lives on
    gone = await flows.error(
        stub.GetMe(pb.GetMeRequest(), metadata=flows.bearer(other.access_token))
    )
    assert gone.reason == "SESSION_REVOKED"


async def test_login_email_change_is_applied_on_confirmation_only(flows, stub):
    user, auth, _ = await logged_in(flows)
    new_email = flows.new_email()
    await stub.RequestLoginEmailChange(
        pb.RequestLoginEmailChangeRequest(
            new_login_email=new_email.upper(), current_password=STRONG_PASSWORD
        ),
        metadata=auth,
    )
    [asked] = await flows.events(ev.EmailChangeRequested, user.id)
    assert (asked.kind, asked.new_email) == (ev.EMAIL_KIND_LOGIN, new_email)
    assert (await stub.GetMe(pb.GetMeRequest(), metadata=auth)).user.login_email == user.login_email

    confirmed = await stub.ConfirmEmailChange(
        pb.ConfirmEmailChangeRequest(token=open_token(asked)), metadata=auth
    )
    assert confirmed.user.login_email == new_email
    [changed] = await flows.events(ev.LoginEmailChanged, user.id)
    assert changed.previous_login_email == user.login_email
    await flows.login(new_email)


async def test_contact_email_change_needs_the_password_and_tells_the_previous_address(
    flows, stub, db
):
    user, auth, _ = await logged_in(flows)
    new_contact = flows.new_email()
    for password in ("", "Pas-Le-Bon-Mot-2026"):
        wrong = await flows.error(
            stub.RequestContactEmailChange(
                pb.RequestContactEmailChangeRequest(
                    new_contact_email=new_contact, current_password=password
                ),
                metadata=auth,
            )
        )
        assert (wrong.code, wrong.reason) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "CURRENT_PASSWORD_INVALID",
        )
        assert [v.field for v in wrong.violations] == ["current_password"]
    assert await flows.events(ev.EmailChangeRequested, user.id) == []
    failures = await db.fetch(
        "SELECT details ->> 'reason' AS reason FROM security_events"
        " WHERE user_id = $1 AND kind = 'LOGIN_FAILED'",
        uuid.UUID(user.id),
    )
    assert [row["reason"] for row in failures] == ["WRONG_CURRENT_PASSWORD"] * 2

    await stub.RequestContactEmailChange(
        pb.RequestContactEmailChangeRequest(
            new_contact_email=new_contact, current_password=STRONG_PASSWORD
        ),
        metadata=auth,
    )
    [asked] = await flows.events(ev.EmailChangeRequested, user.id)
    assert (asked.kind, asked.new_email) == (ev.EMAIL_KIND_CONTACT, new_contact)
    assert (await stub.GetMe(pb.GetMeRequest(), metadata=auth)).user.contact_email == (
        user.contact_email
    )
    confirmed = await stub.ConfirmEmailChange(
        pb.ConfirmEmailChangeRequest(token=open_token(asked)), metadata=auth
    )
    assert confirmed.user.contact_email == new_contact
    [changed] = await flows.events(ev.ContactEmailChanged, user.id)
    assert (changed.contact_email, changed.previous_contact_email) == (
        new_contact,
        user.contact_email,
    )
    assert (changed.first_name, changed.locale) == ("Camille", "fr")


async def test_wrong_passwords_on_a_contact_email_change_lock_the_account(flows, stub):
    user, auth, _ = await logged_in(flows)

    def change(password):
        return stub.RequestContactEmailChange(
            pb.RequestContactEmailChangeRequest(
                new_contact_email=flows.new_email(), current_password=password
            ),
            metadata=auth,
        )

    reasons = [(await flows.error(change("Faux-Mot-2026"))).reason for _ in range(5)]
    assert reasons == ["CURRENT_PASSWORD_INVALID"] * 4 + ["ACCOUNT_LOCKED"]
    locked = await flows.error(change(STRONG_PASSWORD))
    assert (locked.code, locked.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ACCOUNT_LOCKED")
    assert await flows.events(ev.EmailChangeRequested, user.id) == []
    [event] = await flows.events(ev.AccountLocked, user.id)
    assert event.failed_attempts == 5


async def test_two_factor_enrolment_and_login_with_codes(flows, stub, db):
    user, auth, _ = await logged_in(flows)
    enrolment = await stub.StartTotpEnrolment(pb.StartTotpEnrolmentRequest(), metadata=auth)
    assert len(enrolment.recovery_codes) == 10
    stored = await db.fetch(
        "SELECT code_hash FROM recovery_codes WHERE user_id = $1", uuid.UUID(user.id)
    )
    assert all(code not in row["code_hash"] for row in stored for code in enrolment.recovery_codes)
    totp = pyotp.TOTP(enrolment.secret)
    step = int(time.time()) // 30
    await stub.ConfirmTotpEnrolment(
        pb.ConfirmTotpEnrolmentRequest(code=totp.at(step * 30)), metadata=auth
    )
    [changed] = await flows.events(ev.TwoFactorChanged, user.id)
    assert changed.enabled

    answer = await flows.login(user.login_email)
    assert answer.mfa_required and not answer.tokens.access_token
    complete = stub.CompleteMfaChallenge
    reused = await flows.error(
        complete(
            pb.CompleteMfaChallengeRequest(
                challenge_id=answer.mfa_challenge_id, code=totp.at(step * 30)
            )
        )
    )
    assert reused.reason == "MFA_CODE_INVALID"
    done = await complete(
        pb.CompleteMfaChallengeRequest(
            challenge_id=answer.mfa_challenge_id, code=totp.at((step + 1) * 30)
        )
    )
    assert done.tokens.access_token
    assert "RECOVERY_CODE_USED" not in await security_kinds(db, user.id)

    answer = await flows.login(user.login_email)
    code = enrolment.recovery_codes[0].replace("-", " ").upper()
    await complete(pb.CompleteMfaChallengeRequest(challenge_id=answer.mfa_challenge_id, code=code))
    assert "RECOVERY_CODE_USED" in await security_kinds(db, user.id)


async def test_admin_rpcs_need_the_admin_flag(flows, stub, db, identity_settings):
    admin, admin_auth, _ = await logged_in(flows)
    user, user_auth, _ = await logged_in(flows)
    request = pb.DisableUserRequest(user_id=user.id, reason="fraude")
    denied = await flows.error(stub.DisableUser(request, metadata=user_auth))
    assert (denied.code, denied.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ADMIN_REQUIRED")

    async with own_unit_of_work(identity_settings) as uow:
        await grant_admin(uow, admin.login_email.upper())
    disabled = await stub.DisableUser(request, metadata=admin_auth)
    assert disabled.user.status == pb.USER_STATUS_DESACTIVE
    assert (await flows.error(flows.login(user.login_email))).reason == "INVALID_CREDENTIALS"
    assert (await flows.error(stub.GetMe(pb.GetMeRequest(), metadata=user_auth))).reason == (
        "SESSION_REVOKED"
    )
    enabled = await stub.EnableUser(pb.EnableUserRequest(user_id=user.id), metadata=admin_auth)
    assert enabled.user.status == pb.USER_STATUS_ACTIF
    await flows.login(user.login_email)

    page = await stub.ListSecurityEvents(
        pb.ListSecurityEventsRequest(user_id=user.id, page_size=2), metadata=admin_auth
    )
    assert [e.kind for e in page.events] == ["LOGIN_SUCCEEDED", "ACCOUNT_ENABLED"]
    assert page.events[1].actor_id == admin.id and page.next_page_token
    rest = await stub.ListSecurityEvents(
        pb.ListSecurityEventsRequest(user_id=user.id, page_token=page.next_page_token),
        metadata=admin_auth,
    )
    assert [e.kind for e in rest.events][-1] == "ACCOUNT_REGISTERED"


async def test_registration_fails_and_stores_nothing_when_notifications_is_unreachable(
    postgres_server, kafka_broker
):
    async def unreachable() -> bytes:
        raise grpc.aio.AioRpcError(
            grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata()
        )

    settings = await migrated_database(postgres_server, kafka_broker)
    async with serving(settings, sealing_key_source=unreachable) as channel:
        stub = pb_grpc.IdentityServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await stub.RegisterAccount(
                pb.RegisterAccountRequest(
                    login_email="x@example.fr", first_name="A", last_name="B", terms_accepted=True
                )
            )
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    conn = await asyncpg.connect(settings.database_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM users") == 0
    finally:
        await conn.close()


async def test_sealer_keeps_its_last_key_when_a_refetch_fails():
    calls = []

    async def flaky() -> bytes:
        calls.append(1)
        if len(calls) > 1:
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata()
            )
        return await notifications_public_key()

    sealer = TokenSealer(flaky, cache_seconds=0)
    first = await sealer.public_key()
    assert await sealer.public_key() == first and len(calls) == 2
    with pytest.raises(NotificationsUnavailable):
        await TokenSealer(flaky, cache_seconds=0).public_key()


async def test_other_services_find_users_by_id_or_login_email(flows, stub):
    caller, auth, _ = await logged_in(flows)
    other = await flows.register()
    found = await stub.FindUserByLoginEmail(
        pb.FindUserByLoginEmailRequest(login_email=f"  {other.login_email.upper()} "), metadata=auth
    )
    assert (found.user.id, found.user.login_email) == (other.id, "")  # not the caller's
    by_id = await stub.GetUser(pb.GetUserRequest(user_id=other.id), metadata=auth)
    assert by_id.user.first_name == other.first_name
    own = await stub.GetUser(pb.GetUserRequest(user_id=caller.id), metadata=auth)
    assert own.user.login_email == caller.login_email
    for call in (
        stub.GetUser(pb.GetUserRequest(user_id=str(uuid.uuid4())), metadata=auth),
        stub.GetUser(pb.GetUserRequest(user_id="pas-un-uuid"), metadata=auth),
        stub.FindUserByLoginEmail(
            pb.FindUserByLoginEmailRequest(login_email=flows.new_email()), metadata=auth
        ),
    ):
        assert (await flows.error(call)).reason == "USER_NOT_FOUND"
    unauthenticated = await flows.error(stub.GetUser(pb.GetUserRequest(user_id=other.id)))
    assert unauthenticated.code == grpc.StatusCode.UNAUTHENTICATED
