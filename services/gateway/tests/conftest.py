"""A gateway wired to in-process grpc.aio stand-ins for the four services
(:mod:`chorus_edge.testing`, shared with the portal's tests)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import pytest_asyncio

from chorus_edge.testing import Doubles, running_doubles
from chorus_gateway.app import create_app
from chorus_gateway.config import GatewaySettings


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def doubles() -> AsyncIterator[Doubles]:
    async with running_doubles(GatewaySettings) as found:
        yield found


@pytest_asyncio.fixture(loop_scope="session")
async def services(doubles: Doubles) -> AsyncIterator[Doubles]:
    """The doubles, reset and SERVING for this test."""
    yield await doubles.fresh()


@pytest.fixture
def settings(services: Doubles) -> GatewaySettings:
    return services.settings()


@asynccontextmanager
async def start_gateway(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on a gateway whose lifespan runs (channels open), from 203.0.113.7."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


@pytest.fixture
def gateway() -> Callable[[GatewaySettings], Any]:
    """``async with gateway(settings) as client`` for tests needing their own settings."""
    return start_gateway


@pytest_asyncio.fixture(loop_scope="session")
async def api(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with start_gateway(settings) as client:
        yield client


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="chorus_gateway.access")
    return caplog
