"""The FastAPI application: the REST API, probes and JWKS over one set of clients (the web
portal is its own service, ``chorus_portal``, relayed by :mod:`~chorus_gateway.portal_proxy`)."""

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
from chorus_gateway.api import API_PREFIX, api_router
from chorus_gateway.api import docs as docs_api
from chorus_gateway.api import health as health_api
from chorus_gateway.api.openapi import install_openapi
from chorus_gateway.config import GatewaySettings

DESCRIPTION = """\
API REST de Chorus, le portail public de facturation électronique.

- Authentification : `Authorization: Bearer <access_token>` (obtenu par `POST /auth/token`).
- Erreurs : `application/problem+json` (RFC 9457) avec un `code` stable et `errors[]` par champ.
- Montants : chaînes décimales (`"1200.00"`) ; les nombres JSON sont acceptés mais déconseillés.
- Listes : `?page_size=` (100 au plus) et `?page_token=` ; réponse `{items, next_page_token}`.
"""


def create_app(settings: GatewaySettings) -> FastAPI:
    """The gateway app; channels to the services open at startup and close at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = ServiceClients.open(settings)
        try:
            yield
        finally:
            await app.state.clients.close()

    # No default_response_class: a route with a return type is answered with pydantic's
    # dump_json (about 4 µs for an invoice); ORJSONResponse or JSONResponse would take it
    # through jsonable_encoder first (about 100 µs). Measured for #16.
    app = FastAPI(
        title="Chorus API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # api/docs.py serves Swagger UI from the gateway, not from a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(
        burst=settings.rate_limit_burst, per_minute=settings.rate_limit_per_minute
    )
    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(health_api.router)
    app.mount(
        docs_api.SWAGGER_UI_URL,
        StaticFiles(directory=docs_api.SWAGGER_UI_DIR),
        name="swagger-ui",
    )
    app.mount(docs_api.INIT_URL, StaticFiles(directory=docs_api.INIT_DIR), name="api-docs")
    # Added last = outermost: the client address is known to every layer below, the headers
    # complete every answer (error answers included).
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware, logger="chorus_gateway.access")
    app.add_middleware(
        ClientAddressMiddleware,
        proxies=TrustedProxies(
            hops=settings.trusted_proxy_hops, networks=settings.trusted_proxy_networks
        ),
    )
    install_openapi(app)
    return app
