"""The invoice pages of the portal in a real browser (Debian Chromium driven by Playwright).

A supplier signs in through the portal's login page, enters an invoice with two lines in the
"Saisie" form (the second row added with "Ajouter une ligne"), deposits it, finds it in "Mes
factures" with its French status once routed, reads its history, then deposits a plain PDF
with its totals through "Dépôt d'un PDF". A recipient-side user
then signs in, finds it under "Reçues", tries to suspend it without a reason (the form is not
sent), and suspends it with a reason code and a comment.

The recipient is the seeded "Agence nationale de démonstration" (engagement number required),
which no other end-to-end test claims: with CHORUS_CLAIM_UNMANAGED_STRUCTURES on, the first
attachment request makes its requester principal. Accounts and structures are set up through
the REST API; everything under test happens in the browser, and axe-core
(`axe_support.check_axe`) finds no violation in any page state reached, the login page and the
home page included (`sign_in`). Chromium comes from Debian (`scripts/system_deps.sh`);
Playwright never downloads a browser here.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from axe_support import check_axe
from e2e_support import STRONG_PASSWORD, activated_user, client_ip, random_siret
from playwright.async_api import Browser, Page, async_playwright, expect

pytestmark = pytest.mark.asyncio(loop_scope="session")

AGENCY_SIRET = "13000548100010"  # seeded by `chorus-structures seed-demo`
PLAIN_PDF = (
    Path(__file__).resolve().parents[2] / "services/invoices/tests/corpus/invalid/plain-no-xml.pdf"
)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
NBSP, NNBSP = "\u00a0", "\u202f"


async def supplier_structure(api, auth) -> dict:
    response = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": "Conseil Numérique du Léman",
            "address": {
                "line1": "8 quai de Rive",
                "postal_code": "74200",
                "city": "Thonon-les-Bains",
                "country": "FR",
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def claim_agency(api, auth) -> None:
    found = await api.get("/structures", params={"identifier": AGENCY_SIRET}, headers=auth)
    assert found.status_code == 200, found.text
    structure_id = found.json()["items"][0]["id"]
    request = await api.post(
        f"/structures/{structure_id}/attachment-requests", json={}, headers=auth
    )
    assert request.status_code == 201, request.text
    assert request.json()["status"] == "VALIDEE", "the agency was claimed by another test"
    spaces = await api.get(f"/structures/{structure_id}/spaces", headers=auth)
    received = next(s for s in spaces.json()["items"] if s["space"] == "FACTURES_RECUES")
    if not received["open"]:
        opened = await api.put(f"/structures/{structure_id}/spaces/FACTURES_RECUES", headers=auth)
        assert opened.status_code in (200, 204), opened.text


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/connexion")
    await check_axe(page, "connexion")
    await page.get_by_label("Adresse e-mail").fill(email)
    await page.get_by_label("Mot de passe").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.get_by_role("heading", name=re.compile("^Bonjour"))).to_be_visible()
    await check_axe(page, "accueil après connexion")


async def wait_for_row_status(page: Page, number: str, status: str, attempts: int = 60) -> None:
    """Reloads "Mes factures" until the invoice's row shows ``status`` (routing is async)."""
    row = page.get_by_role("row").filter(has_text=number)
    for _ in range(attempts):
        if await row.get_by_text(status, exact=True).count():
            return
        await page.wait_for_timeout(500)
        await page.reload()
    await expect(row).to_contain_text(status)


@pytest.fixture
async def browser():
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/system_deps.sh (apt-get install chromium)")
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield found
        await found.close()


