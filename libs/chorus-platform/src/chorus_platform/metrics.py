"""Metrics: the OpenTelemetry SDK, exported in the Prometheus text format on an admin port.

:func:`setup_metrics` installs the process's meter provider once (``service.name`` as in
:mod:`chorus_platform.telemetry`, copied onto every series as ``service_name``; nothing when
``OTEL_SDK_DISABLED=true``). :func:`serve_metrics` runs it plus the admin HTTP endpoint on
``CHORUS_METRICS_HOST:CHORUS_METRICS_PORT`` (``0``: no endpoint) for as long as the service
serves: ``GET /metrics`` answers the Prometheus text format, ``GET /healthz`` ``ok`` (liveness).

The endpoint is a small asyncio server in the service's own loop rather than
``prometheus_client.start_http_server``: no extra thread per process, it closes with the
service, and it binds its port before the service reports itself started (a taken port fails
the start instead of a thread logging it). Rendering the text runs in a worker thread: the
observable gauges' callbacks read only values kept in memory (:class:`LastValues`), never the
database or the broker, so a scrape costs no I/O and never blocks the loop.

Instruments are created at import time from ``opentelemetry.metrics.get_meter`` (the API's
proxy binds them to the provider once it is installed); the names are the contract's
(docs/design/production.md section 2, docs/metrics.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

import grpc
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from chorus_platform.settings import ChorusSettings

log = logging.getLogger(__name__)

#: Histogram bucket bounds, in seconds: from a fast query (5 ms) to a slow render (10 s).
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

_lock = threading.Lock()
_registry: CollectorRegistry | None = None


def _enabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() != "true"


def setup_metrics(service: str, settings: ChorusSettings | None = None) -> bool:
    """Installs the meter provider with a Prometheus reader, once per process; False when
    ``OTEL_SDK_DISABLED=true`` (the instruments then record nothing)."""
    global _registry
    del settings  # the endpoint's settings are read by serve_metrics
    with _lock:
        if _registry is not None:
            return True
        if not _enabled():
            return False
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics import Histogram, MeterProvider
        from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
        from opentelemetry.sdk.resources import Resource
        from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

        registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        reader = PrometheusMetricReader(
            scope_info_enabled=False,
            disable_target_info=True,
            resource_attribute_filter=lambda key: key == "service.name",
            registry=registry,
        )
        provider = MeterProvider(
            metric_readers=[reader],
            resource=Resource.create(
                {"service.name": os.environ.get("OTEL_SERVICE_NAME") or f"chorus-{service}"}
            ),
            views=[
                View(
                    instrument_type=Histogram,
                    aggregation=ExplicitBucketHistogramAggregation(SECONDS_BUCKETS),
                )
            ],
        )
        metrics.set_meter_provider(provider)
        _registry = registry
        return True


def render() -> bytes:
    """The current metrics in the Prometheus text format (empty when metrics are off)."""
    from prometheus_client import generate_latest

    return generate_latest(_registry) if _registry is not None else b""


@contextlib.asynccontextmanager
async def serve_metrics(settings: ChorusSettings) -> AsyncIterator[int]:
    """Installs metrics (:func:`setup_metrics`) and serves the admin endpoint inside the
    block; yields its port (0: off)."""
    setup_metrics(settings.service_name, settings)
    port = settings.metrics_port or 0
    if port == 0:
        yield 0
        return
    server = await asyncio.start_server(_answer, settings.metrics_host, port)
    bound = server.sockets[0].getsockname()[1]
    log.info("metrics endpoint started", extra={"host": settings.metrics_host, "port": bound})
    try:
        yield bound
    finally:
        server.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await server.wait_closed()


_CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
_MAX_HEAD_BYTES = 8192


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One HTTP/1.x request, one answer, then the connection closes."""
    try:
        async with asyncio.timeout(10):
            head = await reader.readuntil(b"\r\n\r\n")
            status, body, content_type = await _route(head[:_MAX_HEAD_BYTES])
            writer.write(
                b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n" % (status, content_type, len(body))
            )
            if not head.startswith(b"HEAD "):
                writer.write(body)
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
        pass  # a client that went away or sent no HTTP head gets nothing
    except Exception:
        log.warning("metrics endpoint failed to answer", exc_info=True)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _route(head: bytes) -> tuple[bytes, bytes, bytes]:
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
        return b"400 Bad Request", b"bad request\n", b"text/plain"
    method, target = parts[0], parts[1].split(b"?", 1)[0]
    if method not in (b"GET", b"HEAD"):
        return b"405 Method Not Allowed", b"GET only\n", b"text/plain"
    if target == b"/metrics":
        return b"200 OK", await asyncio.to_thread(render), _CONTENT_TYPE
    if target == b"/healthz":
        return b"200 OK", b"ok\n", b"text/plain"
    return b"404 Not Found", b"not found\n", b"text/plain"


class LastValues:
    """An observable gauge reporting the last value set per label set.

    Callbacks of observable gauges run at scrape time and are synchronous: whatever needs I/O
    (a count in a table, the broker's offsets) is measured by the code that owns the
    connection, on its own schedule, and :meth:`set` here; the scrape reads the last values.
    """

    def __init__(self, meter: metrics.Meter, name: str, *, unit: str = "", description: str):
        self._values: dict[tuple[tuple[str, str], ...], float] = {}
        meter.create_observable_gauge(
            name, callbacks=[self._observe], unit=unit, description=description
        )

    def set(self, value: float, attributes: dict[str, str] | None = None) -> None:
        self._values[tuple(sorted((attributes or {}).items()))] = value

    def forget(self, match: Callable[[dict[str, str]], bool]) -> None:
        """Drops the series whose labels ``match`` (a partition no longer assigned…)."""
        for key in [key for key in self._values if match(dict(key))]:
            self._values.pop(key, None)

    def get(self, attributes: dict[str, str] | None = None) -> float | None:
        return self._values.get(tuple(sorted((attributes or {}).items())))

    def _observe(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(value, dict(key)) for key, value in list(self._values.items())]


