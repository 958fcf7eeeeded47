"""``Idempotency-Key`` for creating RPCs: a retried request gets the first answer again.

An ERP connector that times out on a deposit cannot know whether the invoice was stored; it
resends the same request with the same key and gets the same answer, without a second invoice
(the API contract: "a replay returns the first result"). The gateway forwards the HTTP header
as the ``idempotency-key`` metadata entry; :class:`IdempotencyInterceptor` honours it on the
methods it is given, for authenticated callers, in the service that owns the data.

**The key is completed in the same transaction as the effect it guards.** The first call with
(caller, method, key) runs inside one database transaction
(:func:`~chorus_platform.unit_of_work.ambient_transaction`: the use case's own
``uow.transaction()`` blocks are savepoints of it, its reads run on its connection) that also
stores the RPC's answer under the key, with a hash of the request, before it commits:

- a process that dies mid-call (or a call cancelled, or failing unexpectedly) commits nothing
  and holds nothing: PostgreSQL rolls its transaction back and frees its lock as soon as the
  connection is gone, so a retry runs afresh at once;
- a call whose effect committed has its answer committed with it: a retry gets that answer
  (the same invoice), never a duplicate error nor a second invoice;
- a refused call (a domain error) stores no key, so the caller may correct and retry with it;
  what the use case committed on its refusal path (dropping staged files) still commits.

Then:

- same key, same request, first call finished: the stored answer, nothing runs;
- same key, same request, first call still running: FAILED_PRECONDITION
  ``IDEMPOTENCY_REQUEST_IN_PROGRESS`` (409: retry later), at once: the running call holds a
  transaction-scoped advisory lock on (caller, method, key) that a second call only tries
  (no waiting, no connection held while waiting);
- same key, another request: INVALID_ARGUMENT ``IDEMPOTENCY_KEY_REUSED`` (422).

The price: a keyed call holds one pooled connection, idle in its transaction while it waits
for other work (document workers, other services), for its whole duration; size the pool
for the keyed calls in flight. A keyed batch deposit commits all its invoices at once, at
the end. Keys are scoped per caller and method, kept ``retention`` (24 h by default), then
forgotten; expired rows are purged now and then by the interceptor itself. Requests are
compared by the SHA-256 of their deterministic protobuf serialisation. Keys are 1–200 visible
ASCII characters (IDEMPOTENCY_KEY_INVALID). A row without an answer was reserved by a
previous version of this module (reserve, run, complete): it is answered "in progress" until
it is five minutes old, then taken over.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from datetime import timedelta

import asyncpg
import grpc
from google.protobuf import symbol_database

from chorus_platform.auth import optional_principal
from chorus_platform.errors import DomainError, FailedPrecondition, InvalidArgument
from chorus_platform.unit_of_work import ambient_transaction

METADATA_KEY = "idempotency-key"
MAX_KEY_LENGTH = 200
# Requests above this size are hashed in a thread, off the event loop.
_HASH_IN_THREAD_BYTES = 1024 * 1024
# A reservation left by the previous version of this module (no answer) is taken over after:
_LEGACY_RESERVATION_STALE = timedelta(minutes=5)
_PURGE_BATCH = 1000


def _key_of(metadata) -> str | None:
    for name, value in metadata or ():
        if name == METADATA_KEY:
            return value if isinstance(value, str) else value.decode("ascii", "replace")
    return None


KEY_INVALID = "IDEMPOTENCY_KEY_INVALID"
KEY_INVALID_MESSAGE = (
    f"En-tête Idempotency-Key invalide : de 1 à {MAX_KEY_LENGTH} caractères ASCII visibles"
    " (un UUID, par exemple)."
)


def is_valid_key(key: str) -> bool:
    """1 to MAX_KEY_LENGTH visible ASCII characters (what gRPC metadata can carry as is)."""
    return 0 < len(key) <= MAX_KEY_LENGTH and all(" " < c <= "~" for c in key)


def _check_key(key: str) -> None:
    if not is_valid_key(key):
        raise InvalidArgument(KEY_INVALID, KEY_INVALID_MESSAGE)


async def _request_hash(request) -> bytes:
    data = request.SerializeToString(deterministic=True)
    if len(data) > _HASH_IN_THREAD_BYTES:
        return await asyncio.to_thread(lambda: hashlib.sha256(data).digest())
    return hashlib.sha256(data).digest()


def _lock_id(principal: str, method: str, key: str) -> int:
    """The advisory lock (a signed 64-bit number) a running call holds on its key."""
    digest = hashlib.sha256("\n".join((principal, method, key)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _in_progress() -> FailedPrecondition:
    return FailedPrecondition(
        "IDEMPOTENCY_REQUEST_IN_PROGRESS",
        "La première requête portant cette clé Idempotency-Key est encore en cours :"
        " réessayez dans un instant.",
    )


class IdempotencyInterceptor(grpc.aio.ServerInterceptor):
    """Honours ``idempotency-key`` on ``methods`` (full names, ``/pkg.Service/Method``).

    Must come after the AuthInterceptor in the interceptor list (it needs the caller), and
    ``pool`` must be the pool of the service's UnitOfWork (whose transactions then join the
    call's)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        methods: set[str],
        *,
        retention: timedelta = timedelta(hours=24),
        purge_probability: float = 0.01,
    ) -> None:
        self._pool = pool
        self._methods = methods
        self._retention = retention
        self._purge_probability = purge_probability

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or handler.unary_unary is None or method not in self._methods:
            return handler
        key = _key_of(handler_call_details.invocation_metadata)
        if key is None:
            return handler
        inner = handler.unary_unary

        async def idempotent(request, context):
            principal = optional_principal()
            if principal is None:  # anonymous calls are not replayed
                return await inner(request, context)
            _check_key(key)
            return await self._once(principal.user_id, method, key, request, context, inner)

        return handler._replace(unary_unary=idempotent)

    async def _once(self, principal: str, method: str, key: str, request, context, inner):
        request_hash = await _request_hash(request)
        if random.random() < self._purge_probability:  # noqa: S311 - not security related
            await self._purge()
        async with ambient_transaction(self._pool) as conn:
            stored = await self._stored(conn, principal, method, key, request_hash)
            if stored is None:
                locked = await conn.fetchval(
                    "SELECT pg_try_advisory_xact_lock($1)", _lock_id(principal, method, key)
                )
                if not locked:
                    raise _in_progress()
                # The holder we raced may have committed just before we took the lock.
                stored = await self._stored(conn, principal, method, key, request_hash)
            if stored is not None:
                return stored
            try:
                response = await inner(request, context)
            except DomainError as error:
                refusal = error  # committed below without the key
            else:
                await self._complete(conn, principal, method, key, request_hash, response)
                return response
        raise refusal

    async def _stored(
        self, conn: asyncpg.Connection, principal: str, method: str, key: str, request_hash: bytes
    ):
        """The answer stored under the key for this request; None when the key is free
        (never used, expired, or an abandoned reservation of the previous version)."""
        row = await conn.fetchrow(
            "SELECT request_hash, response_type, response,"
            "       created_at < now() - $4::interval AS abandoned"
            "  FROM idempotency_keys"
            " WHERE principal = $1 AND method = $2 AND key = $3"
            "   AND created_at >= now() - $5::interval",
            principal,
            method,
            key,
            _LEGACY_RESERVATION_STALE,
            self._retention,
        )
        if row is None:
            return None
        if row["request_hash"] != request_hash:
            raise InvalidArgument(
                "IDEMPOTENCY_KEY_REUSED",
                "Cette clé Idempotency-Key a déjà servi pour une autre requête : utilisez une"
                " nouvelle clé pour chaque nouvelle opération.",
            )
        if row["response"] is None:
            if row["abandoned"]:
                return None
            raise _in_progress()
        response_class = symbol_database.Default().GetSymbol(row["response_type"])
        return response_class.FromString(row["response"])

    async def _complete(
        self,
        conn: asyncpg.Connection,
        principal: str,
        method: str,
        key: str,
        request_hash: bytes,
        response,
    ) -> None:
        """Stores the answer in the call's transaction. Replaces only an expired row or an
        abandoned reservation; any other row (a previous version's call that reserved the key
        meanwhile) makes this call IN_PROGRESS, its effect rolled back."""
        stored = await conn.fetchval(
            """INSERT INTO idempotency_keys
                   (principal, method, key, request_hash, response_type, response, completed_at)
               VALUES ($1, $2, $3, $4, $5, $6, now())
               ON CONFLICT (principal, method, key) DO UPDATE
                  SET request_hash = EXCLUDED.request_hash, created_at = now(),
                      response_type = EXCLUDED.response_type, response = EXCLUDED.response,
                      completed_at = now()
                WHERE idempotency_keys.created_at < now() - $7::interval
                   OR (idempotency_keys.response IS NULL
                       AND idempotency_keys.created_at < now() - $8::interval)
               RETURNING true""",
            principal,
            method,
            key,
            request_hash,
            response.DESCRIPTOR.full_name,
            response.SerializeToString(),
            self._retention,
            _LEGACY_RESERVATION_STALE,
        )
        if not stored:
            raise _in_progress()

    async def _purge(self) -> None:
        """Forgets expired keys, a batch at a time, skipping rows a running call has locked."""
        await self._pool.execute(
            "DELETE FROM idempotency_keys WHERE (principal, method, key) IN ("
            "  SELECT principal, method, key FROM idempotency_keys"
            "   WHERE created_at < now() - $1::interval"
            "   LIMIT $2 FOR UPDATE SKIP LOCKED)",
            self._retention,
            _PURGE_BATCH,
        )
