"""The FastAPI application of the web portal: the French pages, ``/static`` and the probes
over one set of service clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chorus_platform.http_access_log import AccessLogMiddleware
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from chorus_edge.client_address import ClientAddressMiddleware, TrustedProxies
from chorus_edge.clients import ServiceClients
from chorus_edge.error_handlers import install_error_handlers
from chorus_edge.rate_limits import RateLimiter
from chorus_edge.security_headers import SecurityHeadersMiddleware
from chorus_portal import health
from chorus_portal.config import PortalSettings
from chorus_portal.web import pages, portal_router


def create_app(settings: PortalSettings) -> FastAPI:
    """The portal app; channels to the services open at startup and close at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = ServiceClients.open(settings)
        try:
            yield
        finally:
            await app.state.clients.close()

    app = FastAPI(
        title="Chorus — portail",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    # The per-IP buckets of login, second factor, password reset and activation resend: the
    # portal's forms draw from them as the REST API's doors do from the gateway's.
    app.state.rate_limiter = RateLimiter(
        burst=settings.rate_limit_burst, per_minute=settings.rate_limit_per_minute
    )
    install_error_handlers(app, html_page=pages.error_page)
    app.include_router(health.router)
    app.include_router(portal_router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    # Added last = outermost: the client address is known to every layer below, the headers
    # complete every answer (error pages included).
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware, logger="chorus_portal.access")
    app.add_middleware(
        ClientAddressMiddleware,
        proxies=TrustedProxies(
            hops=settings.trusted_proxy_hops, networks=settings.trusted_proxy_networks
        ),
    )
    return app
