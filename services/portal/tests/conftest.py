"""In-process grpc.aio stand-ins for the four services, and a portal wired to them.

The doubles are :mod:`chorus_edge.testing`'s, shared with the gateway's tests: both are
backends-for-frontend of the same four services. The portal's tests keep the gateway's
fixture names (``api`` is the HTTP client on the portal, ``gateway(settings)`` starts one with
its own settings) so the tests moved from the gateway (#13) read as they did.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import pytest_asyncio

from chorus_edge.testing import Doubles, running_doubles
from chorus_portal.app import create_app
from chorus_portal.config import PortalSettings


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def doubles() -> AsyncIterator[Doubles]:
    async with running_doubles(PortalSettings) as found:
        yield found


@pytest_asyncio.fixture(loop_scope="session")
async def services(doubles: Doubles) -> AsyncIterator[Doubles]:
    """The doubles, reset and SERVING for this test."""
    yield await doubles.fresh()


@pytest.fixture
def settings(services: Doubles) -> PortalSettings:
    return services.settings()


@asynccontextmanager
async def start_portal(settings: PortalSettings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on a portal whose lifespan runs (channels open), from 203.0.113.7."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


@pytest.fixture
def gateway() -> Callable[[PortalSettings], Any]:
    """``async with gateway(settings) as client`` for tests needing their own settings."""
    return start_portal


@pytest_asyncio.fixture(loop_scope="session")
async def api(settings: PortalSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with start_portal(settings) as client:
        yield client


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="chorus_portal.access")
    return caplog
