"""grpc.aio server runner shared by every service.

- ``grpc.health.v1`` reports NOT_SERVING until every readiness check passes (the database
  answers; never the broker: :mod:`chorus_platform.checks`), then SERVING; checks keep
  running so an outage shows up. The entry ``chorus.liveness`` stays SERVING while the
  process runs (liveness probes use it).
- Reflection is on in dev only.
- Connections are closed after ``max_connection_age_seconds``
  (``CHORUS_GRPC_MAX_CONNECTION_AGE_SECONDS``; GOAWAY, the calls in flight get
  ``grace_seconds``) so that clients resolve the service's name again and spread their calls
  onto replicas started since (:mod:`chorus_platform.grpc_client`).
- SIGTERM/SIGINT: health goes NOT_SERVING at once; with ``shutdown_delay_seconds``
  (``CHORUS_SHUTDOWN_DELAY_SECONDS``) the server keeps serving that long — Kubernetes removes
  the pod from the endpoints at the same time as it sends SIGTERM, and clients learn of it a
  moment later — unless a second signal comes; then in-flight RPCs drain for ``grace``
  seconds, background tasks (relay, consumers) are cancelled, and the process exits.
- :class:`ErrorInterceptor` maps :class:`~chorus_platform.errors.DomainError` to a rich
  ``google.rpc.Status`` through the service's status table (``GrpcApp.error_status_codes``,
  declared in the service's ``api/errors.py``); transient infrastructure errors (database,
  broker, peer service: :mod:`chorus_platform.transient_errors`) to UNAVAILABLE with a
  stable reason and ``retry_after_seconds``; and hides any other exception behind INTERNAL,
  logged with a correlation id that the status carries too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from chorus_platform import rpc_status, telemetry
from chorus_platform.errors import DomainError, Unavailable
from chorus_platform.metrics import RpcServerMetrics
from chorus_platform.rpc_status import (
    CORRELATION_ID,
    RETRY_AFTER_SECONDS,
    STANDARD_STATUS_CODES,
    ErrorStatusCodes,
)
from chorus_platform.transient_errors import classify

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]

#: Health entry that stays SERVING while the process is alive (for liveness probes), so a
#: database or broker outage makes pods unready without getting them restarted.
LIVENESS_SERVICE = "chorus.liveness"


#: ``retry_after_seconds`` given to a domain error that is UNAVAILABLE without one.
DEFAULT_RETRY_AFTER_SECONDS = 5


def correlation_id() -> str:
    """The id an unexpected error is logged and answered under: the current trace id (32 hex
    digits) when tracing is on, else a new random one of the same shape."""
    return telemetry.log_ids().get("trace_id") or uuid.uuid4().hex


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """The one place where errors become gRPC statuses:

    - a :class:`DomainError`: its code by the service's table, ErrorInfo (reason, metadata)
      and BadRequest; an UNAVAILABLE one gets ``retry_after_seconds`` (5) unless it has one;
    - a transient infrastructure error (:func:`chorus_platform.transient_errors.classify`):
      UNAVAILABLE, its reason (DATABASE_UNAVAILABLE, TRANSACTION_CONFLICT,
      BROKER_UNAVAILABLE, SERVICE_UNAVAILABLE), ErrorInfo metadata ``retry_after_seconds``
      and ``correlation_id``; logged as a warning;
    - anything else: INTERNAL with a fixed message and only ErrorInfo ``INTERNAL_ERROR``
      with metadata ``correlation_id``; logged with its traceback under that id.
    """

    def __init__(self, status_codes: ErrorStatusCodes = STANDARD_STATUS_CODES) -> None:
        self._status_codes = status_codes

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        method = handler_call_details.method

        async def mapped(request, context):
            try:
                return await inner(request, context)
            except DomainError as error:
                await context.abort_with_status(self._domain_status(error))
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception as error:
                await context.abort_with_status(_unexpected_status(error, method))

        return handler._replace(unary_unary=mapped)

    def _domain_status(self, error: DomainError) -> grpc.Status:
        defaults = {}
        if rpc_status.status_code_of(error, self._status_codes) is grpc.StatusCode.UNAVAILABLE:
            defaults[RETRY_AFTER_SECONDS] = str(DEFAULT_RETRY_AFTER_SECONDS)
        return rpc_status.to_status(error, self._status_codes, default_metadata=defaults)


def _unexpected_status(error: Exception, method: str) -> grpc.Status:
    correlation = correlation_id()
    transient = classify(error)
    if transient is None:
        log.exception("unhandled error", extra={"method": method, "correlation_id": correlation})
        return rpc_status.internal_status(correlation_id=correlation)
    log.warning(
        "transient infrastructure error",
        extra={
            "method": method,
            "reason": transient.reason,
            "error": f"{type(error).__name__}: {error}",
            "correlation_id": correlation,
        },
    )
    answer = Unavailable(
        transient.reason,
        transient.message,
        metadata={
            RETRY_AFTER_SECONDS: str(transient.retry_after_seconds),
            CORRELATION_ID: correlation,
        },
    )
    return rpc_status.to_status(answer)


@dataclass
class GrpcApp:
    """What a service hands to :func:`serve`."""

    name: str
    port: int
    register: Callable[[grpc.aio.Server], Iterable[str]]
    """Adds the servicers to the server; returns their full service names."""
    error_status_codes: ErrorStatusCodes = field(default_factory=lambda: STANDARD_STATUS_CODES)
    """The service's table of domain errors to gRPC codes (its ``api/errors.py``)."""
    interceptors: list[grpc.aio.ServerInterceptor] = field(default_factory=list)
    readiness_checks: list[ReadinessCheck] = field(default_factory=list)
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    reflection: bool = True
    grace_seconds: float = 10.0
    max_message_bytes: int = 16 * 1024 * 1024
    """Largest request or response (gRPC's default 4 MiB is below the files invoices carry)."""
    check_interval_seconds: float = 2.0
    host: str = "0.0.0.0"
    max_connection_age_seconds: float = 0.0
    """Connections closed after this long (0: never); services pass their setting."""
    shutdown_delay_seconds: float = 0.0
    """On SIGTERM, NOT_SERVING but serving this long before draining (see the docstring)."""


