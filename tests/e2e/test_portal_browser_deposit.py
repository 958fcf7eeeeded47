"""The deposit screens of the portal in a real browser (issue #13), against the real services.

A supplier searches the recipient in the directory ("Ville de Démoville", service code
required), chooses it, picks one of its services, enters a line (the live totals follow),
adds an attachment and saves a draft; reopens the draft, changes the quantity, checks the
"Vérifier" summary (totals computed by the service) and deposits it. An invoice of
1.2 × 10^18 € is refused with the amount cap's French message (and over REST, nothing
stored). On the PDF tab the required fields are labelled so, and a refused deposit keeps the
chosen PDF ("Fichier conservé"), deposited once corrected. axe-core
(``axe_support.check_axe``) finds no violation on any of these page states. Chromium comes
from Debian.
"""

from __future__ import annotations

import re
import uuid

import pytest
from axe_support import check_axe
from e2e_support import activated_user, client_ip, random_siret
from playwright.async_api import Browser, Page, async_playwright, expect
from test_portal_browser import CHROMIUM, CHROMIUM_ARGS, NBSP, NNBSP, PLAIN_PDF, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

TOWN_SIRET = "21750001600019"  # "Ville de Démoville", seeded, service code required
CAP_MESSAGE = "dépasse le plafond de 999 999 999 999,99 €"


@pytest.fixture
async def browser():
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/system_deps.sh (apt-get install chromium)")
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield found
        await found.close()


