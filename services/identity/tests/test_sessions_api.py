"""Login, refresh rotation with reuse detection, logout and access-token checks over gRPC."""

import hashlib
from datetime import UTC, datetime, timedelta

import grpc
import jwt
from argon2 import PasswordHasher
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_identity.domain.access_tokens import sign_access_token
from chorus_identity.domain.signing_keys import load_private_key
from chorus_identity.store import signing_keys
from chorus_platform.key_encryption import ring_from_settings
from chorus_platform.testing.tokens import TestSigner


def refresh(stub, token: str):
    return stub.RefreshSession(pb.RefreshSessionRequest(refresh_token=token))


async def revoked_reason(db, user_id: str) -> str | None:
    """Why the user's only session was revoked (None while it is live)."""
    [row] = await db.fetch("SELECT revoked_reason FROM sessions WHERE user_id = $1", user_id)
    return row["revoked_reason"]


async def test_access_token_carries_the_agreed_claims(flows, db):
    user = await flows.active_user()

    tokens = await flows.tokens(user.login_email)

    header = jwt.get_unverified_header(tokens.access_token)
    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
    kid = await db.fetchval("SELECT kid FROM signing_keys WHERE retired_at IS NULL")
    assert header == {"alg": "EdDSA", "kid": kid, "typ": "JWT"}
    assert claims["iss"] == "chorus-identity" and claims["aud"] == "chorus"
    assert claims["sub"] == user.id
    assert claims["exp"] - claims["iat"] == 900
    session = await db.fetchrow("SELECT * FROM sessions WHERE id = $1", claims["sid"])
    assert str(session["user_id"]) == user.id
    stored = await db.fetchval(
        "SELECT token_hash FROM refresh_tokens WHERE session_id = $1", session["id"]
    )
    assert stored == hashlib.sha256(tokens.refresh_token.encode()).hexdigest()


async def test_session_records_the_client(flows, db):
    user = await flows.active_user()

    await flows.login(user.login_email, ip_address="203.0.113.7", user_agent="Firefox/140")

    row = await db.fetchrow(
        "SELECT ip_address, user_agent, revoked_at FROM sessions WHERE user_id = $1", user.id
    )
    assert (row["ip_address"], row["user_agent"], row["revoked_at"]) == (
        "203.0.113.7",
        "Firefox/140",
        None,
    )


async def test_wrong_password_unknown_email_and_pending_account_get_the_same_error(flows):
    active = await flows.active_user()
    pending = await flows.register()

    errors = [
        await flows.error(flows.login(active.login_email, "Wrong-Password-1")),
        await flows.error(flows.login(flows.new_email(), flows.password)),
        await flows.error(flows.login(pending.login_email, flows.password)),
        await flows.error(flows.login("not an email", flows.password)),
        await flows.error(flows.login(active.login_email, flows.password + "x" * 200)),
    ]

    assert {(e.code, e.reason, e.message) for e in errors} == {
        (grpc.StatusCode.UNAUTHENTICATED, "INVALID_CREDENTIALS", errors[0].message)
    }


async def test_login_upgrades_a_hash_made_with_older_argon2_parameters(flows, db):
    user = await flows.active_user()
    old = PasswordHasher(time_cost=1, memory_cost=16, parallelism=1).hash(flows.password)
    await db.execute("UPDATE credentials SET password_hash = $2 WHERE user_id = $1", user.id, old)

    await flows.tokens(user.login_email)

    upgraded = await db.fetchval(
        "SELECT password_hash FROM credentials WHERE user_id = $1", user.id
    )
    assert upgraded != old and "m=8," in upgraded
    await flows.tokens(user.login_email)


async def test_refresh_spends_the_token_and_returns_a_new_pair_in_the_same_session(flows, stub):
    user = await flows.active_user()
    first = await flows.tokens(user.login_email)

    second = (await refresh(stub, first.refresh_token)).tokens

    assert second.refresh_token != first.refresh_token
    claims = [
        jwt.decode(t.access_token, options={"verify_signature": False}) for t in (first, second)
    ]
    assert claims[0]["sid"] == claims[1]["sid"]
    assert claims[0]["jti"] != claims[1]["jti"]
    third = (await refresh(stub, second.refresh_token)).tokens
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)


async def test_reusing_a_spent_refresh_token_revokes_the_whole_session(flows, stub, db):
    user = await flows.active_user()
    stolen = await flows.tokens(user.login_email)
    legitimate = (await refresh(stub, stolen.refresh_token)).tokens

    error = await flows.error(refresh(stub, stolen.refresh_token))

    assert (error.code, error.reason) == (grpc.StatusCode.UNAUTHENTICATED, "REFRESH_TOKEN_INVALID")
    assert await revoked_reason(db, user.id) == "REFRESH_TOKEN_REUSE"
    error = await flows.error(refresh(stub, legitimate.refresh_token))
    assert error.reason == "REFRESH_TOKEN_INVALID"


async def test_other_sessions_survive_a_reuse_detection(flows, stub):
    user = await flows.active_user()
    laptop, phone = await flows.tokens(user.login_email), await flows.tokens(user.login_email)
    await refresh(stub, laptop.refresh_token)
    await flows.error(refresh(stub, laptop.refresh_token))

    assert (await refresh(stub, phone.refresh_token)).tokens.refresh_token


async def test_expired_or_unknown_refresh_tokens_are_refused(flows, stub, db):
    user = await flows.active_user()
    tokens = await flows.tokens(user.login_email)
    await db.execute(
        "UPDATE refresh_tokens SET expires_at = now() - interval '1 second'"
        " WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
        user.id,
    )

    for token in (tokens.refresh_token, "unknown", ""):
        assert (await flows.error(refresh(stub, token))).reason == "REFRESH_TOKEN_INVALID"
    assert await revoked_reason(db, user.id) is None


async def test_logout_revokes_the_session_and_is_idempotent(flows, stub, db):
    user = await flows.active_user()
    tokens = await flows.tokens(user.login_email)

    for token in (tokens.refresh_token, tokens.refresh_token, "never-issued"):
        await stub.RevokeSession(pb.RevokeSessionRequest(refresh_token=token))

    assert await revoked_reason(db, user.id) == "LOGOUT"
    error = await flows.error(refresh(stub, tokens.refresh_token))
    assert error.reason == "REFRESH_TOKEN_INVALID"


async def test_get_me_needs_a_genuine_unexpired_token(flows, stub, db):
    user = await flows.active_user()
    key = await signing_keys.get_active_key(db, ring_from_settings(flows.settings))
    forged_with_real_kid = jwt.encode(
        {"sub": user.id, "sid": "s", "jti": "j", "iat": 0, "exp": 2**31},
        TestSigner()._key,
        algorithm="EdDSA",
        headers={"kid": key.kid},
    )
    expired = sign_access_token(
        key=load_private_key(key.private_key_pem),
        kid=key.kid,
        user_id=user.id,
        session_id="s",
        now=datetime.now(UTC) - timedelta(hours=1),
        ttl=timedelta(minutes=15),
    )
    bad_tokens = [forged_with_real_kid, TestSigner().token(user.id), expired, "garbage"]

    error = await flows.error(stub.GetMe(pb.GetMeRequest()))
    assert error.code == grpc.StatusCode.UNAUTHENTICATED
    for token in bad_tokens:
        error = await flows.error(stub.GetMe(pb.GetMeRequest(), metadata=flows.bearer(token)))
        assert error.code == grpc.StatusCode.UNAUTHENTICATED, token
        assert error.reason == "TOKEN_INVALID"
