"""Every way a session ends publishes one SessionRevoked per session, in the transaction that
revokes it; ListRevokedSessions lists the sessions whose tokens may still be valid; identity's
own deny-list refuses their tokens on every authenticated RPC."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import jwt
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_identity.main import create_app
from chorus_identity.usecases.admin import grant_admin
from chorus_platform import grpc_client, grpc_server
from chorus_platform.db import create_pool
from chorus_platform.revocation import RevocationList
from chorus_platform.rpc_status import from_rpc_error
from chorus_platform.settings import ChorusSettings
from google.protobuf.timestamp_pb2 import Timestamp

from .conftest import notifications_public_key, open_token, own_unit_of_work

NEW_PASSWORD = "Tartiflette-Reblochon-74"
TTL = timedelta(seconds=900)


def sid_of(tokens: pb.TokenPair) -> str:
    return jwt.decode(tokens.access_token, options={"verify_signature": False})["sid"]


async def revocations(flows, user_id: str) -> list[ev.SessionRevoked]:
    return await flows.events(ev.SessionRevoked, user_id)


async def assert_published_as_revoked(flows, user_id: str, sessions: set[str], reason: int):
    """Exactly one event per session, with the reason and times of its database row."""
    events = await revocations(flows, user_id)
    assert sorted(e.session_id for e in events) == sorted(sessions)
    for event in events:
        row = await flows.db.fetchrow(
            "SELECT revoked_at, revoked_reason FROM sessions WHERE id = $1",
            uuid.UUID(event.session_id),
        )
        assert event.user_id == user_id and event.reason == reason
        assert event.revoked_at.ToDatetime(UTC) == row["revoked_at"]
        assert event.tokens_valid_until.ToDatetime(UTC) == row["revoked_at"] + TTL


async def test_logout_publishes_the_session_once(flows, stub):
    user = await flows.active_user()
    tokens = await flows.tokens(user.login_email)
    await flows.tokens(user.login_email)  # another session, left alone

    await stub.RevokeSession(pb.RevokeSessionRequest(refresh_token=tokens.refresh_token))
    await stub.RevokeSession(pb.RevokeSessionRequest(refresh_token=tokens.refresh_token))

    await assert_published_as_revoked(
        flows, user.id, {sid_of(tokens)}, ev.SESSION_REVOCATION_REASON_LOGOUT
    )


async def test_refresh_token_reuse_publishes_the_whole_session(flows, stub):
    user = await flows.active_user()
    first = await flows.tokens(user.login_email)
    await stub.RefreshSession(pb.RefreshSessionRequest(refresh_token=first.refresh_token))

    reused = await flows.error(
        stub.RefreshSession(pb.RefreshSessionRequest(refresh_token=first.refresh_token))
    )

    assert reused.reason == "REFRESH_TOKEN_INVALID"
    await assert_published_as_revoked(
        flows, user.id, {sid_of(first)}, ev.SESSION_REVOCATION_REASON_REFRESH_TOKEN_REUSE
    )


async def test_revoking_one_of_my_sessions_publishes_it(flows, stub):
    user = await flows.active_user()
    mine = await flows.tokens(user.login_email)
    other = await flows.tokens(user.login_email)

    await stub.RevokeMySession(
        pb.RevokeMySessionRequest(session_id=sid_of(other)),
        metadata=flows.bearer(mine.access_token),
    )

    await assert_published_as_revoked(
        flows, user.id, {sid_of(other)}, ev.SESSION_REVOCATION_REASON_REVOKED_BY_USER
    )


async def test_password_change_publishes_every_other_session_and_keeps_the_current(flows, stub):
    user = await flows.active_user()
    current = await flows.tokens(user.login_email)
    others = [await flows.tokens(user.login_email) for _ in range(2)]

    await stub.ChangePassword(
        pb.ChangePasswordRequest(current_password=flows.password, new_password=NEW_PASSWORD),
        metadata=flows.bearer(current.access_token),
    )

    await assert_published_as_revoked(
        flows,
        user.id,
        {sid_of(t) for t in others},
        ev.SESSION_REVOCATION_REASON_PASSWORD_CHANGED,
    )
    me = await stub.GetMe(pb.GetMeRequest(), metadata=flows.bearer(current.access_token))
    assert me.user.id == user.id


async def test_password_reset_publishes_every_session(flows, stub):
    user = await flows.active_user()
    sessions = [await flows.tokens(user.login_email) for _ in range(3)]
    await stub.RequestPasswordReset(pb.RequestPasswordResetRequest(login_email=user.login_email))
    [link] = await flows.events(ev.PasswordResetRequested, user.id)

    await stub.ConfirmPasswordReset(
        pb.ConfirmPasswordResetRequest(
            token=open_token(link), secret_answer="Minou", password=NEW_PASSWORD
        )
    )

    await assert_published_as_revoked(
        flows, user.id, {sid_of(t) for t in sessions}, ev.SESSION_REVOCATION_REASON_PASSWORD_RESET
    )


async def test_deactivation_publishes_every_session(flows, stub):
    user = await flows.active_user()
    sessions = [await flows.tokens(user.login_email) for _ in range(2)]

    await stub.DeactivateMe(
        pb.DeactivateMeRequest(current_password=flows.password),
        metadata=flows.bearer(sessions[0].access_token),
    )

    await assert_published_as_revoked(
        flows, user.id, {sid_of(t) for t in sessions}, ev.SESSION_REVOCATION_REASON_DEACTIVATED
    )


async def test_admin_disabling_publishes_every_session_once(flows, stub, identity_settings):
    admin = await flows.active_user()
    async with own_unit_of_work(identity_settings) as uow:
        await grant_admin(uow, admin.login_email)
    admin_auth = flows.bearer((await flows.tokens(admin.login_email)).access_token)
    user = await flows.active_user()
    sessions = [await flows.tokens(user.login_email) for _ in range(2)]
    request = pb.DisableUserRequest(user_id=user.id, reason="fraude")

    await stub.DisableUser(request, metadata=admin_auth)
    await stub.DisableUser(request, metadata=admin_auth)  # idempotent: nothing more revoked

    await assert_published_as_revoked(
        flows,
        user.id,
        {sid_of(t) for t in sessions},
        ev.SESSION_REVOCATION_REASON_DISABLED_BY_ADMIN,
    )


# --- ListRevokedSessions --------------------------------------------------------------------


async def all_revoked(stub, **request) -> list[pb.RevokedSession]:
    found, token = [], ""
    while True:
        page = await stub.ListRevokedSessions(
            pb.ListRevokedSessionsRequest(page_token=token, **request)
        )
        found += page.sessions
        token = page.next_page_token
        if not token:
            return found


async def test_revoked_sessions_are_listed_without_a_token_in_order_and_by_pages(
    isolated_flows,
):
    flows, stub = isolated_flows, isolated_flows.stub
    user = await flows.active_user()
    live = await flows.tokens(user.login_email)
    ended = []
    for _ in range(3):
        tokens = await flows.tokens(user.login_email)
        await stub.RevokeSession(pb.RevokeSessionRequest(refresh_token=tokens.refresh_token))
        ended.append(sid_of(tokens))

    first = await stub.ListRevokedSessions(pb.ListRevokedSessionsRequest(page_size=2))
    listed = await all_revoked(stub, page_size=2)

    assert len(first.sessions) == 2 and first.next_page_token
    assert [s.session_id for s in listed] == ended  # oldest revocation first
    assert sid_of(live) not in {s.session_id for s in listed}
    for session in listed:
        revoked_at = session.revoked_at.ToDatetime(UTC)
        assert session.tokens_valid_until.ToDatetime(UTC) == revoked_at + TTL
    # Public: it names sessions, never their users.
    assert set(pb.RevokedSession.DESCRIPTOR.fields_by_name) == {
        "session_id",
        "revoked_at",
        "tokens_valid_until",
    }


async def test_sessions_revoked_longer_ago_than_a_token_lifetime_are_not_listed(isolated_flows):
    flows, stub = isolated_flows, isolated_flows.stub
    user = await flows.active_user()
    old, recent = [await flows.tokens(user.login_email) for _ in range(2)]
    for tokens in (old, recent):
        await stub.RevokeSession(pb.RevokeSessionRequest(refresh_token=tokens.refresh_token))
    await flows.db.execute(
        "UPDATE sessions SET revoked_at = now() - interval '901 seconds' WHERE id = $1",
        uuid.UUID(sid_of(old)),
    )

    everything = await all_revoked(stub)
    since = Timestamp()
    since.FromDatetime(datetime.now(UTC) + timedelta(seconds=5))
    none_yet = await all_revoked(stub, revoked_since=since)

    assert [s.session_id for s in everything] == [sid_of(recent)]
    assert none_yet == []


async def test_a_bad_page_token_size_or_moment_is_refused(flows, stub):
    for request, reason in (
        (pb.ListRevokedSessionsRequest(page_token="pas-un-jeton"), "PAGE_TOKEN_INVALID"),
        (pb.ListRevokedSessionsRequest(page_token="MjAyNnxub24="), "PAGE_TOKEN_INVALID"),
        (pb.ListRevokedSessionsRequest(page_size=-1), "PAGE_SIZE_INVALID"),
        (
            pb.ListRevokedSessionsRequest(revoked_since=Timestamp(seconds=10**12)),
            "TIMESTAMP_INVALID",
        ),
    ):
        error = await flows.error(stub.ListRevokedSessions(request))
        assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)


# --- identity's own deny-list ---------------------------------------------------------------


async def test_identity_refuses_a_revoked_token_on_rpcs_without_a_session_check(flows, stub):
    viewer = await flows.active_user()
    tokens = await flows.tokens(viewer.login_email)
    auth = flows.bearer(tokens.access_token)
    lookup = pb.GetUserRequest(user_id=viewer.id)
    assert (await stub.GetUser(lookup, metadata=auth)).user.id == viewer.id

    await stub.RevokeSession(pb.RevokeSessionRequest(refresh_token=tokens.refresh_token))

    # GetUser reads no session: the deny-list, fed through the broker, refuses it.
    async with asyncio.timeout(15):
        while True:
            try:
                await stub.GetUser(lookup, metadata=auth)
            except grpc.aio.AioRpcError as error:
                refused = from_rpc_error(error)
                break
            await asyncio.sleep(0.05)
    assert (refused.code, refused.reason) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_REVOKED")


async def test_another_service_primes_its_deny_list_with_list_revoked_sessions(isolated_flows):
    flows, stub = isolated_flows, isolated_flows.stub
    user = await flows.active_user()
    ended, live = [await flows.tokens(user.login_email) for _ in range(2)]
    await stub.RevokeSession(pb.RevokeSessionRequest(refresh_token=ended.refresh_token))
    # A second replica on the same database, whose address a service would be given.
    pool = await create_pool(flows.settings.database_dsn, max_size=2)
    structures = grpc_client.open_channel("127.0.0.1:1", 5)  # not called here
    app = await create_app(
        flows.settings, pool, sealing_key_source=notifications_public_key, structures=structures
    )
    app.grace_seconds = 0.5
    replica = await grpc_server.start(app)
    try:
        service = ChorusSettings(identity_addr=f"127.0.0.1:{replica.port}")
        source = grpc_client.identity_revoked_sessions(service)
        primed = await source(None)
        nothing_newer = await source(time.time() + 5)
    finally:
        await replica.stop()
        await structures.close()
        await pool.close()

    revoked = RevocationList()
    for session in primed:
        revoked.add(session.session_id, session.tokens_valid_until)
    assert revoked.is_revoked(sid_of(ended)) and not revoked.is_revoked(sid_of(live))
    assert nothing_newer == []
