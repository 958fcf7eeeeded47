"""The KEK ring: CHORUS_KEK parsing and its errors, the envelope blob, the dev default."""

import base64
import logging
import os
import re
import uuid
from dataclasses import dataclass

import asyncpg
import pytest
from chorus_platform import key_encryption
from chorus_platform.db import create_pool
from chorus_platform.key_encryption import (
    FORMAT,
    KekConfigurationError,
    KekNotInRing,
    KekRing,
    SecretUnreadable,
    kek_id_of,
    ring_from_settings,
)
from chorus_platform.unit_of_work import UnitOfWork
from pydantic import SecretStr

K1 = os.urandom(32)
K2 = os.urandom(32)
CONTEXT = b"identity/totp_factors.secret_enc/0b6c3f0e-1111-4a4a-9c9c-000000000001"


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def b64url(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode()


@dataclass
class FakeSettings:
    kek: SecretStr
    env: str = "dev"


def settings(kek: str = "", env: str = "dev") -> FakeSettings:
    return FakeSettings(SecretStr(kek), env)


# --- parsing --------------------------------------------------------------------------------


def test_the_first_kek_encrypts_and_every_one_decrypts():
    ring = KekRing.parse(f" k2:{b64url(K2)} ,\nk1:{b64(K1)}\n")
    assert ring.ids == ["k2", "k1"] and ring.primary_id == "k2"
    old = KekRing.parse(f"k1:{b64(K1)}").encrypt(b"secret", CONTEXT)
    assert kek_id_of(old) == "k1"
    assert ring.decrypt(old, CONTEXT) == b"secret"
    assert kek_id_of(ring.encrypt(b"secret", CONTEXT)) == "k2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("k1", "entry 1 is not of the form id:base64-key"),
        (f"k1:{b64(K1)},,k2:{b64(K2)}", "entry 2 is not of the form"),
        (f":{b64(K1)}", "entry 1 is not of the form"),
        ("k1:", "entry 1 is not of the form"),
        (f"k1:{b64(K1)},k2:not*base64!", "entry 2 ('k2'): the key is not valid base64"),
        (f"k1:{b64(K1[:16])}", "KEK 'k1' is 16 bytes long; a KEK is 32 random bytes"),
        (f"k1:{b64(K1 + b'x')}", "KEK 'k1' is 33 bytes long"),
        (f"k1:{b64(K1)},k1:{b64(K2)}", "KEK id 'k1' appears twice"),
        (f"k 1:{b64(K1)}", "KEK id 'k 1' is invalid"),
        (f"{'k' * 65}:{b64(K1)}", "is invalid: 1 to 64 characters"),
    ],
)
def test_a_malformed_chorus_kek_is_refused_with_a_clear_message(text, message):
    with pytest.raises(KekConfigurationError, match=re.escape(message)):
        KekRing.parse(text)


def test_error_messages_and_reprs_never_show_key_material():
    ring = KekRing.parse(f"k1:{b64(K1)}")
    for text in (f"k1:{b64(K1[:20])}", f"k1:{b64(K1)},k1:{b64(K1)}"):
        with pytest.raises(KekConfigurationError) as error:
            KekRing.parse(text)
        assert b64(K1[:20])[:10] not in str(error.value) and b64(K1)[:10] not in str(error.value)
    assert b64(K1) not in repr(ring) and K1.hex() not in repr(ring)
    assert repr(ring) == "KekRing(ids=['k1'])"
    assert "key" not in repr(key_encryption.Kek("k1", K1)).replace("Kek(", "")


# --- the blob -------------------------------------------------------------------------------


def test_a_blob_is_self_describing_and_holds_no_clear_secret():
    ring = KekRing.parse(f"prod-2026:{b64(K1)}")
    secret = b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI...\n"
    blob = ring.encrypt(secret, CONTEXT)
    assert blob.startswith(FORMAT + bytes([9]) + b"prod-2026")
    assert b"BEGIN PRIVATE KEY" not in blob and secret not in blob
    assert ring.encrypt(secret, CONTEXT) != blob  # a fresh data key and nonces each time
    assert ring.decrypt(blob, CONTEXT) == secret


def test_a_blob_copied_to_another_row_does_not_open():
    ring = KekRing.parse(f"k1:{b64(K1)}")
    blob = ring.encrypt(b"JBSWY3DPEHPK3PXP", CONTEXT)
    other_row = CONTEXT[:-1] + b"2"
    with pytest.raises(SecretUnreadable, match="altered, or copied from another row"):
        ring.decrypt(blob, other_row)


@pytest.mark.parametrize("position", [0, 5, 7, 20, 70, 90, -1])
def test_a_tampered_blob_does_not_open(position):
    ring = KekRing.parse(f"k1:{b64(K1)},k2:{b64(K2)}")
    blob = bytearray(ring.encrypt(b"JBSWY3DPEHPK3PXP", CONTEXT))
    blob[position] ^= 0x01
    with pytest.raises((SecretUnreadable, KekNotInRing)):
        ring.decrypt(bytes(blob), CONTEXT)


def test_a_truncated_or_foreign_value_is_refused():
    ring = KekRing.parse(f"k1:{b64(K1)}")
    blob = ring.encrypt(b"s", CONTEXT)
    for value in (blob[:40], b"", b"-----BEGIN PRIVATE KEY-----", FORMAT + b"\x05k1"):
        with pytest.raises(SecretUnreadable):
            ring.decrypt(value, CONTEXT)


