"""Kill the broker mid-flow (it comes back empty): every deposited invoice is still routed."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import date

import pytest
from e2e_support import PUBLIC_RECIPIENT_SIRET, activated_user, random_siret

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.skipif(
        bool(os.environ.get("CHORUS_E2E_GATEWAY_URL")),
        reason="needs the stack this suite starts (it kills and restarts the broker)",
    ),
]

DEPOSITS = 30
KILL_AFTER = 10


def invoice(supplier_id: str) -> dict:
    return {
        "supplier_structure_id": supplier_id,
        "recipient": {"identifier_type": "SIRET", "identifier": PUBLIC_RECIPIENT_SIRET},
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": f"F-{uuid.uuid4().hex[:8]}",
        "issue_date": date.today().isoformat(),
        "currency": "EUR",
        "lines": [
            {
                "description": "Reblochon fermier",
                "quantity": "2",
                "unit": "C62",
                "unit_price": "9.80",
                "vat_rate": "5.5",
            }
        ],
    }


async def test_every_invoice_deposited_around_a_broker_crash_is_made_available(stack, api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Gaspard")
    structure = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": "Fromagerie des Aravis",
            "address": {
                "line1": "3 route du Col",
                "postal_code": "74220",
                "city": "La Clusaz",
                "country": "FR",
            },
        },
    )
    assert structure.status_code == 201, structure.text
    supplier = structure.json()["id"]

    deposited = []
    for n in range(DEPOSITS):
        if n == KILL_AFTER:
            await asyncio.to_thread(stack.broker.kill)  # what it acknowledged dies with it
            killed = time.monotonic()
        if n == KILL_AFTER + 5:
            await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - killed)))
            await asyncio.to_thread(stack.broker.start)
            back = time.monotonic()
        response = await api.post("/invoices", headers=auth, json=invoice(supplier))
        assert response.status_code == 201, response.text
        deposited.append(response.json()["id"])

    statuses: dict[str, str] = {}
    async with asyncio.timeout(120):
        while True:
            for invoice_id in deposited:
                if statuses.get(invoice_id) != "MISE_A_DISPOSITION":
                    detail = await api.get(f"/invoices/{invoice_id}", headers=auth)
                    assert detail.status_code == 200, detail.text
                    statuses[invoice_id] = detail.json()["status"]
            if all(status == "MISE_A_DISPOSITION" for status in statuses.values()):
                break
            await asyncio.sleep(0.3)
    print(
        f"\nbroker killed for {back - killed:.1f} s after {KILL_AFTER} of {DEPOSITS} deposits:"
        f" all made available {time.monotonic() - back:.1f} s after it came back"
    )
    for invoice_id in deposited:
        history = await api.get(f"/invoices/{invoice_id}/history", headers=auth)
        steps = [h["status"] for h in history.json()["items"]]
        assert steps == ["DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION"], steps
    stack.check()  # no service died on the way
