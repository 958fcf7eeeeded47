"""Secrets at rest: signing keys and TOTP seeds encrypted under CHORUS_KEK, on a real database.

Each test has its own database (the KEK is service-wide state). The service runs through
``create_app`` as in ``serve``; ``rewrap-keys`` and ``serve`` run as the installed command.
"""

import asyncio
import base64
import os
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import grpc
import pyotp
import pytest
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_identity.main import SECRETS_AT_REST, create_app
from chorus_identity.store import signing_keys
from chorus_identity.store import two_factor as factors
from chorus_platform import grpc_client
from chorus_platform.auth import TokenVerifier
from chorus_platform.db import create_pool
from chorus_platform.grpc_client import identity_key_fetcher
from chorus_platform.key_encryption import (
    FORMAT,
    KekNotInRing,
    KekRing,
    SecretUnreadable,
    kek_id_of,
    kek_ids_in_use,
)
from pydantic import SecretStr

from .conftest import Flows, migrated_database, notifications_public_key, serving

KEYS = {name: os.urandom(32) for name in ("k1", "k2", "k3")}


def kek(*ids: str) -> str:
    """A CHORUS_KEK value: the named test keys, the first one encrypting."""
    return ",".join(f"{i}:{base64.b64encode(KEYS[i]).decode()}" for i in ids)


def with_kek(settings, *ids: str):
    return settings.model_copy(update={"kek": SecretStr(kek(*ids))})


@pytest.fixture
async def database(postgres_server, kafka_broker):
    """Settings of a new migrated database (no KEK yet) and a connection to it."""
    settings = await migrated_database(postgres_server, kafka_broker)
    conn = await asyncpg.connect(settings.database_dsn)
    yield settings, conn
    await conn.close()


async def chorus_identity(
    settings, *args: str, kek_value: str, environment: str = "dev"
) -> tuple[int, str]:
    """Runs the installed ``chorus-identity`` command; its exit code and output."""
    env = {
        **os.environ,
        "CHORUS_ENV": environment,
        "CHORUS_DATABASE_URL": settings.database_url,
        "CHORUS_DATABASE_NAME": settings.database_name,
        "CHORUS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "CHORUS_GRPC_PORT": "0",
        "CHORUS_METRICS_PORT": "0",
        "CHORUS_KEK": kek_value,
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "chorus-identity"),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, output.decode()


async def enable_totp(flows: Flows) -> tuple[pb.User, pyotp.TOTP, str]:
    """A new active account with TOTP on (confirmed with the current code); its secret."""
    user = await flows.active_user()
    auth = flows.bearer((await flows.tokens(user.login_email)).access_token)
    enrolment = await flows.stub.StartTotpEnrolment(pb.StartTotpEnrolmentRequest(), metadata=auth)
    totp = pyotp.TOTP(enrolment.secret)
    await flows.stub.ConfirmTotpEnrolment(
        pb.ConfirmTotpEnrolmentRequest(code=totp.now()), metadata=auth
    )
    return user, totp, enrolment.secret


async def login_with_totp(flows: Flows, user: pb.User, totp: pyotp.TOTP) -> str:
    """Password, then the next step's code (later than any code used before): the token."""
    answer = await flows.login(user.login_email)
    assert answer.mfa_required
    done = await flows.stub.CompleteMfaChallenge(
        pb.CompleteMfaChallengeRequest(
            challenge_id=answer.mfa_challenge_id, code=totp.at(time.time() + 30)
        )
    )
    return done.tokens.access_token


async def assert_verifiable(flows: Flows, token: str, user: pb.User) -> None:
    """The token verifies against identity's published keys (GetPublicKeys, the JWKS)."""
    verifier = TokenVerifier(identity_key_fetcher(flows.channel))
    assert (await verifier.verify(token)).user_id == user.id


async def totp_secret(conn, ring: KekRing, user_id: str) -> str:
    factor = await factors.get_factor(conn, user_id, ring)
    assert factor is not None
    return factor.secret


async def start_fails(settings) -> Exception:
    """What ``create_app`` (the start of ``serve``) raises with these settings."""
    pool = await create_pool(settings.database_dsn, max_size=2)
    structures = grpc_client.open_channel("127.0.0.1:1", 5)
    try:
        with pytest.raises(Exception) as failure:
            await create_app(
                settings, pool, sealing_key_source=notifications_public_key, structures=structures
            )
        return failure.value
    finally:
        await structures.close()
        await pool.close()