def test_a_blob_under_a_kek_not_in_the_ring_names_the_missing_id():
    blob = KekRing.parse(f"old-kek:{b64(K1)}").encrypt(b"s", CONTEXT)
    with pytest.raises(KekNotInRing, match="KEK 'old-kek', which CHORUS_KEK does not hold") as e:
        KekRing.parse(f"new-kek:{b64(K2)}").decrypt(blob, CONTEXT)
    assert e.value.missing == ["old-kek"]
    assert "(it holds: new-kek)" in str(e.value)


def test_the_same_id_with_another_key_does_not_open():
    blob = KekRing.parse(f"k1:{b64(K1)}").encrypt(b"s", CONTEXT)
    with pytest.raises(SecretUnreadable):
        KekRing.parse(f"k1:{b64(K2)}").decrypt(blob, CONTEXT)


# --- settings: dev default, prod refusal -----------------------------------------------------


def test_dev_without_a_kek_uses_the_development_key_and_warns_once(caplog, monkeypatch):
    monkeypatch.setattr(key_encryption, "_dev_warning_logged", False)
    with caplog.at_level(logging.WARNING, logger="chorus_platform.key_encryption"):
        first = ring_from_settings(settings())
        second = ring_from_settings(settings("  "))
    assert first.ids == second.ids == ["dev"]
    assert second.decrypt(first.encrypt(b"s", CONTEXT), CONTEXT) == b"s"
    warnings = [r for r in caplog.records if "development" in r.getMessage()]
    assert len(warnings) == 1


def test_prod_without_a_kek_refuses_to_start():
    with pytest.raises(KekConfigurationError, match="CHORUS_KEK is required when CHORUS_ENV=prod"):
        ring_from_settings(settings(env="prod"))


def test_prod_refuses_the_development_key():
    dev_key = key_encryption._DEV_KEK
    with pytest.raises(KekConfigurationError, match="development KEK, refused in prod"):
        ring_from_settings(settings(f"k2:{b64(K2)},old:{b64(dev_key)}", env="prod"))
    assert ring_from_settings(settings(f"k2:{b64(K2)}", env="prod")).ids == ["k2"]


def test_a_command_with_a_bad_kek_exits_with_the_message_only():
    with pytest.raises(SystemExit) as exit_:
        key_encryption.ring_or_exit(settings("k1:c2hvcnQ"), "chorus-identity")
    assert str(exit_.value) == (
        "chorus-identity: KEK 'k1' is 5 bytes long; a KEK is 32 random bytes"
        " (openssl rand -base64 32)"
    )


# --- columns on PostgreSQL: start-up conversion, rewrap in batches ------------------------------

COLUMN = key_encryption.EncryptedColumn(
    service="platformtest", table="vault", row_id="id", column="secret_enc", clear_column="secret"
)


async def test_rewrap_goes_over_every_row_in_batches_and_is_idempotent(make_database):
    dsn = await make_database("kek")
    conn = await asyncpg.connect(dsn)
    old, new = KekRing.parse(f"k1:{b64(K1)}"), KekRing.parse(f"k2:{b64(K2)},k1:{b64(K1)}")
    await conn.execute("CREATE TABLE vault (id uuid PRIMARY KEY, secret text, secret_enc bytea)")
    ids = [uuid.uuid4() for _ in range(7)]
    for n, row_id in enumerate(ids):  # 3 in clear, 4 under k1
        clear = f"seed-{n}" if n < 3 else None
        blob = None if clear else old.encrypt(f"seed-{n}".encode(), COLUMN.context(row_id))
        await conn.execute("INSERT INTO vault VALUES ($1, $2, $3)", row_id, clear, blob)
    pool = await create_pool(dsn, max_size=2)
    uow = UnitOfWork(pool, service="platformtest")
    try:
        [at_start] = await key_encryption.prepare_secrets(uow, new, [COLUMN])
        assert (at_start.encrypted, at_start.rewrapped) == (3, 0)
        assert at_start.by_kek == {"k1": 4, "k2": 3}

        count = await key_encryption.reencrypt(uow, new, COLUMN, clear_only=False, batch_size=2)
        assert (count.encrypted, count.rewrapped, count.by_kek) == (0, 4, {"k2": 7})
        again = await key_encryption.reencrypt(uow, new, COLUMN, clear_only=False, batch_size=2)
        assert (again.encrypted, again.rewrapped) == (0, 0)

        only_k2 = KekRing.parse(f"k2:{b64(K2)}")
        await key_encryption.check_ring_covers(uow, only_k2, [COLUMN])
        with pytest.raises(KekNotInRing, match=re.escape("KEK 'k2': 7 in vault.secret_enc")):
            await key_encryption.check_ring_covers(uow, old, [COLUMN])
        rows = await conn.fetch("SELECT id, secret, secret_enc FROM vault ORDER BY id")
        assert all(row["secret"] is None for row in rows)
        opened = {only_k2.decrypt(row["secret_enc"], COLUMN.context(row["id"])) for row in rows}
        assert opened == {f"seed-{n}".encode() for n in range(7)}
    finally:
        await pool.close()
        await conn.close()
