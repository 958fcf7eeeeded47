"""Stop the broker: every service stays ready and keeps taking deposits and registrations;
once it is back, what happened meanwhile flows on (activation e-mails exactly once, the
invoice made available and its depositor told).

Issue #12's done-criterion: Kafka trouble never makes a service unready (it shows in
``chorus_broker_up``, the outbox age and the alerts), so a broker outage does not take the
portal down with it.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import date

import grpc
import httpx
import pytest
from e2e_support import PUBLIC_RECIPIENT_SIRET, activated_user, random_siret, unique_email
from grpc_health.v1 import health_pb2, health_pb2_grpc

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.skipif(
        bool(os.environ.get("CHORUS_E2E_GATEWAY_URL")),
        reason="needs the stack this suite starts (it stops and restarts the broker)",
    ),
]


async def test_activation_emails_survive_a_broker_outage_exactly_once(stack, api, mailbox):
    emails = [unique_email("outage") for _ in range(5)]
    await asyncio.to_thread(stack.broker.stop)
    try:
        for email in emails:
            response = await api.post(
                "/accounts",
                json={
                    "login_email": email,
                    "first_name": "Pierre",
                    "last_name": "Martin",
                    "terms_accepted": True,
                },
            )
            assert response.status_code == 202, response.text
        await asyncio.sleep(3)
        for email in emails:
            assert await mailbox.messages_to(email) == []
    finally:
        await asyncio.to_thread(stack.broker.start)

    for email in emails:
        await mailbox.wait_for(email, "Activez votre compte", timeout=120)
    await asyncio.sleep(5)  # leave time for any duplicate to show up
    for email in emails:
        messages = await mailbox.messages_to(email)
        assert len(messages) == 1, (email, [m["Subject"] for m in messages])


GRPC_SERVICES = ("identity", "structures", "invoices", "notifications")


async def readiness(stack) -> dict[str, str]:
    """Each service's readiness as its probes see it: gRPC health, the HTTP /readyz code."""
    seen: dict[str, str] = {}
    for name in GRPC_SERVICES:
        async with grpc.aio.insecure_channel(stack.addresses[name]) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
        seen[name] = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    async with httpx.AsyncClient(timeout=10) as http:
        for name in ("gateway", "portal", "cpro-api"):
            response = await http.get(f"http://{stack.addresses[name]}/readyz")
            seen[name] = str(response.status_code)
    return seen


async def broker_up(stack, service: str, client: str) -> float | None:
    """``chorus_broker_up{client}`` as ``service``'s metrics endpoint shows it (None: absent)."""
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(stack.metrics_urls[service])).text
    for line in text.splitlines():
        if line.startswith("chorus_broker_up{") and f'client="{client}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


async def wait_for_broker_up(stack, service: str, client: str, value: float) -> None:
    """Until ``service`` reports ``chorus_broker_up{client} == value`` (the outage seen by the
    operators' metrics, then its end)."""
    async with asyncio.timeout(60):
        while await broker_up(stack, service, client) != value:
            await asyncio.sleep(0.5)


ALL_READY = {
    **dict.fromkeys(GRPC_SERVICES, "SERVING"),
    "gateway": "200",
    "portal": "200",
    "cpro-api": "200",
}


async def test_services_stay_ready_without_the_broker_and_deposits_flow_once_it_is_back(
    stack, api, mailbox
):
    _, email, auth = await activated_user(api, mailbox, "Brigitte")
    structure = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": "Coopérative du Beaufort",
            "address": {
                "line1": "12 rue du Lac",
                "postal_code": "73270",
                "city": "Beaufort",
                "country": "FR",
            },
        },
    )
    assert structure.status_code == 201, structure.text
    number = f"B-{uuid.uuid4().hex[:8]}"
    assert await readiness(stack) == ALL_READY

    await asyncio.to_thread(stack.broker.stop)
    try:
        # Long enough for several rounds of every readiness check (every 2 s) and for the
        # clients to have lost their connections: every round must say ready.
        until = time.monotonic() + 8
        while time.monotonic() < until:
            assert await readiness(stack) == ALL_READY
            await asyncio.sleep(0.5)
        deposit = await api.post(
            "/invoices",
            headers=auth,
            json={
                "supplier_structure_id": structure.json()["id"],
                "recipient": {"identifier_type": "SIRET", "identifier": PUBLIC_RECIPIENT_SIRET},
                "framework": "A1_FACTURE_FOURNISSEUR",
                "type": "FACTURE",
                "number": number,
                "issue_date": date.today().isoformat(),
                "currency": "EUR",
                "lines": [
                    {
                        "description": "Beaufort d'alpage",
                        "quantity": "1",
                        "unit": "C62",
                        "unit_price": "32.00",
                        "vat_rate": "5.5",
                    }
                ],
            },
        )
        assert deposit.status_code == 201, deposit.text
        invoice_id = deposit.json()["id"]
        detail = await api.get(f"/invoices/{invoice_id}", headers=auth)
        assert detail.json()["status"] == "DEPOSEE"  # waiting in the outbox, not lost
        assert await readiness(stack) == ALL_READY
        # The outage is in the metrics instead: every consumer, and the relay that now has
        # an event to publish.
        for name in GRPC_SERVICES:
            await wait_for_broker_up(stack, name, "consumer", 0)
        await wait_for_broker_up(stack, "invoices", "relay", 0)
    finally:
        await asyncio.to_thread(stack.broker.start)

    async with asyncio.timeout(120):
        while True:
            detail = await api.get(f"/invoices/{invoice_id}", headers=auth)
            assert detail.status_code == 200, detail.text
            if detail.json()["status"] == "MISE_A_DISPOSITION":
                break
            await asyncio.sleep(0.3)
    mail = await mailbox.wait_for(email, f"Facture {number} : mise à disposition", timeout=120)
    assert f"/factures/{invoice_id}" in mail["Text"]
    await wait_for_broker_up(stack, "invoices", "relay", 1)
    for name in GRPC_SERVICES:
        await wait_for_broker_up(stack, name, "consumer", 1)
    stack.check()  # no service died on the way
