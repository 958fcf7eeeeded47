"""Secrets at rest: envelope encryption under a key-encryption key (KEK) from ``CHORUS_KEK``.

Private keys and TOTP seeds must be usable by the service (it signs, it opens, it computes
codes), so they cannot be hashed; a copy of the database (a backup, a replica, a dump handed
to support) must still not reveal them. Each secret is encrypted with a fresh 256-bit data
key (AES-256-GCM); the data key is wrapped by the KEK (AES-256-GCM); the KEK itself never
enters the database — it comes from a Secret mounted as ``CHORUS_KEK``.

The KEK ring (:class:`KekRing`) is ``id:key,id:key,…`` with 32-byte keys in base64 or
base64url: the FIRST encrypts, all decrypt, so a rotation is: add the new key (second), make
it first, re-encrypt everything (``chorus-<svc> rewrap-keys``), drop the old one.

Blob layout (one ``bytea``, self-describing, versioned)::

    b"CKE\\x01"            format and version (4)
    len(kek id) (1)        1..64
    kek id                 ASCII [A-Za-z0-9._-]
    wrap nonce (12) || wrapped data key (32 + 16 tag)
    data nonce (12) || ciphertext + tag (16)

Both AES-GCM operations take as associated data the header (format, kek id) followed by the
*context*: ``<service>/<table>.<column>/<row id>``. A blob therefore opens only in the row it
was written for: copied into another row (another user's TOTP seed, another key id), it fails
authentication, as does any tampered byte.

No function here logs or puts in an exception message any key material, clear or wrapped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from chorus_platform.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

FORMAT = b"CKE\x01"
"""Format prefix of every blob: "Chorus Key Envelope", version 1."""

KEY_LENGTH = 32
_NONCE_LENGTH = 12
_TAG_LENGTH = 16
_WRAPPED_LENGTH = KEY_LENGTH + _TAG_LENGTH
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

DEV_KEK_ID = "dev"
_DEV_KEK = hashlib.sha256(b"chorus development KEK: public, never for production").digest()
_dev_warning_logged = False


class KeyEncryptionError(Exception):
    """Base of every error of this module."""


class KekConfigurationError(KeyEncryptionError, ValueError):
    """``CHORUS_KEK`` is missing (in prod) or malformed."""


class KekNotInRing(KeyEncryptionError):
    """A secret is encrypted under a KEK that ``CHORUS_KEK`` does not hold."""

    def __init__(self, message: str, missing: Iterable[str]) -> None:
        super().__init__(message)
        self.missing = sorted(set(missing))


class SecretUnreadable(KeyEncryptionError):
    """A blob that is malformed, tampered, or not the one of this row."""


@dataclass(frozen=True)
class Kek:
    """One key-encryption key; its ``repr`` shows the id only."""

    id: str
    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _ID_PATTERN.fullmatch(self.id):
            raise KekConfigurationError(
                f"KEK id {self.id!r} is invalid: 1 to 64 characters among letters, digits,"
                " '.', '_' and '-', starting with a letter or a digit"
            )
        if len(self.key) != KEY_LENGTH:
            raise KekConfigurationError(
                f"KEK {self.id!r} is {len(self.key)} bytes long; a KEK is {KEY_LENGTH} random"
                " bytes (openssl rand -base64 32)"
            )


def _decode_key(text: str) -> bytes:
    """base64 or base64url, padded or not; ValueError otherwise."""
    text = text.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


def _header(kek_id: str) -> bytes:
    raw = kek_id.encode("ascii")
    return FORMAT + bytes([len(raw)]) + raw


class KekRing:
    """The KEKs of this process: the first encrypts, every one decrypts."""

    def __init__(self, keks: Sequence[Kek]) -> None:
        if not keks:
            raise KekConfigurationError("the KEK ring is empty")
        seen: set[str] = set()
        for kek in keks:
            if kek.id in seen:
                raise KekConfigurationError(f"KEK id {kek.id!r} appears twice in CHORUS_KEK")
            seen.add(kek.id)
        self._keks = {kek.id: kek for kek in keks}
        self._primary = keks[0]

    def __repr__(self) -> str:
        return f"KekRing(ids={self.ids!r})"

    @classmethod
    def parse(cls, text: str) -> KekRing:
        """``id:key[,id:key…]`` (whitespace around entries ignored); KekConfigurationError
        naming the entry (by position and id, never its key) when one is wrong."""
        entries = text.strip().split(",")
        keks = []
        for position, entry in enumerate(entries, start=1):
            entry = entry.strip()
            kek_id, colon, encoded = entry.partition(":")
            kek_id = kek_id.strip()
            if not entry or not colon or not kek_id or not encoded.strip():
                raise KekConfigurationError(
                    f"CHORUS_KEK entry {position} is not of the form id:base64-key"
                    " (entries are separated by commas)"
                )
            try:
                key = _decode_key(encoded)
            except ValueError:
                raise KekConfigurationError(
                    f"CHORUS_KEK entry {position} ({kek_id!r}): the key is not valid base64"
                    " or base64url"
                ) from None
            keks.append(Kek(kek_id, key))
        return cls(keks)

    @property
    def primary_id(self) -> str:
        """The id of the KEK that encrypts."""
        return self._primary.id

    @property
    def ids(self) -> list[str]:
        """Every id, the encrypting one first."""
        return list(self._keks)

    def primary_header(self) -> bytes:
        """The first bytes of every blob the ring writes now (format and kek id)."""
        return _header(self._primary.id)

    def encrypt(self, plaintext: bytes, context: bytes) -> bytes:
        """``plaintext`` in a new blob under the first KEK, bound to ``context``."""
        header = _header(self._primary.id)
        aad = header + context
        data_key = AESGCM.generate_key(bit_length=256)
        wrap_nonce, data_nonce = os.urandom(_NONCE_LENGTH), os.urandom(_NONCE_LENGTH)
        wrapped = AESGCM(self._primary.key).encrypt(wrap_nonce, data_key, aad)
        ciphertext = AESGCM(data_key).encrypt(data_nonce, plaintext, aad)
        return header + wrap_nonce + wrapped + data_nonce + ciphertext

    def decrypt(self, blob: bytes, context: bytes) -> bytes:
        """The plaintext of ``blob`` written for ``context``.

        KekNotInRing (naming the missing id) when its KEK is not in the ring;
        SecretUnreadable when it is malformed, tampered or belongs to another row.
        """
        kek_id = kek_id_of(blob)
        kek = self._keks.get(kek_id)
        if kek is None:
            raise KekNotInRing(
                f"secret {_label(context)} is encrypted under KEK {kek_id!r}, which CHORUS_KEK"
                f" does not hold (it holds: {', '.join(self.ids)})",
                [kek_id],
            )
        start = len(FORMAT) + 1 + len(kek_id)
        aad = bytes(blob[:start]) + context
        wrap_nonce = blob[start : start + _NONCE_LENGTH]
        wrapped = blob[start + _NONCE_LENGTH : start + _NONCE_LENGTH + _WRAPPED_LENGTH]
        rest = start + _NONCE_LENGTH + _WRAPPED_LENGTH
        data_nonce, ciphertext = blob[rest : rest + _NONCE_LENGTH], blob[rest + _NONCE_LENGTH :]
        if len(ciphertext) < _TAG_LENGTH:
            raise SecretUnreadable(f"secret {_label(context)} is truncated")
        try:
            data_key = AESGCM(kek.key).decrypt(bytes(wrap_nonce), bytes(wrapped), aad)
            return AESGCM(data_key).decrypt(bytes(data_nonce), bytes(ciphertext), aad)
        except InvalidTag:
            raise SecretUnreadable(
                f"secret {_label(context)} does not open under KEK {kek_id!r}: it was altered,"
                " or copied from another row"
            ) from None


def kek_id_of(blob: bytes) -> str:
    """The id of the KEK ``blob`` is under; SecretUnreadable when it is not such a blob."""
    blob = bytes(blob)
    if blob[: len(FORMAT)] != FORMAT or len(blob) <= len(FORMAT):
        raise SecretUnreadable("not an encrypted secret (unknown format or version)")
    length = blob[len(FORMAT)]
    raw = blob[len(FORMAT) + 1 : len(FORMAT) + 1 + length]
    try:
        kek_id = raw.decode("ascii")
    except UnicodeDecodeError:
        kek_id = ""
    if len(raw) != length or not _ID_PATTERN.fullmatch(kek_id):
        raise SecretUnreadable("encrypted secret with a malformed header")
    return kek_id


def _label(context: bytes) -> str:
    return context.decode("utf-8", "replace")


class KekSettings(Protocol):
    """What :func:`ring_from_settings` reads: a service's ``kek`` and ``env`` settings."""

    @property
    def kek(self) -> SecretStr: ...

    @property
    def env(self) -> str: ...