async def new_page(browser: Browser, gateway_url: str, script_errors: list[str]) -> Page:
    context = await browser.new_context(
        base_url=gateway_url,
        locale="fr-FR",
        extra_http_headers={"X-Forwarded-For": client_ip()},
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    return page


async def no_axe_violation(page: Page, state: str) -> None:
    await check_axe(page, state)


async def supplier_structure(api, auth) -> dict:
    response = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": "Atelier Bois du Jura",
            "address": {
                "line1": "3 rue des Sapins",
                "postal_code": "39000",
                "city": "Lons-le-Saunier",
                "country": "FR",
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_picker_summary_draft_and_attachment_in_the_browser(
    api, mailbox, gateway_url, browser, tmp_path
):
    _, email, auth = await activated_user(api, mailbox, "Jeanne")
    supplier = await supplier_structure(api, auth)
    number = f"DEP-{uuid.uuid4().hex[:8]}"
    annex = tmp_path / "bon-de-commande.pdf"
    annex.write_bytes(PLAIN_PDF.read_bytes())
    script_errors: list[str] = []
    page = await new_page(browser, gateway_url, script_errors)
    try:
        await sign_in(page, email)
        await page.goto("/factures/nouvelle")
        await expect(page.get_by_role("heading", name="Déposer une facture")).to_be_visible()
        await no_axe_violation(page, "empty entry form")

        # The directory picker: search by name, the requirements shown, choose.
        await page.get_by_label("Structure émettrice").select_option(supplier["id"])
        await page.get_by_label("Numéro de facture").fill(number)
        await page.get_by_label(re.compile("^Rechercher le destinataire")).fill("Démoville")
        await page.get_by_role("button", name="Rechercher").click()
        results = page.locator("#recipient-results")
        town = results.get_by_role("row").filter(has_text="Ville de Démoville")
        await expect(town).to_contain_text(TOWN_SIRET)
        await expect(town).to_contain_text("Code service obligatoire")
        await expect(page.get_by_label("Numéro de facture")).to_have_value(number)  # kept
        await no_axe_violation(page, "search results")
        await town.get_by_role("button", name=re.compile("^Choisir")).click()
        await expect(page.get_by_label("SIRET du destinataire")).to_have_value(TOWN_SIRET)
        await expect(page.locator("#recipient-card")).to_contain_text("Ville de Démoville")
        service = page.get_by_label("Service destinataire")
        await expect(service.locator("option", has_text="SERV-FIN")).to_have_count(1)
        await service.select_option("SERV-FIN")
        await no_axe_violation(page, "recipient chosen")

        # A line; the live totals follow; an attachment; saved as a draft.
        await page.get_by_label("Libellé, ligne 1").fill("Bancs en chêne")
        await page.get_by_label("Quantité, ligne 1").fill("2")
        await page.get_by_label("Prix unitaire HT, ligne 1").fill("1 250,00")
        await expect(page.locator("#live-gross-total")).to_have_text(f"3{NNBSP}000,00{NBSP}€")
        await page.locator("#entry-attachments").set_input_files(annex)
        await page.get_by_role("button", name="Enregistrer le brouillon").click()
        await expect(page.get_by_role("heading", name=f"Facture n° {number}")).to_be_visible()
        await expect(page.get_by_text("bon-de-commande.pdf").first).to_be_visible()

        # The draft reopened, changed, checked ("Vérifier") and deposited.
        await page.get_by_role("link", name="Modifier le brouillon").click()
        await expect(
            page.get_by_role("heading", name=f"Modifier le brouillon {number}")
        ).to_be_visible()
        await expect(page.get_by_label("Libellé, ligne 1")).to_have_value("Bancs en chêne")
        await no_axe_violation(page, "draft opened")
        await page.get_by_label("Quantité, ligne 1").fill("3")
        await expect(page.locator("#live-gross-total")).to_have_text(f"4{NNBSP}500,00{NBSP}€")
        await page.get_by_role("button", name="Vérifier", exact=True).click()
        await expect(
            page.get_by_role("heading", name="Vérifier la facture avant de la déposer")
        ).to_be_visible()
        await expect(page.locator("#summary-recipient")).to_contain_text("Ville de Démoville")
        await expect(page.locator("#summary-net")).to_have_text(f"3{NNBSP}750,00{NBSP}€")
        await expect(page.locator("#summary-gross")).to_have_text(f"4{NNBSP}500,00{NBSP}€")
        await expect(page.locator("#summary-vat")).to_contain_text(f"750,00{NBSP}€")
        await no_axe_violation(page, "summary step")
        await page.get_by_role("button", name="Déposer", exact=True).click()
        await expect(page.get_by_role("heading", name=f"Facture n° {number}")).to_be_visible()
        await expect(page.get_by_role("status").filter(has_text="Facture déposée")).to_be_visible()
        await expect(page.locator("#gross-total")).to_have_text(f"4{NNBSP}500,00{NBSP}€")
        await expect(page.get_by_role("link", name="Modifier le brouillon")).to_have_count(0)

        # 1.2 × 10^18 €: the live totals warn, the service refuses with the cap's message.
        huge = f"HUGE-{uuid.uuid4().hex[:6]}"
        await page.goto("/factures/nouvelle")
        await page.get_by_label("Structure émettrice").select_option(supplier["id"])
        await page.get_by_label("SIRET du destinataire").fill(TOWN_SIRET)
        await page.get_by_label("Code service").fill("SERV-FIN")
        await page.get_by_label("Numéro de facture").fill(huge)
        await page.get_by_label("Libellé, ligne 1").fill("Pont suspendu")
        await page.get_by_label("Quantité, ligne 1").fill("1200000")
        await page.get_by_label("Prix unitaire HT, ligne 1").fill("999999999999")
        await expect(page.locator("#live-totals-cap")).to_be_visible()
        await page.get_by_role("button", name="Vérifier", exact=True).click()
        await expect(page.locator("#lines-0-unit_price-error")).to_contain_text(CAP_MESSAGE)
        await expect(page.get_by_role("alert").first).to_contain_text(CAP_MESSAGE)
        await expect(page.get_by_label("Prix unitaire HT, ligne 1")).to_have_value("999999999999")
        await no_axe_violation(page, "amount cap refusal")
    except BaseException:
        await page.screenshot(path=tmp_path / "saisie.png", full_page=True)
        raise
    assert script_errors == []

    # Over REST the same invoice is refused alike, and nothing was stored on either channel.
    body = {
        "supplier_structure_id": supplier["id"],
        "recipient": {"identifier_type": "SIRET", "identifier": TOWN_SIRET},
        "service_code": "SERV-FIN",
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": huge,
        "issue_date": "2026-01-15",
        "lines": [
            {
                "description": "Pont suspendu",
                "quantity": "1200000",
                "unit": "C62",
                "unit_price": "999999999999",
                "vat_rate": "20",
            }
        ],
    }
    refused = await api.post("/invoices", json=body, headers=auth)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "AMOUNT_TOO_LARGE"
    assert CAP_MESSAGE in refused.json()["detail"]
    listed = await api.get("/invoices", params={"side": "issued"}, headers=auth)
    assert listed.status_code == 200, listed.text
    assert huge not in listed.text and number in listed.text


async def test_pdf_tab_labels_and_keeps_the_file_after_a_refusal(
    api, mailbox, gateway_url, browser, tmp_path
):
    _, email, auth = await activated_user(api, mailbox, "Paulin")
    supplier = await supplier_structure(api, auth)
    number = f"PDFK-{uuid.uuid4().hex[:8]}"
    script_errors: list[str] = []
    page = await new_page(browser, gateway_url, script_errors)
    try:
        await sign_in(page, email)
        await page.goto("/factures/nouvelle?onglet=pdf")
        for label in ("SIRET du destinataire", "Numéro de facture", "Total TTC"):
            field = page.get_by_label(re.compile("^" + label))
            await expect(field).to_have_count(1)
            text = await page.locator(
                f"label[for='{await field.get_attribute('id')}']"
            ).inner_text()
            assert "obligatoire pour un PDF simple" in text and "facultatif" not in text, text
        await no_axe_violation(page, "PDF tab")
        await page.get_by_label("Structure émettrice").select_option(supplier["id"])
        await page.get_by_label("Facture PDF").set_input_files(PLAIN_PDF)
        await page.get_by_label(re.compile("^SIRET du destinataire")).fill(TOWN_SIRET)
        await page.get_by_label(re.compile("^Code service")).fill("SERV-FIN")
        await page.get_by_label(re.compile("^Cadre de facturation")).select_option(
            "A1_FACTURE_FOURNISSEUR"
        )
        await page.get_by_label(re.compile(r"^Type")).select_option("FACTURE")
        await page.get_by_label(re.compile("^Date de facture")).fill("2026-01-15")
        await page.get_by_label(re.compile("^Total HT")).fill("100,00")
        await page.get_by_label(re.compile("^Total TVA")).fill("20,00")
        await page.get_by_label(re.compile("^Total TTC")).fill("120,00")
        await page.get_by_label("Base HT, ligne 1").fill("100,00")
        await page.get_by_label("Montant de TVA, ligne 1").fill("20,00")
        # The number forgotten: refused, the PDF kept.
        await page.get_by_role("button", name="Déposer le PDF").click()
        await expect(page.locator("#pdf-number-error")).to_be_visible()
        await expect(page.locator("#pdf-file-kept")).to_contain_text(
            f"Fichier conservé : {PLAIN_PDF.name}"
        )
        await expect(page.get_by_label(re.compile("^Total TTC"))).to_have_value("120,00")
        await no_axe_violation(page, "PDF refused, file kept")
        await page.get_by_label(re.compile("^Numéro de facture")).fill(number)
        await page.get_by_role("button", name="Déposer le PDF").click()
        await expect(page.get_by_role("heading", name=f"Facture n° {number}")).to_be_visible()
        await expect(page.locator("#gross-total")).to_have_text(f"120,00{NBSP}€")
    except BaseException:
        await page.screenshot(path=tmp_path / "pdf.png", full_page=True)
        raise
    assert script_errors == []
