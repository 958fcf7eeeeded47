"""Secrets at rest: the sealing private keys encrypted under CHORUS_KEK, on a real database.

Each test has a database of its own (``settings``); ``rewrap-keys`` runs as the installed
command.
"""

import asyncio
import base64
import contextlib
import os
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus_notifications.domain.sealed_secrets import SealedSecret
from chorus_notifications.main import prepare_secrets
from chorus_notifications.store import sealing_keys
from chorus_notifications.usecases.sealing_keys import SealingKeyRing
from chorus_platform import sealing
from chorus_platform.db import create_pool
from chorus_platform.key_encryption import (
    FORMAT,
    KekNotInRing,
    KekRing,
    SecretUnreadable,
    kek_ids_in_use,
)
from chorus_platform.outbox import topic_of
from chorus_platform.topics import ensure_topics
from chorus_platform.unit_of_work import UnitOfWork
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import SecretStr

from .conftest import SOURCES, start, wait_until

KEYS = {name: os.urandom(32) for name in ("k1", "k2", "k3")}
CONTEXT = b"chorus.identity.events.v1.PasswordResetRequested/3f0c"


def kek(*ids: str) -> str:
    return ",".join(f"{i}:{base64.urlsafe_b64encode(KEYS[i]).decode()}" for i in ids)


def with_kek(settings, *ids: str):
    return settings.model_copy(update={"kek": SecretStr(kek(*ids))})


@contextlib.asynccontextmanager
async def pool_of(settings):
    pool = await create_pool(settings.database_dsn, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


async def opens(settings, box: bytes) -> str:
    """The sealed box opened by the key ring as the e-mail sender uses it (after the start-up
    step, as in ``serve``)."""
    async with pool_of(settings) as pool:
        kek_ring = await prepare_secrets(settings, pool)
        ring = SealingKeyRing(UnitOfWork(pool, service=settings.service_name), kek_ring)
        return await ring.open(SealedSecret(box, CONTEXT))


async def start_fails(settings) -> Exception:
    async with pool_of(settings) as pool:
        with pytest.raises(Exception) as failure:
            await prepare_secrets(settings, pool)
    return failure.value


async def chorus_notifications(settings, *args: str, kek_value: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "CHORUS_DATABASE_URL": settings.database_url,
        "CHORUS_DATABASE_NAME": settings.database_name,
        "CHORUS_KEK": kek_value,
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "chorus-notifications"),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, output.decode()


@pytest.fixture
async def db(settings):
    conn = await asyncpg.connect(settings.database_dsn)
    yield conn
    await conn.close()


async def test_the_sealing_key_is_stored_encrypted_and_opens_what_was_sealed_to_it(
    settings, db, signer
):
    settings = with_kek(settings, "k1").model_copy(
        update={"service_name": f"notifications-{uuid.uuid4().hex[:6]}"}  # its own group
    )
    await ensure_topics(settings, [topic_of(source) for source in SOURCES])
    service = await start(settings, signer)
    try:
        public = (await service.stub.GetSealingKey(pb.GetSealingKeyRequest())).public_key
        health = health_pb2_grpc.HealthStub(service.channel)

        async def serving():
            response = await health.Check(health_pb2.HealthCheckRequest())
            return response.status == health_pb2.HealthCheckResponse.SERVING

        assert await wait_until(serving, timeout=30)  # started in full before it stops
    finally:
        await service.stop()
    box = sealing.seal(public, b"jeton-de-lien", CONTEXT)

    row = await db.fetchrow("SELECT key_id, private_key, private_key_enc FROM sealing_keys")
    assert row["private_key"] is None
    blob = bytes(row["private_key_enc"])
    assert blob.startswith(FORMAT + b"\x02k1")
    [pair] = await sealing_keys.all_keys(db, KekRing.parse(kek("k1")))
    assert len(pair.private_key) == 32 and pair.private_key not in blob
    assert sealing.public_key_bytes(sealing.load_private_key(pair.private_key)) == public
    assert await opens(settings, box) == "jeton-de-lien"


async def test_kek_rotation_keeps_the_sealing_keys_readable(settings, db):
    async with pool_of(with_kek(settings, "k1")) as pool:
        await prepare_secrets(with_kek(settings, "k1"), pool)  # creates the key under k1
    [pair] = await sealing_keys.all_keys(db, KekRing.parse(kek("k1")))
    box = sealing.seal(pair.public_key, b"jeton", CONTEXT)

    assert await opens(with_kek(settings, "k2", "k1"), box) == "jeton"
    code, output = await chorus_notifications(settings, "rewrap-keys", kek_value=kek("k2", "k1"))
    assert code == 0, output
    assert (
        "sealing_keys.private_key_enc: 0 encrypted from clear, 1 rewrapped to 'k2';"
        " now by KEK: k2: 1"
    ) in output
    code, output = await chorus_notifications(settings, "rewrap-keys", kek_value=kek("k2", "k1"))
    assert code == 0 and "0 encrypted from clear, 0 rewrapped" in output, output
    assert await kek_ids_in_use(db, sealing_keys.PRIVATE_KEY) == {"k2": 1}

    assert await opens(with_kek(settings, "k2"), box) == "jeton"
    failure = await start_fails(with_kek(settings, "k1"))
    assert isinstance(failure, KekNotInRing) and failure.missing == ["k2"]
    code, output = await chorus_notifications(settings, "rewrap-keys", kek_value=kek("k3"))
    assert code == 1 and "KEK 'k2'" in output and "Traceback" not in output, output


async def test_a_clear_key_is_encrypted_at_start_and_a_tampered_one_refused(settings, db):
    settings = with_kek(settings, "k1")
    ring = KekRing.parse(kek("k1"))
    async with pool_of(settings) as pool:
        await prepare_secrets(settings, pool)
    [pair] = await sealing_keys.all_keys(db, ring)
    box = sealing.seal(pair.public_key, b"jeton", CONTEXT)
    # As the release before #12 stored it:
    await db.execute(
        "UPDATE sealing_keys SET private_key = $1, private_key_enc = NULL", pair.private_key
    )

    assert await opens(settings, box) == "jeton"
    row = await db.fetchrow("SELECT private_key, private_key_enc FROM sealing_keys")
    assert row["private_key"] is None and pair.private_key not in bytes(row["private_key_enc"])

    blob = bytearray(row["private_key_enc"])
    blob[30] ^= 0x80
    await db.execute("UPDATE sealing_keys SET private_key_enc = $1", bytes(blob))
    assert isinstance(await start_fails(settings), SecretUnreadable)
