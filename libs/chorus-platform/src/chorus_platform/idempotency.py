"""``Idempotency-Key`` for creating RPCs: a retried request gets the first answer again.

An ERP connector that times out on a deposit cannot know whether the invoice was stored; it
resends the same request with the same key and gets the same answer, without a second invoice
(the API contract: "a replay returns the first result"). The gateway forwards the HTTP header
as the ``idempotency-key`` metadata entry; :class:`IdempotencyInterceptor` honours it on the
methods it is given, for authenticated callers, in the service that owns the data:

- first use of (caller, method, key): the key is reserved, the RPC runs, and its successful
  response is stored with a hash of the request. A failed RPC releases the key, so the caller
  may correct and retry with it;
- same key, same request, first call finished: the stored response is returned, nothing runs;
- same key, same request, first call still running: FAILED_PRECONDITION
  ``IDEMPOTENCY_REQUEST_IN_PROGRESS`` (409: retry later). A reservation older than
  ``stale_after`` (its process died) is taken over; a call cancelled midway (its client gave
  up; it may have committed) keeps its reservation until then;
- same key, another request: INVALID_ARGUMENT ``IDEMPOTENCY_KEY_REUSED`` (422).

Keys are kept ``retention`` (24 h by default), then forgotten; expired rows are purged now and
then by the interceptor itself. Requests are compared by the SHA-256 of their deterministic
protobuf serialisation. Keys are 1–200 visible ASCII characters (IDEMPOTENCY_KEY_INVALID).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from datetime import datetime, timedelta

import asyncpg
import grpc
from google.protobuf import symbol_database

from chorus_platform.auth import optional_principal
from chorus_platform.errors import FailedPrecondition, InvalidArgument

METADATA_KEY = "idempotency-key"
MAX_KEY_LENGTH = 200
# Requests above this size are hashed in a thread, off the event loop.
_HASH_IN_THREAD_BYTES = 1024 * 1024


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


class IdempotencyInterceptor(grpc.aio.ServerInterceptor):
    """Honours ``idempotency-key`` on ``methods`` (full names, ``/pkg.Service/Method``).

    Must come after the AuthInterceptor in the interceptor list (it needs the caller)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        methods: set[str],
        *,
        retention: timedelta = timedelta(hours=24),
        stale_after: timedelta = timedelta(minutes=5),
        purge_probability: float = 0.01,
    ) -> None:
        self._pool = pool
        self._methods = methods
        self._retention = retention
        self._stale_after = stale_after
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
            await self._pool.execute(
                "DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval",
                self._retention,
            )
        while (reserved_at := await self._reserve(principal, method, key, request_hash)) is None:
            replayed = await self._replay(principal, method, key, request_hash)
            if replayed is not None:
                return replayed
            # The holder failed and released the key in between: try to reserve it again.
        # Every later write names this reservation (its time), so a call whose reservation was
        # taken over as abandoned never overwrites or releases the one that took it.
        try:
            response = await inner(request, context)
        except asyncio.CancelledError:
            # The call may have committed before being cancelled: keep the key reserved, so a
            # retry is told to wait, and is run again only once the reservation is stale.
            raise
        except BaseException:
            await self._pool.execute(
                "DELETE FROM idempotency_keys WHERE principal = $1 AND method = $2 AND key = $3"
                " AND completed_at IS NULL AND created_at = $4",
                principal,
                method,
                key,
                reserved_at,
            )
            raise
        await self._pool.execute(
            "UPDATE idempotency_keys SET response_type = $5, response = $6, completed_at = now()"
            " WHERE principal = $1 AND method = $2 AND key = $3 AND completed_at IS NULL"
            " AND created_at = $4",
            principal,
            method,
            key,
            reserved_at,
            response.DESCRIPTOR.full_name,
            response.SerializeToString(),
        )
        return response

    async def _reserve(
        self, principal: str, method: str, key: str, request_hash: bytes
    ) -> datetime | None:
        """The reservation's time when this call holds the key now (new, expired, or abandoned
        by a dead call), else None."""
        row = await self._pool.fetchrow(
            """INSERT INTO idempotency_keys (principal, method, key, request_hash)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (principal, method, key) DO UPDATE
                  SET request_hash = EXCLUDED.request_hash, created_at = now(),
                      response_type = NULL, response = NULL, completed_at = NULL
                WHERE idempotency_keys.created_at < now() - $5::interval
                   OR (idempotency_keys.completed_at IS NULL
                       AND idempotency_keys.request_hash = EXCLUDED.request_hash
                       AND idempotency_keys.created_at < now() - $6::interval)
               RETURNING created_at""",
            principal,
            method,
            key,
            request_hash,
            self._retention,
            self._stale_after,
        )
        return row["created_at"] if row is not None else None

    async def _replay(self, principal: str, method: str, key: str, request_hash: bytes):
        row = await self._pool.fetchrow(
            "SELECT request_hash, response_type, response FROM idempotency_keys"
            " WHERE principal = $1 AND method = $2 AND key = $3",
            principal,
            method,
            key,
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
            raise FailedPrecondition(
                "IDEMPOTENCY_REQUEST_IN_PROGRESS",
                "La première requête portant cette clé Idempotency-Key est encore en cours :"
                " réessayez dans un instant.",
            )
        response_class = symbol_database.Default().GetSymbol(row["response_type"])
        return response_class.FromString(row["response"])
