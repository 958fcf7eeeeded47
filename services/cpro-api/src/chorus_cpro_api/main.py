"""Entry point: ``chorus-cpro-api serve`` runs the HTTP server until SIGTERM."""

from __future__ import annotations

import logging

import uvicorn
from chorus_platform import http_drain, telemetry
from chorus_platform.cli import run_cli
from chorus_platform.metrics import measure_http, serve_metrics
from chorus_platform.settings import ChorusSettings
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.metrics import NoOpMeterProvider

from chorus_cpro_api.app import create_app
from chorus_cpro_api.body_limits import behind_edge_middlewares
from chorus_cpro_api.config import CproApiSettings


def server_config(settings: CproApiSettings) -> uvicorn.Config:
    """uvicorn settings: our JSON logging and access log (paths only, never headers), the edge
    middlewares around everything (OpenTelemetry's included)."""
    app = create_app(settings)
    # http.server.request.duration with the route template (chorus_platform.metrics).
    measure_http(app)
    if telemetry.configured():
        FastAPIInstrumentor.instrument_app(
            app,
            excluded_urls="healthz,readyz",
            server_request_hook=_path_only,
            # spans only: HttpServerMetrics is the one HTTP metric
            meter_provider=NoOpMeterProvider(),
        )
    return uvicorn.Config(
        behind_edge_middlewares(app),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
        # run_cli starts the loop (uvloop unless CHORUS_EVENT_LOOP=asyncio); uvicorn reads
        # ``loop`` only when it starts one itself. httptools parses HTTP/1.1 in C.
        loop=settings.event_loop,
        http="httptools" if settings.event_loop == "uvloop" else "h11",
    )


_URL_ATTRIBUTES = ("http.url", "http.target", "url.full", "url.query")


def _path_only(span, scope: dict) -> None:
    if span is None or not span.is_recording():
        return
    for name in _URL_ATTRIBUTES:
        span.set_attribute(name, "" if name == "url.query" else scope.get("path", ""))


class _WithoutColorMessage(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


async def serve(settings: ChorusSettings) -> None:
    """Serves HTTP until SIGTERM: not ready at once, serving ``shutdown_delay_seconds`` more,
    then uvicorn stops accepting, drains and runs the shutdown (``chorus_platform.http_drain``).
    """
    assert isinstance(settings, CproApiSettings)
    logging.getLogger("uvicorn.error").addFilter(_WithoutColorMessage())
    async with serve_metrics(settings):
        await http_drain.serve(server_config(settings), settings.shutdown_delay_seconds)


def main() -> None:
    run_cli(CproApiSettings(), serve=serve, migrations_dir=None)
