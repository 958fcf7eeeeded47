"""The real stack (PostgreSQL, broker, SMTP catcher, the services as processes, started once
for the session) and cpro-api in process over it, plus what its tests need: users, structures,
API applications and technical accounts made through the gateway's REST API, invoices made by
the invoices service's own writers.

``test_edge_*.py`` need none of this (no stack starts for them alone)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from chorus_cpro_api.app import create_app
from chorus_cpro_api.body_limits import behind_edge_middlewares
from chorus_cpro_api.config import CproApiSettings
from chorus_devstack.supervisor import Stack
from cpro_support import Party, make_party
from e2e_support import Mailbox, client_ip

STACK_ENV = {"CHORUS_TRUSTED_PROXIES": "127.0.0.1"}
"""The tests' address is the gateway's trusted proxy: each test user is another client for
the gateway's per-address login limit (e2e_support.client_ip)."""


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack(tmp_path_factory) -> AsyncIterator[Stack]:
    stack = Stack(
        ephemeral=True,
        ready_timeout=180,
        logs_dir=tmp_path_factory.mktemp("cpro-stack-logs"),
        extra_env=STACK_ENV,
    )
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


def cpro_settings(stack: Stack, **overrides) -> CproApiSettings:
    return CproApiSettings(
        identity_addr=stack.addresses["identity"],
        structures_addr=stack.addresses["structures"],
        invoices_addr=stack.addresses["invoices"],
        notifications_addr=stack.addresses["notifications"],
        kafka_bootstrap=stack.env["CHORUS_KAFKA_BOOTSTRAP"],
        **overrides,
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def cpro_app(stack):
    """cpro-api in process over the stack (its own deny-list feed included)."""
    app = create_app(cpro_settings(stack))
    async with app.router.lifespan_context(app):
        await app.state.revocations_ready()
        yield app


@pytest_asyncio.fixture(loop_scope="session")
async def cpro(cpro_app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=behind_edge_middlewares(cpro_app))
    async with httpx.AsyncClient(transport=transport, base_url="http://cpro", timeout=90) as c:
        yield c


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api(stack) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway's REST API (setting up users, structures, credentials)."""
    async with httpx.AsyncClient(
        base_url=f"{stack.gateway_url}/api/v1", timeout=60, headers={"X-Forwarded-For": client_ip()}
    ) as client:
        yield client


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def mailbox(stack) -> AsyncIterator[Mailbox]:
    url = stack.mail_api_url.removesuffix("/").removesuffix("/api/v1")
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield Mailbox(client)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def supplier(api, mailbox, cpro_app) -> Party:
    transport = httpx.ASGITransport(app=behind_edge_middlewares(cpro_app))
    async with httpx.AsyncClient(transport=transport, base_url="http://cpro") as cpro:
        return await make_party(api, mailbox, cpro, public=False, name="Scierie Fournisseur SARL")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def recipient(api, mailbox, cpro_app) -> Party:
    transport = httpx.ASGITransport(app=behind_edge_middlewares(cpro_app))
    async with httpx.AsyncClient(transport=transport, base_url="http://cpro") as cpro:
        return await make_party(api, mailbox, cpro, public=True, name="Commune de Recette")


@pytest_asyncio.fixture(loop_scope="session")
async def party_factory(api, mailbox, cpro):
    async def make(*, public: bool = False, name: str = "Menuiserie Autre SARL") -> Party:
        return await make_party(api, mailbox, cpro, public=public, name=name)

    return make