async def test_keys_and_seeds_are_stored_encrypted_and_signing_and_totp_work(database):
    settings, db = database
    settings = with_kek(settings, "k1")
    async with serving(settings) as channel:
        flows = Flows(settings, channel, db)
        user, totp, secret = await enable_totp(flows)
        token = await login_with_totp(flows, user, totp)
        await assert_verifiable(flows, token, user)

    key = await db.fetchrow("SELECT private_key_pem, private_key_enc FROM signing_keys")
    assert key["private_key_pem"] is None
    blob = bytes(key["private_key_enc"])
    assert blob.startswith(FORMAT + b"\x02k1")
    assert b"PRIVATE KEY" not in blob and b"-----" not in blob
    pem = (await signing_keys.get_active_key(db, KekRing.parse(kek("k1")))).private_key_pem
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert pem.encode() not in blob and base64.b64decode(pem.splitlines()[1]) not in blob

    row = await db.fetchrow(
        "SELECT secret, secret_enc FROM totp_factors WHERE user_id = $1", uuid.UUID(user.id)
    )
    assert row["secret"] is None and kek_id_of(row["secret_enc"]) == "k1"
    stored = bytes(row["secret_enc"])
    assert secret.encode() not in stored and base64.b32decode(secret) not in stored
    assert await totp_secret(db, KekRing.parse(kek("k1")), user.id) == secret


async def test_kek_rotation_keeps_every_secret_readable(database):
    settings, db = database
    async with serving(with_kek(settings, "k1")) as channel:
        first, first_totp, first_secret = await enable_totp(Flows(settings, channel, db))

    # Step 1-2: the new KEK first, the old one kept to decrypt.
    rotating = with_kek(settings, "k2", "k1")
    async with serving(rotating) as channel:
        flows = Flows(rotating, channel, db)
        await assert_verifiable(flows, await login_with_totp(flows, first, first_totp), first)
        second, second_totp, second_secret = await enable_totp(flows)  # written under k2
    assert await kek_ids_in_use(db, factors.TOTP_SECRET) == {"k1": 1, "k2": 1}
    assert await kek_ids_in_use(db, signing_keys.PRIVATE_KEY) == {"k1": 1}

    # Step 3: rewrap-keys moves everything to k2, and finds nothing left the second time.
    code, output = await chorus_identity(settings, "rewrap-keys", kek_value=kek("k2", "k1"))
    assert code == 0, output
    assert "signing_keys.private_key_enc: 0 encrypted from clear, 1 rewrapped to 'k2'" in output
    assert "totp_factors.secret_enc: 0 encrypted from clear, 1 rewrapped to 'k2'" in output
    assert "now by KEK: k2: 2" in output
    code, output = await chorus_identity(settings, "rewrap-keys", kek_value=kek("k2", "k1"))
    assert code == 0 and output.count("0 encrypted from clear, 0 rewrapped") == 2, output
    for column in SECRETS_AT_REST:
        assert set(await kek_ids_in_use(db, column)) == {"k2"}

    # Step 4: k1 dropped; everything still opens. (A code is good for one step around now:
    # the first account spent its next one above, so its seed is checked in the store.)
    only_new = with_kek(settings, "k2")
    async with serving(only_new) as channel:
        flows = Flows(only_new, channel, db)
        await assert_verifiable(flows, await login_with_totp(flows, second, second_totp), second)
    ring = KekRing.parse(kek("k2"))
    assert await totp_secret(db, ring, first.id) == first_secret
    assert await totp_secret(db, ring, second.id) == second_secret


