"""Benchmark of a Chorus Pro flow (`make bench`): one tar.gz of 1,000 invoices through
DepositFlow (what ``deposer/flux`` calls), from the deposit to IN_INTEGRE.

A throwaway stack (PostgreSQL, embedded broker, SMTP catcher, the five services as processes,
default settings: one document worker) is started; a supplier user and structure are made
through the gateway, a portal invoice to the seeded "Ministère de la Démonstration" gives the
template, and ``CHORUS_BENCH_FLOW_INVOICES`` (default 1,000) UBL 2.1 invoices are written from
it with fresh numbers and packed in one tar.gz before the clock starts (as the OCA connector
sends a lot). The flow is deposited over gRPC with the user's token (the Chorus Pro-compatible
API is a translation in front of the same RPC) and followed with GetFlow until it is decided.
Measured: the time DepositFlow takes to answer (the archive stored, IN_EN_ATTENTE), and from
the deposit to IN_INTEGRE: seconds and invoices per second. Every file goes through the XSD,
the EN 16931 schematron and the deposit checks in the flow worker, one after the other.

It prints the figures; it asserts only that the flow was integrated whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import os
import platform
import tarfile
import time
import uuid
from datetime import date

import grpc
import httpx
import pytest
import pytest_asyncio
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.invoices.v1 import invoices_service_pb2_grpc as pb_grpc
from chorus_devstack.supervisor import Stack
from chorus_invoices.documents.facturx import read_facturx_model
from chorus_invoices.documents.ubl_writer import write_model
from e2e_support import PUBLIC_RECIPIENT_SIRET, Mailbox, activated_user, client_ip, random_siret

FLOW_INVOICES = int(os.environ.get("CHORUS_BENCH_FLOW_INVOICES", "1000"))
DECISION_TIMEOUT = 1800
PENDING = (
    pb.FLOW_STATE_IN_EN_ATTENTE_TRAITEMENT_CPP,
    pb.FLOW_STATE_IN_EN_COURS_TRAITEMENT_CPP,
)

pytestmark = pytest.mark.timeout(DECISION_TIMEOUT + 300)


@pytest_asyncio.fixture
async def stack(tmp_path_factory):
    stack = Stack(ephemeral=True, ready_timeout=180, logs_dir=tmp_path_factory.mktemp("logs"))
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


async def supplier_structure(api: httpx.AsyncClient, auth: dict[str, str]) -> dict:
    response = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": "Imprimerie du Flux d'Essai",
            "address": {
                "line1": "7 rue des Presses",
                "postal_code": "38000",
                "city": "Grenoble",
                "country": "FR",
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def portal_body(supplier_id: str, number: str) -> dict:
    return {
        "supplier_structure_id": supplier_id,
        "recipient": {"identifier_type": "SIRET", "identifier": PUBLIC_RECIPIENT_SIRET},
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": number,
        "issue_date": date.today().isoformat(),
        "currency": "EUR",
        "lines": [
            {
                "description": "Ramettes de papier recyclé A4",
                "quantity": "12",
                "unit": "C62",
                "unit_price": "4.35",
                "vat_rate": "20",
            },
            {
                "description": "Reliure de rapports",
                "quantity": "3",
                "unit": "C62",
                "unit_price": "12.90",
                "vat_rate": "10",
            },
        ],
    }


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def machine() -> str:
    uname = platform.uname()
    model = platform.processor() or uname.machine
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, {uname.system} {uname.release}"


async def test_a_thousand_invoice_flow_from_deposit_to_integrated(stack):
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
        supplier = await supplier_structure(api, auth)
        run = uuid.uuid4().hex[:6]
        # The first deposit may find the document worker still compiling the schematrons
        # (503 DOCUMENT_WORKERS_STARTING on a busy machine): it is tried again.
        for _ in range(12):
            created = await api.post(
                "/invoices", json=portal_body(supplier["id"], f"T-{run}"), headers=auth
            )
            if created.status_code != 503:
                break
            await asyncio.sleep(5)
        assert created.status_code == 201, created.text
        document = await api.get(f"/invoices/{created.json()['id']}/document", headers=auth)
        assert document.status_code == 200, document.text
    template = read_facturx_model(document.content)
    files = await asyncio.to_thread(
        lambda: {
            f"UBL-FL-{run}-{i:04d}.xml": write_model(
                dataclasses.replace(template, number=f"FL-{run}-{i:04d}")
            )
            for i in range(FLOW_INVOICES)
        }
    )
    archive = await asyncio.to_thread(tar_gz, files)
    request = pb.DepositFlowRequest(
        supplier_structure_id=supplier["id"],
        file_name="UBL_chorus_lot_factures.tar.gz",
        syntax="IN_DP_E1_UBL_INVOICE",
        content=archive,
    )
    metadata = (("authorization", auth["Authorization"]),)
    async with grpc.aio.insecure_channel(
        stack.env["CHORUS_INVOICES_ADDR"],
        options=[("grpc.max_send_message_length", 16 * 1024 * 1024)],
    ) as channel:
        stub = pb_grpc.InvoicesServiceStub(channel)
        start = time.perf_counter()
        flow = (await stub.DepositFlow(request, metadata=metadata, timeout=60)).flow
        answered = time.perf_counter() - start
        assert flow.state == pb.FLOW_STATE_IN_EN_ATTENTE_TRAITEMENT_CPP
        lookup = pb.GetFlowRequest(number=flow.number)
        async with asyncio.timeout(DECISION_TIMEOUT):
            while flow.state in PENDING:
                await asyncio.sleep(0.25)
                flow = (await stub.GetFlow(lookup, metadata=metadata, timeout=30)).flow
        elapsed = time.perf_counter() - start

    refused = [(i.file, [e.reason for e in i.errors]) for i in flow.items if not i.invoice_id]
    assert flow.state == pb.FLOW_STATE_IN_INTEGRE, refused[:3] or list(flow.errors)
    assert len(flow.items) == FLOW_INVOICES
    assert len({i.invoice_cpp_id for i in flow.items}) == FLOW_INVOICES
    print()
    print(f"Chorus Pro flow (DepositFlow), one tar.gz of {FLOW_INVOICES} UBL invoices")
    print(f"  machine: {machine()}")
    print(f"  archive                                 {len(archive) / 1024:8.0f} KiB")
    print(f"  DepositFlow answered (IN_EN_ATTENTE)    {answered * 1000:8.0f} ms")
    print(f"  deposit -> IN_INTEGRE                   {elapsed:8.1f} s")
    print(f"  throughput                              {FLOW_INVOICES / elapsed:8.1f} invoices/s")
    print(f"  service logs: {stack.logs_dir}")