def ring_from_settings(settings: KekSettings) -> KekRing:
    """The ring of ``CHORUS_KEK``. Empty: in dev, the fixed development KEK ``dev`` (a
    warning, once per process); in prod, KekConfigurationError — a service must not write
    secrets under a key everybody knows. The development key is refused in prod as well."""
    global _dev_warning_logged
    text = settings.kek.get_secret_value().strip()
    if not text:
        if settings.env == "prod":
            raise KekConfigurationError(
                "CHORUS_KEK is required when CHORUS_ENV=prod: set it to id:base64-key, a key"
                " of 32 random bytes (openssl rand -base64 32), from a Secret"
            )
        if not _dev_warning_logged:
            _dev_warning_logged = True
            log.warning(
                "CHORUS_KEK is empty: secrets at rest are encrypted under the fixed development"
                " KEK 'dev' (acceptable in development only)"
            )
        return KekRing([Kek(DEV_KEK_ID, _DEV_KEK)])
    ring = KekRing.parse(text)
    if settings.env == "prod" and any(kek.key == _DEV_KEK for kek in ring._keks.values()):
        raise KekConfigurationError("CHORUS_KEK holds the development KEK, refused in prod")
    return ring


def ring_or_exit(settings: KekSettings, program: str) -> KekRing:
    """:func:`ring_from_settings` for a command: a configuration error ends the process with
    its message (no traceback) instead of starting."""
    try:
        return ring_from_settings(settings)
    except KekConfigurationError as error:
        raise SystemExit(f"{program}: {error}") from None


