"""Transient infrastructure errors: the unexpected exceptions that mean "try again shortly".

The error interceptor (:class:`chorus_platform.grpc_server.ErrorInterceptor`) answers an
exception :func:`classify` recognises with UNAVAILABLE, the stable reason below, and
``ErrorInfo`` metadata ``retry_after_seconds`` (the gateway's 503 ``Retry-After``) and
``correlation_id``, instead of INTERNAL:

====================== ==================================================================== =====
reason                 cause                                                                retry
====================== ==================================================================== =====
DATABASE_UNAVAILABLE   PostgreSQL unreachable, starting, restarting or shutting down; the    5 s
                       connection lost mid-call; the pool unable to connect; too many
                       connections: asyncpg's connection errors (SQLSTATE class 08),
                       operator intervention (57: CannotConnectNow, AdminShutdown…),
                       insufficient resources (53), a closed connection, and connection
                       errors or timeouts raised inside asyncpg (connection refused…)
TRANSACTION_CONFLICT   a serialization failure or a deadlock (class 40): run it again        1 s
BROKER_UNAVAILABLE     an aiokafka error on a synchronous path                              5 s
SERVICE_UNAVAILABLE    another service's UNAVAILABLE or DEADLINE_EXCEEDED that its client    5 s
                       did not translate; any other connection error or timeout
====================== ==================================================================== =====

The exception's causes (``raise … from``, or raised while handling) are looked at too, so a
failure caused by a lost connection is still transient. Anything else is a bug: INTERNAL.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import grpc
from aiokafka.errors import KafkaError


@dataclass(frozen=True)
class Transient:
    """What to tell the caller about a transient error."""

    reason: str
    message: str
    retry_after_seconds: int


DATABASE_UNAVAILABLE = Transient(
    "DATABASE_UNAVAILABLE",
    "La base de données est momentanément indisponible : réessayez dans quelques secondes.",
    5,
)
TRANSACTION_CONFLICT = Transient(
    "TRANSACTION_CONFLICT",
    "Une opération concurrente a interrompu la vôtre : réessayez.",
    1,
)
BROKER_UNAVAILABLE = Transient(
    "BROKER_UNAVAILABLE",
    "La messagerie interne est momentanément indisponible : réessayez dans quelques secondes.",
    5,
)
SERVICE_UNAVAILABLE = Transient(
    "SERVICE_UNAVAILABLE",
    "Un service nécessaire ne répond pas pour le moment : réessayez dans quelques secondes.",
    5,
)

_DATABASE_ERRORS = (
    asyncpg.PostgresConnectionError,  # class 08, ConnectionDoesNotExistError included
    asyncpg.OperatorInterventionError,  # class 57: CannotConnectNow, AdminShutdown, …
    asyncpg.InsufficientResourcesError,  # class 53: TooManyConnections, …
)
_PEER_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
_CHAIN_LIMIT = 8


def classify(error: BaseException) -> Transient | None:
    """The transient error ``error`` (or one of its causes) is, or None for anything else."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < _CHAIN_LIMIT:
        seen.add(id(current))
        found = _classify_one(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def _classify_one(error: BaseException) -> Transient | None:
    if isinstance(error, _DATABASE_ERRORS):
        return DATABASE_UNAVAILABLE
    if isinstance(error, asyncpg.TransactionRollbackError):
        return TRANSACTION_CONFLICT
    if isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error):
        return DATABASE_UNAVAILABLE
    if isinstance(error, KafkaError):
        return BROKER_UNAVAILABLE
    if isinstance(error, grpc.RpcError) and callable(getattr(error, "code", None)):
        return SERVICE_UNAVAILABLE if error.code() in _PEER_CODES else None
    if isinstance(error, ConnectionError | TimeoutError):
        return DATABASE_UNAVAILABLE if _raised_in_asyncpg(error) else SERVICE_UNAVAILABLE
    return None


def _raised_in_asyncpg(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_globals.get("__name__", "").startswith("asyncpg"):
            return True
        traceback = traceback.tb_next
    return False
