"""Benchmark of a Chorus Pro flow (`make bench`): one tar.gz of 1,000 invoices through
DepositFlow (what ``deposer/flux`` calls), from the deposit to IN_INTEGRE and on to every
invoice ``MISE_A_DISPOSITION``.

A throwaway stack (PostgreSQL, embedded broker, SMTP catcher, the five services as processes,
default settings: one document worker) is started; a supplier user and structure are made
through the gateway, a portal invoice to the seeded "Ministère de la Démonstration" gives the
template, and ``CHORUS_BENCH_FLOW_INVOICES`` (default 1,000) UBL 2.1 invoices are written from
it with fresh numbers and packed in one tar.gz before the clock starts (as the OCA connector
sends a lot). The flow is deposited over gRPC with the user's token (the Chorus Pro-compatible
API is a translation in front of the same RPC) and followed with GetFlow until it is decided
(``bench_stack.deposit_flow``, which the sustained bench runs too). Measured: the time
DepositFlow takes to answer (the archive stored, IN_EN_ATTENTE), from the deposit to IN_INTEGRE,
and from the deposit to the last ``MISE_A_DISPOSITION`` entry of its invoices' histories (read
from the invoices database; the stack runs on the same machine, so the clocks compare). Every
file goes through the XSD, the EN 16931 schematron and the deposit checks in the flow worker.

It prints the figures; it asserts only that the flow was integrated whole and every invoice
of it routed.
"""

from __future__ import annotations

import asyncio
import uuid

import bench_stack
import httpx
import pytest
import pytest_asyncio
from bench_stack import deposit_flow, machine, portal_body, supplier_structure
from chorus_devstack.supervisor import Stack
from chorus_invoices.documents.facturx import read_facturx_model
from e2e_support import PUBLIC_RECIPIENT_SIRET, Mailbox, activated_user, client_ip, random_siret

FLOW_INVOICES = max(1, bench_stack.FLOW_INVOICES)  # this bench is the flow: at least one
DECISION_TIMEOUT = 1800

pytestmark = pytest.mark.timeout(DECISION_TIMEOUT + 900)


@pytest_asyncio.fixture
async def stack(tmp_path_factory):
    stack = Stack(ephemeral=True, ready_timeout=180, logs_dir=tmp_path_factory.mktemp("logs"))
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


async def test_a_thousand_invoice_flow_from_deposit_to_available(stack):
    base = f"{stack.gateway_url}/api/v1"
    async with (
        httpx.AsyncClient(
            base_url=base, timeout=60, headers={"X-Forwarded-For": client_ip()}
        ) as api,
        httpx.AsyncClient(
            base_url=stack.mail_api_url.removesuffix("/").removesuffix("/api/v1"), timeout=10
        ) as mail,
    ):
        _, _, auth = await activated_user(api, Mailbox(mail), "Flavie")
        supplier = await supplier_structure(api, auth, random_siret())
        number = f"T-{uuid.uuid4().hex[:6]}"
        body = portal_body(supplier["id"], PUBLIC_RECIPIENT_SIRET, number)
        # The first deposit may find the document worker still compiling the schematrons
        # (503 DOCUMENT_WORKERS_STARTING on a busy machine): it is tried again.
        for _ in range(12):
            created = await api.post("/invoices", json=body, headers=auth)
            if created.status_code != 503:
                break
            await asyncio.sleep(5)
        assert created.status_code == 201, created.text
        # The PDF may be rendered after the answer ("en préparation" for a moment).
        for _ in range(120):
            document = await api.get(f"/invoices/{created.json()['id']}/document", headers=auth)
            if document.status_code == 200 and document.content.startswith(b"%PDF"):
                break
            await asyncio.sleep(0.5)
        assert document.status_code == 200, document.text
    template = read_facturx_model(document.content)

    flow = await deposit_flow(
        stack, auth, supplier["id"], template, FLOW_INVOICES, decision_timeout=DECISION_TIMEOUT
    )

    assert not flow.refused, flow.refused[:3]
    assert flow.invoices == flow.routed == FLOW_INVOICES
    print()
    print(f"Chorus Pro flow (DepositFlow), one tar.gz of {FLOW_INVOICES} UBL invoices")
    print(f"  machine: {machine()}")
    print(f"  archive                                 {flow.archive_bytes / 1024:8.0f} KiB")
    print(f"  DepositFlow answered (IN_EN_ATTENTE)    {flow.answered * 1000:8.0f} ms")
    print(f"  deposit -> IN_INTEGRE                   {flow.integrated:8.1f} s")
    print(f"  deposit -> every MISE_A_DISPOSITION     {flow.disposed:8.1f} s")
    print(
        f"  throughput                              {FLOW_INVOICES / flow.disposed:8.1f} "
        "invoices/s (to MISE_A_DISPOSITION)"
    )
    print(f"  service logs: {stack.logs_dir}")