# --- Columns holding encrypted secrets: start-up conversion, rewrap, checks ------------------


@dataclass(frozen=True)
class EncryptedColumn:
    """A ``bytea`` column of blobs, with the legacy clear column it replaces (NULL once the
    row is encrypted). Names are code constants, never input: they are spliced into SQL."""

    service: str
    table: str
    row_id: str
    column: str
    clear_column: str

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column}"

    def context(self, row_id: object) -> bytes:
        """The associated data binding a blob to its row: ``svc/table.column/row id``."""
        return f"{self.service}/{self.table}.{self.column}/{row_id}".encode()

    def open(self, ring: KekRing, row_id: object, blob: bytes | None, clear: object) -> bytes:
        """The secret of a row: decrypted, or the clear value of a row not yet converted
        (written by an older release; encrypted at the next start or ``rewrap-keys``)."""
        if blob is not None:
            return ring.decrypt(bytes(blob), self.context(row_id))
        if clear is None:
            raise SecretUnreadable(f"{self.label} of {row_id} holds no secret")
        return clear.encode() if isinstance(clear, str) else bytes(clear)  # type: ignore[arg-type]


@dataclass
class RewrapCount:
    """What :func:`reencrypt` did to one column, and what it holds afterwards."""

    column: str
    encrypted: int = 0
    """Rows that were in clear."""
    rewrapped: int = 0
    """Rows moved from another KEK to the first."""
    by_kek: dict[str, int] = field(default_factory=dict)
    """Encrypted rows per KEK id, afterwards."""


