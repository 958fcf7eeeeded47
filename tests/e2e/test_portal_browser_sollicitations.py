"""Sollicitations both ways in a real browser (Debian Chromium driven by Playwright).

A supplier opens their invoice to a public buyer, follows "Contacter les gestionnaires de
l'autre partie", tries a forbidden attachment (the French refusal appears beside the file
field, nothing is sent, what was typed is kept), then writes with a PDF attached. The buyer's
manager is e-mailed, finds the sollicitation under "Sollicitations" → "Reçues", downloads the
attachment and answers; the supplier is e-mailed, reads the answer under "Émises" and closes
the sollicitation, after which no reply form is offered. axe-core (``axe_support.check_axe``,
the portal's CSP left in force) finds no violation on any page state reached. Accounts,
structures and the invoice are set up through the REST API.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path

import pytest
from axe_support import check_axe
from e2e_support import activated_user, client_ip, random_siret
from playwright.async_api import Browser, Page, async_playwright, expect
from test_portal_browser import CHROMIUM, CHROMIUM_ARGS, sign_in
from test_recipient_notifications import feed_item

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def assert_accessible(page: Page, state: str) -> None:
    """axe-core on the page as it is now: no violation at all."""
    await check_axe(page, state)


@pytest.fixture
async def browser():
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/system_deps.sh (apt-get install chromium)")
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield found
        await found.close()


async def new_page(browser: Browser, gateway_url: str, script_errors: list[str]) -> Page:
    # Each user is its own client for the per-IP rate limit; the portal's CSP stays in force.
    context = await browser.new_context(
        base_url=gateway_url,
        locale="fr-FR",
        extra_http_headers={"X-Forwarded-For": client_ip()},
        accept_downloads=True,
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    return page


async def structure(api, auth, name: str, kind: str) -> dict:
    response = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": name,
            "kind": kind,
            "address": {
                "line1": "1 place de la Mairie",
                "postal_code": "73000",
                "city": "Chambéry",
                "country": "FR",
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def invoice(api, auth, supplier: dict, buyer: dict) -> dict:
    response = await api.post(
        "/invoices",
        headers=auth,
        json={
            "supplier_structure_id": supplier["id"],
            "recipient": {"identifier_type": "SIRET", "identifier": buyer["identifier"]},
            "framework": "A1_FACTURE_FOURNISSEUR",
            "type": "FACTURE",
            "number": f"SOL-{uuid.uuid4().hex[:8]}",
            "issue_date": date.today().isoformat(),
            "currency": "EUR",
            "lines": [
                {
                    "description": "Tomme de Savoie",
                    "quantity": "3",
                    "unit": "C62",
                    "unit_price": "12.50",
                    "vat_rate": "5.5",
                }
            ],
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_sollicitation_both_ways_in_the_browser(api, mailbox, gateway_url, browser, tmp_path):
    _, supplier_email, supplier_auth = await activated_user(api, mailbox, "Sandrine", "Favre")
    _, manager_email, manager_auth = await activated_user(api, mailbox, "Marc", "Girod")
    buyer_name = f"Commune de Challes {uuid.uuid4().hex[:6]}"
    buyer = await structure(api, manager_auth, buyer_name, "PUBLIQUE")
    supplier = await structure(api, supplier_auth, "Fromagerie Favre", "PRIVEE")
    bill = await invoice(api, supplier_auth, supplier, buyer)
    subject = f"Date de paiement {uuid.uuid4().hex[:6]}"
    forbidden = tmp_path / "outil.exe"
    forbidden.write_bytes(b"MZ")
    order = tmp_path / "bon-de-commande.pdf"
    order.write_bytes(b"%PDF-1.4 bon de commande")

    script_errors: list[str] = []
    sender = await new_page(browser, gateway_url, script_errors)
    manager = await new_page(browser, gateway_url, script_errors)
    try:
        # The supplier writes from the invoice's page; a forbidden file is refused in French.
        await sign_in(sender, supplier_email)
        await sender.goto(f"/factures/{bill['id']}")
        await sender.get_by_role(
            "link", name="Contacter les gestionnaires de l'autre partie"
        ).click()
        await expect(sender.get_by_role("heading", name="Nouvelle sollicitation")).to_be_visible()
        await expect(sender.locator("#addressee")).to_have_text(
            f"Gestionnaires de « {buyer_name} »"
        )
        await expect(sender.locator("#about")).to_have_text(f"Facture n° {bill['number']}")
        await expect(sender.get_by_label("Vous écrivez pour")).to_have_value(supplier["id"])
        await assert_accessible(sender, "new sollicitation form")
        await sender.get_by_label("Objet").fill(subject)
        await sender.get_by_label("Message").fill(
            "Bonjour,\nquand cette facture sera-t-elle payée ?"
        )
        await sender.get_by_label("Pièces jointes").set_input_files(str(forbidden))
        await sender.get_by_role("button", name="Envoyer").click()
        await expect(sender.locator("#attachments-error")).to_contain_text(
            "type de fichier non accepté"
        )
        await expect(sender.get_by_label("Objet")).to_have_value(subject)
        await assert_accessible(sender, "new sollicitation refused")
        sent = await api.get("/sollicitations", params={"box": "EMISES"}, headers=supplier_auth)
        assert sent.json()["items"] == []

        await sender.get_by_label("Pièces jointes").set_input_files(str(order))
        await sender.get_by_role("button", name="Envoyer").click()
        await expect(sender.get_by_role("heading", name=subject)).to_be_visible()
        await expect(sender.get_by_role("status")).to_contain_text(
            "Votre sollicitation a été envoyée"
        )
        await expect(sender.locator("#sollicitation-status")).to_have_text("Ouverte")
        await assert_accessible(sender, "sollicitation sent")

        # The manager is told by e-mail and answers from "Reçues".
        told = await mailbox.wait_for(manager_email, "Nouvelle sollicitation")
        assert subject in told["Subject"]
        await sign_in(manager, manager_email)
        await manager.get_by_role("link", name="Sollicitations").first.click()
        await manager.get_by_role("link", name="Reçues").click()
        row = manager.get_by_role("row").filter(has_text=subject)
        await expect(row).to_contain_text("Sandrine Favre (Fromagerie Favre)")
        await expect(row).to_contain_text("Ouverte")
        await assert_accessible(manager, "received list")
        await row.get_by_role("link", name=subject).click()
        await expect(manager.get_by_text("quand cette facture sera-t-elle payée ?")).to_be_visible()
        async with manager.expect_download() as download_info:
            await manager.get_by_role("link", name="bon-de-commande.pdf").click()
        download = await download_info.value
        assert Path(await download.path()).read_bytes() == b"%PDF-1.4 bon de commande"
        await assert_accessible(manager, "received thread")
        await manager.get_by_label("Votre message").fill("Bonjour, elle sera payée le 15.")
        await manager.get_by_role("button", name="Envoyer le message").click()
        await expect(manager.get_by_role("status")).to_contain_text("Votre message a été envoyé")
        await expect(manager.locator("#sollicitation-status")).to_have_text("Répondue")

        # The supplier is told, reads the answer and closes.
        answered = await mailbox.wait_for(supplier_email, "Nouveau message")
        assert subject in answered["Subject"]
        await sender.get_by_role("link", name="Sollicitations").first.click()
        row = sender.get_by_role("row").filter(has_text=subject)
        await expect(row).to_contain_text(f"Gestionnaires de « {buyer_name} »")
        await expect(row).to_contain_text("Répondue")
        await assert_accessible(sender, "sent list")
        await row.get_by_role("link", name=subject).click()
        await expect(sender.get_by_text("elle sera payée le 15.")).to_be_visible()
        await sender.get_by_role("button", name="Clôturer la sollicitation").click()
        await expect(sender.locator("#sollicitation-status")).to_have_text("Clôturée")
        await expect(sender.get_by_role("button", name="Envoyer le message")).to_have_count(0)
        await assert_accessible(sender, "closed thread")

        # A reply to a closed sollicitation is refused (the manager's page was loaded before).
        await manager.get_by_label("Votre message").fill("Encore une précision.")
        await manager.get_by_role("button", name="Envoyer le message").click()
        await expect(manager.get_by_role("alert")).to_contain_text("clôturée")
        await assert_accessible(manager, "reply refused")
        # Feed items both ways, linking to the thread.
        thread_path = "/sollicitations/" + re.search(r"/sollicitations/([0-9a-f-]+)", sender.url)[1]
        received_item = await feed_item(api, manager_auth, "SOLLICITATION_RECEIVED")
        answered_item = await feed_item(api, supplier_auth, "SOLLICITATION_REPLIED")
        closed_item = await feed_item(api, manager_auth, "SOLLICITATION_CLOSED")
        assert {received_item["link"], answered_item["link"], closed_item["link"]} == {thread_path}
        assert subject in received_item["title"]
        thread = await api.get(
            f"/sollicitations/{re.search(r'/sollicitations/([0-9a-f-]+)', sender.url)[1]}",
            headers=supplier_auth,
        )
        assert [m["body"] for m in thread.json()["messages"]] == [
            "Bonjour,\nquand cette facture sera-t-elle payée ?",
            "Bonjour, elle sera payée le 15.",
        ]
    finally:
        await sender.context.close()
        await manager.context.close()
    assert script_errors == []
