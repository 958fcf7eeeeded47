"""The FastAPI application: the token endpoint and ``/cpro/**`` over one set of clients."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chorus_platform.access_tokens import CPRO_CLIENT_AUDIENCE
from chorus_platform.auth import KeyFetcher, TokenVerifier
from chorus_platform.grpc_client import identity_key_fetcher, identity_revocation_feed
from chorus_platform.http_access_log import AccessLogMiddleware
from fastapi import FastAPI

from chorus_cpro_api.api import router
from chorus_cpro_api.api.error_handlers import install_error_handlers
from chorus_cpro_api.clients import ServiceClients
from chorus_cpro_api.config import CproApiSettings
from chorus_cpro_api.edge.credentials import Authenticator
from chorus_cpro_api.edge.rate_limits import RateLimiter


def create_app(
    settings: CproApiSettings,
    *,
    follow_revocations: bool = True,
    key_fetcher: KeyFetcher | None = None,
) -> FastAPI:
    """The API; channels open at startup and close at shutdown. ``follow_revocations`` runs
    identity's deny-list feed (tests without a broker turn it off); ``key_fetcher`` replaces
    identity's GetPublicKeys (tests signing their own tokens)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        clients = ServiceClients.open(settings)
        app.state.clients = clients
        feed = identity_revocation_feed(settings) if follow_revocations else None
        verifier = TokenVerifier(
            key_fetcher or identity_key_fetcher(clients.channels["identity"]),
            audience=CPRO_CLIENT_AUDIENCE,
            revoked=feed.revoked if feed is not None else None,
        )
        app.state.authenticator = Authenticator(
            verifier=verifier,
            identity=clients.identity,
            limiter=app.state.rate_limiter,
            revoked=feed.revoked if feed is not None else None,
            cache_seconds=settings.cpro_account_cache_seconds,
        )
        app.state.revocations_ready = feed.ready if feed is not None else None
        task = asyncio.create_task(feed.run()) if feed is not None else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await clients.close()

    app = FastAPI(
        title="Chorus — API compatible Chorus Pro",
        version="1.0.0",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(
        burst=settings.cpro_rate_limit_burst, per_minute=settings.cpro_rate_limit_per_minute
    )
    install_error_handlers(app)
    app.include_router(router)
    app.add_middleware(AccessLogMiddleware, logger="chorus_cpro_api.access")
    return app
