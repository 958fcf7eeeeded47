"""Entry point: ``chorus-portal serve`` runs the portal's HTTP server until SIGTERM."""

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
from chorus_portal.app import create_app
from chorus_portal.config import PortalSettings
from chorus_portal.web import pages


def error_page(title: str, message: str, signed_in: bool) -> str:
    """The French error page of a request refused before the app (body limits)."""
    return pages.templates.get_template("erreur.html").render(
        title=title, message=message, signed_in=signed_in
    )


def server_config(settings: PortalSettings) -> uvicorn.Config:
    """uvicorn settings, as the gateway's: our JSON logging, our access log (paths only: the
    activation and reset tokens travel in query strings), the edge middlewares
    (:func:`~chorus_edge.body_limits.behind_edge_middlewares`: deposits bounded before they
    are read, the client's trace context dropped) outside everything, OpenTelemetry included.
    """
    app = create_app(settings)
    measure_http(app)
    if telemetry.configured():  # by run_cli's ``serve``
        FastAPIInstrumentor.instrument_app(
            app,
            excluded_urls="healthz,readyz,livez,static",
            server_request_hook=path_only,
            meter_provider=NoOpMeterProvider(),
        )
    return uvicorn.Config(
        behind_edge_middlewares(app, page=error_page, page_headers=pages.SECURITY_HEADERS),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        # The client address is resolved by the app (chorus_edge.client_address), from the
        # configured proxies only (the gateway's relay in development, the Ingress in
        # Kubernetes): uvicorn's own X-Forwarded-For handling stays off.
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
        loop=settings.event_loop,
        http="httptools" if settings.event_loop == "uvloop" else "h11",
    )


async def serve(settings: ChorusSettings) -> None:
    """Serves HTTP until SIGTERM: not ready at once, serving ``shutdown_delay_seconds`` more,
    then uvicorn stops accepting, drains and runs the shutdown (``chorus_platform.http_drain``).
    """
    assert isinstance(settings, PortalSettings)
    logging.getLogger("uvicorn.error").addFilter(WithoutColorMessage())
    async with serve_metrics(settings):
        await http_drain.serve(server_config(settings), settings.shutdown_delay_seconds)


def main() -> None:
    run_cli(PortalSettings(), serve=serve, migrations_dir=None)
