"""End-to-end fixtures: the whole system started for real, driven through the gateway.

By default a fresh stack is started (throwaway PostgreSQL, embedded broker, SMTP catcher, the
five services as processes). To run the same tests against a system already running (for
example `docker compose up` with Mailpit), set CHORUS_E2E_GATEWAY_URL and
CHORUS_E2E_MAIL_API_URL; the broker-outage test needs the stack it starts itself.
"""

from __future__ import annotations

import os

import httpx
import pytest
import pytest_asyncio
from chorus_devstack.supervisor import Stack
from e2e_support import Mailbox, client_ip

# Settings of the stack the tests start: a short lockout so that unlocking can be observed;
# the tests' own address is the gateway's trusted proxy, so each test can act as another
# client with X-Forwarded-For (e2e_support.client_ip).
# The Chorus Pro-compatible API's rate limit per application is lifted: its fuzzing sends
# thousands of requests with one application (the limit is tested in services/cpro-api).
E2E_ENV = {
    "CHORUS_LOGIN_LOCKOUT_SECONDS": "4",
    "CHORUS_TRUSTED_PROXIES": "127.0.0.1",
    "CHORUS_CPRO_RATE_LIMIT_BURST": "100000",
    "CHORUS_CPRO_RATE_LIMIT_PER_MINUTE": "1000000",
}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack(tmp_path_factory):
    if os.environ.get("CHORUS_E2E_GATEWAY_URL"):
        yield None
        return
    stack = Stack(
        ephemeral=True,
        ready_timeout=120,
        logs_dir=tmp_path_factory.mktemp("logs"),
        extra_env=E2E_ENV,
    )
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


@pytest.fixture(scope="session")
def gateway_url(stack):
    return os.environ.get("CHORUS_E2E_GATEWAY_URL") or stack.gateway_url


@pytest.fixture(scope="session")
def mail_api_url(stack):
    url = os.environ.get("CHORUS_E2E_MAIL_API_URL") or stack.mail_api_url
    return url.removesuffix("/").removesuffix("/api/v1")


@pytest_asyncio.fixture(loop_scope="session")
async def api(gateway_url):
    # Each test is its own client for the gateway's per-IP rate limit.
    headers = {"X-Forwarded-For": client_ip()}
    async with httpx.AsyncClient(
        base_url=f"{gateway_url}/api/v1", timeout=30, headers=headers
    ) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def mailbox(mail_api_url):
    async with httpx.AsyncClient(base_url=mail_api_url, timeout=10) as client:
        yield Mailbox(client)