async def test_a_service_without_the_kek_cannot_read_and_says_which_is_missing(database):
    settings, db = database
    async with serving(with_kek(settings, "k1")) as channel:
        user, _, _ = await enable_totp(Flows(settings, channel, db))

    failure = await start_fails(with_kek(settings, "k3"))
    assert isinstance(failure, KekNotInRing) and failure.missing == ["k1"]
    assert "KEK 'k1': 1 in signing_keys.private_key_enc, 1 in totp_factors.secret_enc" in str(
        failure
    )
    assert "CHORUS_KEK holds: k3" in str(failure)
    with pytest.raises(KekNotInRing, match="KEK 'k1', which CHORUS_KEK does not hold"):
        await factors.get_factor(db, user.id, KekRing.parse(kek("k3")))

    for command in ("serve", "rewrap-keys"):
        code, output = await chorus_identity(settings, command, kek_value=kek("k3"))
        assert code == 1, output
        assert "KEK 'k1'" in output and "Traceback" not in output, output
    assert set(await kek_ids_in_use(db, factors.TOTP_SECRET)) == {"k1"}  # nothing changed


async def test_serve_in_prod_refuses_to_start_without_a_kek(database):
    settings, _ = database
    code, output = await chorus_identity(settings, "serve", kek_value="", environment="prod")
    assert code == 1
    assert "CHORUS_KEK is required when CHORUS_ENV=prod" in output and "Traceback" not in output


async def test_a_blob_tampered_with_or_moved_to_another_row_is_refused(database):
    settings, db = database
    settings = with_kek(settings, "k1")
    ring = KekRing.parse(kek("k1"))
    async with serving(settings) as channel:
        flows = Flows(settings, channel, db)
        alice, _, _ = await enable_totp(flows)
        bob = await flows.active_user()
        bob_auth = flows.bearer((await flows.tokens(bob.login_email)).access_token)
        await flows.stub.StartTotpEnrolment(pb.StartTotpEnrolmentRequest(), metadata=bob_auth)

        # Alice's seed copied into Bob's row: it does not open there.
        await db.execute(
            "UPDATE totp_factors SET secret_enc = (SELECT secret_enc FROM totp_factors"
            " WHERE user_id = $1) WHERE user_id = $2",
            uuid.UUID(alice.id),
            uuid.UUID(bob.id),
        )
        with pytest.raises(SecretUnreadable, match="copied from another row"):
            await factors.get_factor(db, bob.id, ring)
        # Through the API: an internal error for that call, the service goes on.
        confirm = flows.stub.ConfirmTotpEnrolment(
            pb.ConfirmTotpEnrolmentRequest(code="123456"), metadata=bob_auth
        )
        error = await flows.error(confirm)
        assert error.code == grpc.StatusCode.INTERNAL and error.reason == "INTERNAL_ERROR"
        assert (await flows.stub.GetMe(pb.GetMeRequest(), metadata=bob_auth)).user.id == bob.id

    # One flipped byte in the signing key: unreadable, and the next start stops on it.
    blob = bytearray(await db.fetchval("SELECT private_key_enc FROM signing_keys"))
    blob[-5] ^= 0x01
    await db.execute("UPDATE signing_keys SET private_key_enc = $1", bytes(blob))
    with pytest.raises(SecretUnreadable, match="altered"):
        await signing_keys.get_active_key(db, ring)
    assert isinstance(await start_fails(settings), SecretUnreadable)


async def test_secrets_an_older_release_left_in_clear_are_encrypted_at_start(database):
    settings, db = database
    settings = with_kek(settings, "k1")
    ring = KekRing.parse(kek("k1"))
    async with serving(settings) as channel:
        user, totp, secret = await enable_totp(Flows(settings, channel, db))
    pem = (await signing_keys.get_active_key(db, ring)).private_key_pem
    # As the release before #12 stored them:
    await db.execute("UPDATE signing_keys SET private_key_pem = $1, private_key_enc = NULL", pem)
    await db.execute("UPDATE totp_factors SET secret = $1, secret_enc = NULL", secret)
    assert await totp_secret(db, ring, user.id) == secret  # still readable as it is

    async with serving(settings) as channel:
        flows = Flows(settings, channel, db)
        await assert_verifiable(flows, await login_with_totp(flows, user, totp), user)

    assert (
        await db.fetchval("SELECT count(*) FROM signing_keys WHERE private_key_pem IS NOT NULL")
        == 0
    )
    assert await db.fetchval("SELECT count(*) FROM totp_factors WHERE secret IS NOT NULL") == 0
    assert await totp_secret(db, ring, user.id) == secret
    assert (await signing_keys.get_active_key(db, ring)).private_key_pem == pem
