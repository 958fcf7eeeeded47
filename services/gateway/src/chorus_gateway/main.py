"""Entry point: ``chorus-gateway serve`` runs the HTTP server until SIGTERM."""

from __future__ import annotations

import logging

import uvicorn
from chorus_platform import http_drain, telemetry
from chorus_platform.cli import run_cli
from chorus_platform.metrics import measure_http, serve_metrics
from chorus_platform.settings import ChorusSettings
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.metrics import NoOpMeterProvider

from chorus_edge.body_limits import behind_edge_middlewares
from chorus_edge.serving import WithoutColorMessage, path_only
from chorus_gateway.app import create_app
from chorus_gateway.config import GatewaySettings
from chorus_gateway.cpro_proxy import CproProxy
from chorus_gateway.portal_proxy import PortalProxy


def server_config(settings: GatewaySettings) -> uvicorn.Config:
    """uvicorn settings: our JSON logging (log_config=None) and our own access log.

    uvicorn's access log prints the query string, where the activation token travels, so it
    stays off; :class:`~chorus_platform.http_access_log.AccessLogMiddleware` logs paths only.
    The edge middlewares (:func:`~chorus_edge.body_limits.behind_edge_middlewares`) wrap
    everything, OpenTelemetry's included: bodies are bounded before routing and parsing, and
    the client's trace context headers are gone before the instrumentation reads them.
    Outside them all, :class:`~chorus_gateway.cpro_proxy.CproProxy` relays the Chorus
    Pro-compatible paths to cpro-api and :class:`~chorus_gateway.portal_proxy.PortalProxy`
    every other path the gateway does not own to the portal.
    """
    app = create_app(settings)
    # http.server.request.duration with the route template (chorus_platform.metrics).
    measure_http(app)
    if telemetry.configured():  # by run_cli's ``serve``
        FastAPIInstrumentor.instrument_app(
            app,
            excluded_urls="healthz,readyz",
            server_request_hook=path_only,
            # spans only: HttpServerMetrics is the one HTTP metric
            meter_provider=NoOpMeterProvider(),
        )
    return uvicorn.Config(
        CproProxy(
            PortalProxy(behind_edge_middlewares(app), settings.portal_backend_url),
            settings.cpro_api_url,
        ),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        # The client address is resolved by the app (edge.client_address), from the
        # configured proxies only: uvicorn's own X-Forwarded-For handling stays off.
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
        # run_cli starts the loop (uvloop unless CHORUS_EVENT_LOOP=asyncio); uvicorn reads
        # ``loop`` only when it starts one itself. httptools parses HTTP/1.1 in C.
        loop=settings.event_loop,
        http="httptools" if settings.event_loop == "uvloop" else "h11",
    )


async def serve(settings: ChorusSettings) -> None:
    """Serves HTTP until SIGTERM: not ready at once, serving ``shutdown_delay_seconds`` more,
    then uvicorn stops accepting, drains and runs the shutdown (``chorus_platform.http_drain``).
    """
    assert isinstance(settings, GatewaySettings)
    logging.getLogger("uvicorn.error").addFilter(WithoutColorMessage())
    async with serve_metrics(settings):
        await http_drain.serve(server_config(settings), settings.shutdown_delay_seconds)


def main() -> None:
    run_cli(GatewaySettings(), serve=serve, migrations_dir=None)