class RunningServer:
    """A started server; :meth:`stop` performs the graceful shutdown."""

    def __init__(self, app: GrpcApp, server: grpc.aio.Server, health_servicer, port: int) -> None:
        self.app = app
        self.server = server
        self.health = health_servicer
        self.port = port
        self._tasks: list[asyncio.Task] = []
        self._services: list[str] = []

    async def _set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in ["", *self._services]:
            await self.health.set(service, status)

    async def _watch_readiness(self) -> None:
        serving = None
        while True:
            try:
                for check in self.app.readiness_checks:
                    async with asyncio.timeout(5):
                        await check()
                ready = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                ready = False
                if serving is not False:
                    log.warning("not ready: %s", exc)
            if ready != serving:
                await self._set_serving(ready)
                log.info("health %s", "SERVING" if ready else "NOT_SERVING")
                serving = ready
            await asyncio.sleep(self.app.check_interval_seconds)

    async def not_serving(self) -> None:
        """Health NOT_SERVING from now on (the readiness checks stop); calls are still served."""
        await _cancel([t for t in self._tasks if t.get_name() == "readiness"])
        await self._set_serving(False)

    async def stop(self) -> None:
        """NOT_SERVING, drain in-flight RPCs, cancel background tasks."""
        await self.not_serving()
        await self.server.stop(self.app.grace_seconds)
        await _cancel(self._tasks)


async def _cancel(tasks: list[asyncio.Task], limit_seconds: float = 10.0) -> None:
    """Cancels ``tasks`` and waits for them, cancelling again those that swallowed it
    (a library awaiting ``wait_for`` can lose one cancellation on Python 3.11)."""
    pending = {t for t in tasks if not t.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_seconds
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
    for task in pending:
        log.warning("background task did not stop", extra={"task": task.get_name()})


async def start(app: GrpcApp) -> RunningServer:
    """Binds and starts the server (port 0 picks a free one) and its background tasks."""
    options: list[tuple[str, int]] = [
        ("grpc.max_receive_message_length", app.max_message_bytes),
        ("grpc.max_send_message_length", app.max_message_bytes),
    ]
    if app.max_connection_age_seconds > 0:
        options += [
            ("grpc.max_connection_age_ms", int(app.max_connection_age_seconds * 1000)),
            ("grpc.max_connection_age_grace_ms", int(app.grace_seconds * 1000)),
        ]
    server = grpc.aio.server(
        interceptors=[
            RpcServerMetrics(),
            ErrorInterceptor(app.error_status_codes),
            *app.interceptors,
        ],
        options=options,
    )
    services = list(app.register(server))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if app.reflection:
        reflection.enable_server_reflection(
            [*services, health.SERVICE_NAME, reflection.SERVICE_NAME], server
        )
    port = server.add_insecure_port(f"{app.host}:{app.port}")
    running = RunningServer(app, server, health_servicer, port)
    running._services = services
    await running._set_serving(False)
    await health_servicer.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)
    await server.start()
    running._tasks.append(asyncio.create_task(running._watch_readiness(), name="readiness"))
    for job in app.background:
        running._tasks.append(asyncio.create_task(_supervise(job), name=job.__qualname__))
    log.info("gRPC server started", extra={"port": port, "grpc_service": app.name})
    return running


async def _supervise(job: Callable[[], Awaitable[None]]) -> None:
    """Runs a background job, restarting it if it ever returns or crashes."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job crashed; restarting")
        await asyncio.sleep(1.0)


async def serve(app: GrpcApp) -> None:
    """Starts the server and waits for SIGTERM/SIGINT, then shuts down gracefully."""
    running = await start(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    if app.shutdown_delay_seconds > 0:
        await running.not_serving()
        log.info("draining: NOT_SERVING, serving %g s more", app.shutdown_delay_seconds)
        stop.clear()
        with contextlib.suppress(TimeoutError):  # a second signal ends the delay
            async with asyncio.timeout(app.shutdown_delay_seconds):
                await stop.wait()
    log.info("shutting down")
    await running.stop()
    log.info("stopped")
