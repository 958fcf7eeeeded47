"""A real Prometheus scrapes every service of the stack (their admin ports, every second) while
an invoice is deposited through the portal and another through the REST API; its HTTP API then
shows each kind of metric the dashboards and alerts read (docs/metrics.md)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from chorus_devstack.ports import free_port, wait_for_port
from e2e_support import STRONG_PASSWORD, activated_user
from test_invoice_documents import deposit, supplier_of, ubl_for

pytestmark = pytest.mark.asyncio(loop_scope="session")

PROMETHEUS = Path("/usr/bin/prometheus")
HTML = {"Accept": "text/html"}


@pytest_asyncio.fixture(loop_scope="session")
async def prometheus(stack, tmp_path):
    """Prometheus scraping each service's ``/metrics`` every second; yields its base URL."""
    if stack is None:
        pytest.skip("needs the stack the tests start (its metrics ports)")
    if not PROMETHEUS.exists():
        pytest.skip("Prometheus is not installed (make system-deps installs it)")
    targets = "\n".join(
        f"      - targets: ['{urlsplit(url).netloc}']\n        labels: {{service: '{name}'}}"
        for name, url in stack.metrics_urls.items()
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: chorus\n    static_configs:\n" + targets + "\n"
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        str(PROMETHEUS),
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await wait_for_port("127.0.0.1", port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()
        shutil.rmtree(tmp_path / "tsdb", ignore_errors=True)


async def portal_deposit(gateway_url: str, email: str, supplier: dict, content: bytes) -> None:
    """Signs in on the portal and deposits ``content`` with the portal's file form."""
    headers = {**HTML, "X-Forwarded-For": f"10.9.{os.getpid() % 250}.7"}
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30, headers=headers) as portal:
        page = await portal.get("/connexion")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        login = await portal.post(
            "/connexion",
            data={"csrf_token": csrf, "login_email": email, "password": STRONG_PASSWORD},
        )
        assert login.status_code == 303, login.text
        page = await portal.get("/factures/nouvelle")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = await portal.post(
            "/factures/nouvelle/fichier",
            data={"csrf_token": csrf, "supplier_structure_id": supplier["id"]},
            files={"file": ("facture.xml", content, "application/xml")},
        )
        assert response.status_code == 303, response.text
        assert "avis=deposee" in response.headers["location"]


async def query(client: httpx.AsyncClient, expression: str) -> list[dict]:
    response = await client.get("/api/v1/query", params={"query": expression})
    assert response.status_code == 200, response.text
    return response.json()["data"]["result"]


# What must show up, each as a PromQL expression with at least one series.
EXPECTED = {
    "HTTP RED (gateway, route template)": "http_server_request_duration_seconds_count{"
    'service_name="chorus-gateway",http_route="/api/v1/invoices/xml",'
    'http_request_method="POST",http_response_status_code="201"}',
    "gRPC server RED (invoices)": 'rpc_server_call_duration_seconds_count{service_name="chorus-'
    'invoices",rpc_system="grpc",rpc_service="chorus.invoices.v1.InvoicesService",'
    'rpc_method="DepositStructuredInvoice",rpc_grpc_status_code="OK"}',
    "gRPC client RED (gateway)": 'rpc_client_call_duration_seconds_count{service_name="chorus-'
    'gateway",rpc_method="DepositStructuredInvoice"}',
    "outbox backlog": 'chorus_outbox_backlog{service_name="chorus-invoices"}',
    "outbox oldest age": 'chorus_outbox_oldest_age_seconds{service_name="chorus-invoices"}',
    "outbox published": 'chorus_outbox_published_total{service_name="chorus-invoices"} > 0',
    "broker up": 'chorus_broker_up{service_name="chorus-invoices",client="relay"} == 1',
    "consumer lag": 'chorus_consumer_lag{service_name="chorus-notifications",'
    'topic="chorus.invoices.events.v1"}',
    "e-mails sent": 'chorus_emails_sent_total{service_name="chorus-notifications"} > 0',
    "e-mails pending": 'chorus_emails_pending{service_name="chorus-notifications"}',
    "deposits through the REST API": 'chorus_invoices_deposits_total{service_name="chorus-'
    'invoices",channel="api",outcome="accepted"} >= 1',
    "deposits through the portal": 'chorus_invoices_deposits_total{service_name="chorus-'
    'invoices",channel="portal",outcome="accepted"} >= 1',
    "DB pool": 'db_client_connection_count{service_name="chorus-invoices",state="idle"}',
    "DB pool max": 'db_client_connection_max{service_name="chorus-invoices"} > 0',
    "dead letters pending": 'chorus_dead_letters_pending{service_name="chorus-notifications"}',
    "signing key age": 'chorus_keys_signing_key_age_seconds{service_name="chorus-identity"}',
    "documents duration": 'chorus_documents_duration_seconds_count{service_name="chorus-'
    'invoices",task="validate"}',
}


async def test_prometheus_scrapes_every_kind_of_metric(
    prometheus, stack, gateway_url, api, mailbox
):
    _, email, auth = await activated_user(api, mailbox, "Prosper")
    supplier = await supplier_of(api, auth)
    # The first deposit waits for invoices' document workers to warm up (slow on a busy
    # machine); each try has a new number (a try the gateway gave up on may have gone through).
    async with asyncio.timeout(300):
        while (
            response := await deposit(api, auth, supplier, ubl_for(supplier)[0])
        ).status_code == 503:
            await asyncio.sleep(2)
    assert response.status_code == 201, response.text
    content, _ = ubl_for(supplier)
    await portal_deposit(gateway_url, email, supplier, content)

    missing: dict[str, str] = dict(EXPECTED)
    up: list[dict] = []
    async with httpx.AsyncClient(base_url=prometheus, timeout=10) as client:
        try:
            async with asyncio.timeout(120):
                while True:
                    for name, expression in list(missing.items()):
                        if await query(client, expression):
                            del missing[name]
                    up = await query(client, 'up{job="chorus"}')
                    if (
                        not missing
                        and len(up) == len(stack.metrics_urls)
                        and all(series["value"][1] == "1" for series in up)
                    ):
                        break
                    await asyncio.sleep(1)
        except TimeoutError:
            pass
        # What there is instead, to tell a missing label from a missing metric.
        seen = {
            name: [
                series["metric"]
                for series in await query(client, re.search(r"\w+(?=\{)", expression).group(0))
            ][:10]
            for name, expression in missing.items()
        }
    assert missing == {}, seen
    assert sorted((s["metric"]["service"], s["value"][1]) for s in up) == sorted(
        (name, "1") for name in stack.metrics_urls
    )