async def poll_every(
    seconds: float, measure: Callable[[], Awaitable[None]], *, limit_seconds: float = 5.0
) -> None:
    """Runs ``measure`` every ``seconds`` until cancelled, each bounded by ``limit_seconds``;
    a failure (database away…) is logged at debug level and retried on the next round."""
    while True:
        try:
            async with asyncio.timeout(limit_seconds):
                await measure()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.debug("metric measurement failed: %r", exc)
        await asyncio.sleep(seconds)


# --- gRPC (server and client RED) --------------------------------------------------------------

_rpc_meter = metrics.get_meter("chorus_platform.grpc")
_rpc_server_duration = _rpc_meter.create_histogram(
    "rpc.server.call.duration",
    unit="s",
    description="Duration of the gRPC calls this service answered, by method and status code.",
)
_rpc_client_duration = _rpc_meter.create_histogram(
    "rpc.client.call.duration",
    unit="s",
    description="Duration of the gRPC calls this service made, by method and status code.",
)


def _rpc_attributes(method: str | bytes, code: object) -> dict[str, str]:
    if isinstance(method, bytes):
        method = method.decode("ascii", "replace")
    service, _, name = method.lstrip("/").partition("/")
    return {
        "rpc.system": "grpc",
        "rpc.service": service,
        "rpc.method": name,
        "rpc.grpc.status_code": getattr(code, "name", None) or str(code),
    }


class RpcServerMetrics(grpc.aio.ServerInterceptor):
    """Records ``rpc.server.call.duration`` of every unary call with its final status code.

    Put first in the server's interceptors: it then also sees the codes the other
    interceptors answer with (UNAUTHENTICATED, the error mapping's INTERNAL…)."""

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        method = handler_call_details.method

        async def measured(request, context):
            loop = asyncio.get_running_loop()
            started = loop.time()
            code = grpc.StatusCode.UNKNOWN
            try:
                response = await inner(request, context)
                code = context.code() or grpc.StatusCode.OK
                return response
            except grpc.aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            finally:
                _rpc_server_duration.record(loop.time() - started, _rpc_attributes(method, code))

        return handler._replace(unary_unary=measured)


class RpcClientMetrics(grpc.aio.UnaryUnaryClientInterceptor):
    """Records ``rpc.client.call.duration`` of every unary call a channel makes."""

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        loop = asyncio.get_running_loop()
        started = loop.time()
        code = grpc.StatusCode.UNKNOWN
        try:
            call = await continuation(client_call_details, request)
            code = await call.code()
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except grpc.aio.AioRpcError as error:
            code = error.code()
            raise
        finally:
            _rpc_client_duration.record(
                loop.time() - started, _rpc_attributes(client_call_details.method, code)
            )
        return call


# --- HTTP (gateway, cpro-api) ---------------------------------------------------------------------

_http_duration = metrics.get_meter("chorus_platform.http").create_histogram(
    "http.server.request.duration",
    unit="s",
    description="Duration of the HTTP requests answered, by method, route template and status.",
)
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Probes' paths: kept out so that they do not drown the error ratio of real traffic.
_UNMEASURED_PATHS = frozenset({"/healthz", "/readyz"})


def _route_template(scope) -> str | None:
    """The matched route's template with the prefix of the routers it was included under:
    FastAPI keeps an included route's own path (``/invoices/{invoice_id}``), so the prefix is
    the part of the request path before the suffix the route's pattern matches."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not template:
        return None
    path, pattern = scope.get("path", ""), getattr(route, "path_regex", None)
    if pattern is None or pattern.match(path):
        return template
    for index in range(1, len(path)):
        if path[index] == "/" and pattern.match(path[index:]):
            return path[:index] + template
    return template


class HttpServerMetrics:
    """ASGI middleware recording ``http.server.request.duration``; add it to the FastAPI app
    (``app.add_middleware``) so that, once the router matched, the request's ``route`` is in
    the scope: ``http.route`` is the route's template (``/api/v1/invoices/{invoice_id}``, the
    mount's path included), never the raw path, and is left out for a request no route
    matched (a 404). Install it with :func:`measure_http`."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("path") in _UNMEASURED_PATHS:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        status = 500  # an exception before any answer: the server sends a 500

        async def send_recording_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            method = scope.get("method", "")
            attributes: dict[str, str | int] = {
                "http.request.method": method if method in _HTTP_METHODS else "_OTHER",
                "http.response.status_code": status,
            }
            template = _route_template(scope)
            if template:
                attributes["http.route"] = template
            _http_duration.record(loop.time() - started, attributes)


def measure_http(app) -> None:
    """Adds :class:`HttpServerMetrics` to a FastAPI ``app`` (before it starts) as its innermost
    middleware, next to the router: it must share the scope the router writes the route
    into, and an outer middleware may hand on a copy (the gateway's client address does).
    FastAPI's native instrument of the same name is turned off: one HTTP metric, one set of
    labels (it would otherwise record whenever no OpenTelemetry instrumentation wraps the
    app)."""
    from starlette.middleware import Middleware

    app.user_middleware.append(Middleware(HttpServerMetrics))
    native = getattr(app, "_telemetry", None)
    if isinstance(native, dict):
        native["metrics"] = False