def _quoted(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


async def reencrypt(
    uow: UnitOfWork,
    ring: KekRing,
    column: EncryptedColumn,
    *,
    clear_only: bool,
    batch_size: int = 200,
) -> RewrapCount:
    """Encrypts the rows still in clear and, unless ``clear_only``, re-encrypts under the
    first KEK the rows under another one. One transaction per batch of ``batch_size`` rows
    (locked, so a concurrent writer or another replica doing the same waits, then skips
    them); idempotent: a second run finds nothing to do. KekNotInRing when a row's KEK is not
    in the ring (rows before it stay done)."""
    table, row_id = _quoted(column.table), _quoted(column.row_id)
    sealed, clear = _quoted(column.column), _quoted(column.clear_column)
    header = ring.primary_header()
    needs = f"{clear} IS NOT NULL"
    if not clear_only:
        needs += f" OR ({sealed} IS NOT NULL AND substring({sealed} from 1 for $1) <> $2)"
    count = RewrapCount(column.label)
    last = None
    while True:
        args: list[object] = [len(header), header] if not clear_only else []
        after = ""
        if last is not None:
            args.append(last)
            after = f" AND {row_id} > ${len(args)}"
        args.append(batch_size)
        query = (  # identifiers from code constants (_quoted), values as parameters
            f"SELECT {row_id} AS id, {sealed} AS sealed, {clear} AS clear FROM {table}"  # noqa: S608
            f" WHERE ({needs}){after} ORDER BY {row_id} LIMIT ${len(args)} FOR UPDATE"
        )
        async with uow.transaction() as tx:
            rows = await tx.conn.fetch(query, *args)
            updates = []
            for row in rows:
                secret = column.open(ring, row["id"], row["sealed"], row["clear"])
                updates.append((row["id"], ring.encrypt(secret, column.context(row["id"]))))
                if row["clear"] is not None:
                    count.encrypted += 1
                else:
                    count.rewrapped += 1
            if updates:
                await tx.conn.executemany(
                    f"UPDATE {table} SET {sealed} = $2, {clear} = NULL WHERE {row_id} = $1",  # noqa: S608
                    updates,
                )
        if len(rows) < batch_size:
            break
        last = rows[-1]["id"]
    async with uow.reading() as conn:
        count.by_kek = await kek_ids_in_use(conn, column)
    return count


async def kek_ids_in_use(conn: asyncpg.Connection, column: EncryptedColumn) -> dict[str, int]:
    """Encrypted rows of ``column`` per KEK id (read from the blobs' headers)."""
    sealed, table = _quoted(column.column), _quoted(column.table)
    start = len(FORMAT) + 2  # 1-based: the id follows the format and its length byte
    kek = f"substring({sealed} from {start} for get_byte({sealed}, {len(FORMAT)}))"
    rows = await conn.fetch(
        f"SELECT {kek} AS kek, count(*) AS n FROM {table}"  # noqa: S608
        f" WHERE {sealed} IS NOT NULL GROUP BY 1"
    )
    return {bytes(row["kek"]).decode("ascii", "replace"): row["n"] for row in rows}


async def check_ring_covers(
    uow: UnitOfWork, ring: KekRing, columns: Sequence[EncryptedColumn]
) -> None:
    """KekNotInRing (naming the missing ids and where) when a stored secret is under a KEK
    the ring does not hold — run at start, so that dropping a KEK too early stops the new
    replicas (the old ones keep serving) instead of failing requests one by one."""
    missing: dict[str, list[str]] = {}
    async with uow.reading() as conn:
        for column in columns:
            for kek_id, n in (await kek_ids_in_use(conn, column)).items():
                if kek_id not in ring.ids:
                    missing.setdefault(kek_id, []).append(f"{n} in {column.label}")
    if missing:
        where = "; ".join(f"KEK {k!r}: {', '.join(v)}" for k, v in sorted(missing.items()))
        raise KekNotInRing(
            f"stored secrets are encrypted under KEKs CHORUS_KEK does not hold ({where});"
            f" CHORUS_KEK holds: {', '.join(ring.ids)}. Put the old KEK back (after the new"
            " one) and run rewrap-keys before removing it",
            missing,
        )


async def prepare_secrets(
    uow: UnitOfWork, ring: KekRing, columns: Sequence[EncryptedColumn]
) -> list[RewrapCount]:
    """At start: encrypts what older releases left in clear (never moves secrets to another
    KEK: replicas of the previous configuration may not hold it yet), then checks that the
    ring opens every stored secret."""
    counts = [await reencrypt(uow, ring, column, clear_only=True) for column in columns]
    for count in counts:
        if count.encrypted:
            log.info(
                "secrets in clear encrypted at rest",
                extra={"column": count.column, "rows": count.encrypted, "kek": ring.primary_id},
            )
    await check_ring_covers(uow, ring, columns)
    return counts


async def rewrap_all(
    uow: UnitOfWork, ring: KekRing, columns: Sequence[EncryptedColumn], *, batch_size: int = 200
) -> list[RewrapCount]:
    """``rewrap-keys``: every secret of ``columns`` under the first KEK."""
    return [
        await reencrypt(uow, ring, column, clear_only=False, batch_size=batch_size)
        for column in columns
    ]


def report_lines(counts: Iterable[RewrapCount], ring: KekRing) -> list[str]:
    """The lines ``rewrap-keys`` prints: per column, what changed and what it holds now."""
    lines = []
    for count in counts:
        held = ", ".join(f"{k}: {n}" for k, n in sorted(count.by_kek.items())) or "none"
        lines.append(
            f"{count.column}: {count.encrypted} encrypted from clear, {count.rewrapped}"
            f" rewrapped to {ring.primary_id!r}; now by KEK: {held}"
        )
    return lines
