"""Signing keys: published public keys, rotation through the CLI, single creation."""

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import jwt
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_identity.main import key_ring, unit_of_work
from chorus_identity.usecases.signing_keys import KeyRing
from chorus_platform.auth import TokenVerifier
from chorus_platform.db import create_pool
from chorus_platform.grpc_client import identity_key_fetcher
from chorus_platform.key_encryption import ring_from_settings


async def chorus_identity(settings, *args: str) -> str:
    """Runs the installed ``chorus-identity`` command against the test database."""
    env = {
        **os.environ,
        "CHORUS_DATABASE_URL": settings.database_url,
        "CHORUS_DATABASE_NAME": settings.database_name,
        "CHORUS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "chorus-identity"),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, output.decode()
    return output.decode()


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


async def test_public_keys_are_okp_ed25519_keys_for_the_signing_key(isolated_flows):
    stub, db = isolated_flows.stub, isolated_flows.db

    keys = (await stub.GetPublicKeys(pb.GetPublicKeysRequest())).keys

    [key] = keys
    row = await db.fetchrow("SELECT kid, public_x FROM signing_keys")
    assert (key.kid, key.x, key.algorithm) == (row["kid"], row["public_x"], "EdDSA")
    assert len(key.x) == 43 and "=" not in key.x  # base64url of 32 raw bytes, unpadded
    assert not key.HasField("not_after")


async def test_rotate_keys_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_kid(
    isolated_flows,
):
    flows, stub, db = isolated_flows, isolated_flows.stub, isolated_flows.db
    identity_settings = flows.settings
    user = await flows.active_user()
    before = await flows.tokens(user.login_email)

    output = await chorus_identity(identity_settings, "rotate-keys")

    old_kid = kid_of(before.access_token)
    assert f"retired: {old_kid}" in output
    assert "BEGIN PRIVATE KEY" not in output
    after = await flows.tokens(user.login_email)
    new_kid = kid_of(after.access_token)
    assert new_kid != old_kid and new_kid in output
    keys = {k.kid: k for k in (await stub.GetPublicKeys(pb.GetPublicKeysRequest())).keys}
    assert set(keys) == {old_kid, new_kid}
    retired_at = await db.fetchval("SELECT retired_at FROM signing_keys WHERE kid = $1", old_kid)
    # Until the longest-lived token it signed expires: an API application's (1 hour).
    longest = max(
        identity_settings.access_token_ttl_seconds, identity_settings.client_token_ttl_seconds
    )
    assert keys[old_kid].not_after.ToDatetime(tzinfo=retired_at.tzinfo) == retired_at + timedelta(
        seconds=longest
    )
    erased = "SELECT private_key_enc IS NULL AND private_key_pem IS NULL FROM signing_keys"
    assert await db.fetchval(erased + " WHERE kid = $1", old_kid)

    verifier = TokenVerifier(identity_key_fetcher(flows.channel))
    for tokens in (before, after):
        assert (await verifier.verify(tokens.access_token)).user_id == user.id
        me = await stub.GetMe(pb.GetMeRequest(), metadata=flows.bearer(tokens.access_token))
        assert me.user.id == user.id


async def test_keys_retired_longer_than_a_token_lifetime_are_no_longer_published(
    isolated_flows,
):
    stub, db, identity_settings = isolated_flows.stub, isolated_flows.db, isolated_flows.settings
    pool = await create_pool(identity_settings.database_dsn, max_size=1)
    try:
        await key_ring(identity_settings, unit_of_work(pool)).rotate()
    finally:
        await pool.close()
    active = await db.fetchval("SELECT kid FROM signing_keys WHERE retired_at IS NULL")
    retire_ago = "UPDATE signing_keys SET retired_at = now() - make_interval(secs => $1 + 1)"
    retire_ago += " WHERE retired_at IS NOT NULL"
    # Past a user token's lifetime, an API application's token (1 hour) may still be valid.
    await db.execute(retire_ago, float(identity_settings.access_token_ttl_seconds))
    assert len((await stub.GetPublicKeys(pb.GetPublicKeysRequest())).keys) == 2

    await db.execute(retire_ago, float(identity_settings.client_token_ttl_seconds))

    keys = (await stub.GetPublicKeys(pb.GetPublicKeysRequest())).keys
    assert [k.kid for k in keys] == [active]


async def test_replicas_starting_together_create_a_single_signing_key(new_identity_database):
    identity_settings = await new_identity_database()
    pools = [await create_pool(identity_settings.database_dsn, max_size=2) for _ in range(4)]
    try:
        kids = await asyncio.gather(
            *(key_ring(identity_settings, unit_of_work(pool)).ensure_active_key() for pool in pools)
        )
    finally:
        for pool in pools:
            await pool.close()

    assert len(set(kids)) == 1
    db = await asyncpg.connect(identity_settings.database_dsn)
    try:
        assert await db.fetchval("SELECT count(*) FROM signing_keys") == 1
    finally:
        await db.close()


async def test_scheduled_rotation_happens_once_when_the_key_is_too_old(new_identity_database):
    settings = await new_identity_database()
    pool = await create_pool(settings.database_dsn, max_size=4)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    now = [start]
    ring = KeyRing(
        unit_of_work(pool),
        kek=ring_from_settings(settings),
        access_token_ttl=timedelta(minutes=15),
        clock=lambda: now[0],
    )
    try:
        first = await ring.ensure_active_key()
        now[0] = start + timedelta(days=29)
        assert await ring.rotate_if_older_than(timedelta(days=30)) is None
        now[0] = start + timedelta(days=31)
        results = await asyncio.gather(
            *(ring.rotate_if_older_than(timedelta(days=30)) for _ in range(3))
        )
        rotations = [r for r in results if r is not None]
        assert len(rotations) == 1 and rotations[0].retired_kid == first
        kids = [k.kid for k in await ring.verification_keys()]
        assert kids == [rotations[0].new_kid, first]  # the old key verifies for 15 more minutes
    finally:
        await pool.close()


async def test_grant_admin_command_flags_the_account(flows):
    user = await flows.active_user()
    output = await chorus_identity(flows.settings, "grant-admin", user.login_email.upper())
    assert user.id in output
    assert await flows.db.fetchval("SELECT is_admin FROM users WHERE id = $1", user.id)