async def new_page(browser: Browser, gateway_url: str, script_errors: list[str]) -> Page:
    # Each user is its own client for the gateway's per-IP rate limit.
    context = await browser.new_context(
        base_url=gateway_url,
        locale="fr-FR",
        extra_http_headers={"X-Forwarded-For": client_ip()},
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    return page


async def test_supplier_deposits_and_recipient_suspends_in_the_browser(
    api, mailbox, gateway_url, browser, tmp_path
):
    _, supplier_email, supplier_auth = await activated_user(api, mailbox, "Solange")
    _, recipient_email, recipient_auth = await activated_user(api, mailbox, "Rachid")
    supplier = await supplier_structure(api, supplier_auth)
    await claim_agency(api, recipient_auth)
    number, pdf_number = f"WEB-{uuid.uuid4().hex[:8]}", f"PDF-{uuid.uuid4().hex[:8]}"

    script_errors: list[str] = []
    page = await new_page(browser, gateway_url, script_errors)
    try:
        # The supplier enters and deposits the invoice.
        await sign_in(page, supplier_email)
        await page.get_by_role("link", name="Déposer une facture").first.click()
        await expect(page.get_by_role("heading", name="Déposer une facture")).to_be_visible()
        await check_axe(page, "saisie d'une facture, vide")
        await page.get_by_label("Structure émettrice").select_option(supplier["id"])
        await page.get_by_label("SIRET du destinataire").fill(AGENCY_SIRET)
        await page.get_by_label("Numéro d'engagement / bon de commande").fill("ENG-2026-042")
        await page.get_by_label("Numéro de facture").fill(number)
        await page.get_by_label("Libellé, ligne 1").fill("Audit de sécurité")
        await page.get_by_label("Quantité, ligne 1").fill("2")
        await page.get_by_label("Unité, ligne 1").select_option("DAY")
        await page.get_by_label("Prix unitaire HT, ligne 1").fill("1 250,00")
        rows = page.locator("tr.line-row")
        await page.get_by_role("button", name="Ajouter une ligne").click()
        await expect(rows).to_have_count(6)
        await page.get_by_label("Libellé, ligne 6").fill("Rapport de synthèse")
        await page.get_by_label("Quantité, ligne 6").fill("1")
        await page.get_by_label("Prix unitaire HT, ligne 6").fill("480")
        await check_axe(page, "saisie d'une facture, remplie avec une ligne ajoutée")
        await page.get_by_role("button", name="Déposer", exact=True).click()

        await expect(page.get_by_role("heading", name=f"Facture n° {number}")).to_be_visible()
        await expect(page.get_by_role("status").filter(has_text="Facture déposée")).to_be_visible()
        await expect(page.locator("#gross-total")).to_have_text(f"3{NNBSP}576,00{NBSP}€")
        await expect(page.get_by_role("cell", name="Rapport de synthèse")).to_be_visible()
        await check_axe(page, "facture déposée par saisie")
        # Its PDF is offered at once and rendered when first downloaded (on_demand).
        await expect(page.get_by_text("PDF en préparation")).to_have_count(0)
        async with page.expect_download() as downloading:
            await page.get_by_role("link", name=f"facture-{number}.pdf").click()
        downloaded = await downloading.value
        assert downloaded.suggested_filename == f"facture-{number}.pdf"
        assert Path(await downloaded.path()).read_bytes().startswith(b"%PDF-")

        # It is in "Mes factures", with its French status once routed, and its history.
        await page.get_by_role("link", name="Mes factures").first.click()
        await wait_for_row_status(page, number, "Mise à disposition")
        row = page.get_by_role("row").filter(has_text=number)
        await expect(row).to_contain_text("Agence nationale de démonstration")
        await expect(row).to_contain_text(f"3{NNBSP}576,00{NBSP}€")
        await check_axe(page, "mes factures, émises")
        await row.get_by_role("link", name=number).click()
        history = page.locator("#history")
        await expect(history).to_contain_text("Déposée")
        await expect(history).to_contain_text("Mise à disposition")
        # Each row says the reform code and which Chorus status gave it.
        await expect(history).to_contain_text("201 Émise — en cours d'acheminement")
        await expect(history).to_contain_text("203 Mise à disposition")
        await check_axe(page, "facture mise à disposition, côté fournisseur")

        # A second invoice, deposited as a plain PDF with its totals typed in.
        await page.get_by_role("link", name="Déposer une facture").first.click()
        await page.get_by_role("link", name="Dépôt d'un PDF").click()
        await page.get_by_label("Structure émettrice").select_option(supplier["id"])
        await page.get_by_label("Facture PDF").set_input_files(PLAIN_PDF)
        await page.get_by_label("SIRET du destinataire").fill(AGENCY_SIRET)
        await page.get_by_label("N° d'engagement").fill("ENG-2026-043")
        await page.get_by_label("Cadre de facturation").select_option("A1_FACTURE_FOURNISSEUR")
        await page.get_by_label(re.compile(r"^Type")).select_option("FACTURE")
        await page.get_by_label("Numéro de facture").fill(pdf_number)
        await page.get_by_label("Date de facture").fill("2026-01-15")
        await page.get_by_label("Total HT").fill("100,00")
        await page.get_by_label("Total TVA").fill("20,00")
        await page.get_by_label("Total TTC").fill("120,00")
        await page.get_by_label("Base HT, ligne 1").fill("100,00")
        await page.get_by_label("Montant de TVA, ligne 1").fill("20,00")
        await check_axe(page, "dépôt d'un PDF, rempli")
        await page.get_by_role("button", name="Déposer le PDF").click()
        await expect(page.get_by_role("heading", name=f"Facture n° {pdf_number}")).to_be_visible()
        await expect(page.get_by_role("status").filter(has_text="Facture déposée")).to_be_visible()
        await expect(page.locator("#gross-total")).to_have_text(f"120,00{NBSP}€")
        await check_axe(page, "facture déposée en PDF")
    except BaseException:
        await page.screenshot(path=tmp_path / "fournisseur.png", full_page=True)
        raise

    page = await new_page(browser, gateway_url, script_errors)
    try:
        # The recipient finds it under "Reçues" and suspends it, a reason being required.
        await sign_in(page, recipient_email)
        await page.get_by_role("link", name="Mes factures").first.click()
        await page.get_by_role("link", name="Reçues").click()
        row = page.get_by_role("row").filter(has_text=number)
        await expect(row).to_contain_text("Conseil Numérique du Léman")
        await check_axe(page, "mes factures, reçues")
        await row.get_by_role("link", name=number).click()
        await expect(page.locator("#invoice-status")).to_have_text("Mise à disposition")
        await check_axe(page, "facture reçue, côté destinataire")

        # Suspending needs a reason: the form is not sent without one.
        await page.get_by_role("button", name="Suspendre").click()
        reason_code = page.get_by_label("Motif", exact=True)
        assert await reason_code.evaluate("select => !select.checkValidity()")
        await expect(page.locator("#invoice-status")).to_have_text("Mise à disposition")
        await check_axe(page, "changement de statut refusé, motif manquant")

        await reason_code.select_option("JUSTIF_ABS")
        await page.get_by_label("Commentaire pour le fournisseur").fill(
            "Le bon de commande n'est pas joint."
        )
        await page.get_by_role("button", name="Suspendre").click()
        await expect(
            page.get_by_role("status").filter(has_text="statut de la facture a été mis")
        ).to_be_visible()
        await expect(page.locator("#invoice-status")).to_have_text("Suspendue")
        await expect(page.locator("#history")).to_contain_text(
            "Le bon de commande n'est pas joint."
        )
        await check_axe(page, "facture suspendue, côté destinataire")
    except BaseException:
        await page.screenshot(path=tmp_path / "destinataire.png", full_page=True)
        raise
    assert script_errors == []
