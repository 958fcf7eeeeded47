"""The portal's home (#13) in a real browser (Debian Chromium driven by Playwright): the
dashboard of what waits on each user, the "Fil d'événements" page, and deep links that
survive the login.

A buyer's public structure receives twelve invoices from a supplier's company; the buyer
suspends one and rejects another; a colleague asks to join the supplier's company. Through
the browser: the supplier follows a link to its suspended invoices while signed out, lands on
the login with the return address, signs in and arrives on that list; its home counts the
join request, the suspended invoice and the rejection to acknowledge, and each count leads
to what it counts. The buyer's home counts the ten invoices to process; its event feed pages
ten at a time, marks one item read, then all of them. A return address off the site leads
home after the login; the colleague, member of nothing yet, is told what to do.

Every page state reached is checked with axe-core (``axe_support.check_axe``): 0 violations.
Accounts, structures and invoices are set up through the REST API; everything under test
happens in the browser.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pyotp
import pytest
from axe_support import check_axe
from e2e_support import STRONG_PASSWORD, activated_user, client_ip, random_siret
from playwright.async_api import Browser, Page, async_playwright, expect
from test_portal_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.asyncio(loop_scope="session")

REPOSITORY = Path(__file__).resolve().parents[2]
INVOICES = 12


@pytest.fixture
async def browser():
    """Debian's Chromium with the invoice pages' test's options (never a downloaded one)."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/system_deps.sh (apt-get install chromium)")
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield found
        await found.close()


async def new_page(browser: Browser, gateway_url: str, script_errors: list[str]) -> Page:
    """A fresh browser profile (its own cookies and client address); the portal's CSP stays in
    force (axe_support injects axe-core without a script element)."""
    context = await browser.new_context(
        base_url=gateway_url,
        locale="fr-FR",
        extra_http_headers={"X-Forwarded-For": client_ip()},
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    return page


async def no_axe_violations(page: Page, state: str) -> None:
    await check_axe(page, state)


async def log_in(page: Page, email: str) -> None:
    """Fills and sends the login form the page shows."""
    await page.get_by_label("Adresse e-mail").fill(email)
    await page.get_by_label("Mot de passe").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/connexion")
    await log_in(page, email)
    await expect(page.get_by_role("heading", name=re.compile("^Bonjour"))).to_be_visible()


async def create_structure(api, auth, name: str, *, public: bool) -> dict:
    response = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": name,
            "kind": "PUBLIQUE" if public else "PRIVEE",
            "address": {
                "line1": "2 place de la Mairie",
                "postal_code": "38000",
                "city": "Grenoble",
                "country": "FR",
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def open_received_invoices(api, auth, structure_id: str) -> None:
    spaces = await api.get(f"/structures/{structure_id}/spaces", headers=auth)
    assert spaces.status_code == 200, spaces.text
    received = next(s for s in spaces.json()["items"] if s["space"] == "FACTURES_RECUES")
    if not received["open"]:
        opened = await api.put(f"/structures/{structure_id}/spaces/FACTURES_RECUES", headers=auth)
        assert opened.status_code in (200, 204), opened.text


async def deposit(api, auth, supplier_id: str, recipient_siret: str, number: str) -> str:
    response = await api.post(
        "/invoices",
        headers=auth,
        json={
            "supplier_structure_id": supplier_id,
            "recipient": {"identifier_type": "SIRET", "identifier": recipient_siret},
            "framework": "A1_FACTURE_FOURNISSEUR",
            "type": "FACTURE",
            "number": number,
            "issue_date": date.today().isoformat(),
            "currency": "EUR",
            "lines": [
                {
                    "description": "Entretien des espaces verts",
                    "quantity": "2",
                    "unit": "C62",
                    "unit_price": "350",
                    "vat_rate": "20",
                }
            ],
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def wait_status(api, auth, invoice_id: str, status: str, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while True:
            response = await api.get(f"/invoices/{invoice_id}", headers=auth)
            assert response.status_code == 200, response.text
            if response.json()["status"] == status:
                return
            await asyncio.sleep(0.3)


async def wait_feed(api, auth, kind: str, count: int, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while True:
            feed = await api.get("/feed", params={"page_size": 100}, headers=auth)
            assert feed.status_code == 200, feed.text
            if sum(item["kind"] == kind for item in feed.json()["items"]) >= count:
                return
            await asyncio.sleep(0.3)


async def send_back(api, auth, invoice_id: str, status: str, reason: str) -> None:
    response = await api.post(
        f"/invoices/{invoice_id}/status", json={"status": status, "reason": reason}, headers=auth
    )
    assert response.status_code == 200, response.text


def unread_count(text: str) -> int:
    match = re.search(r"(\d+) événements? non lus?", text)
    assert match, f"no unread count in {text!r}"
    return int(match.group(1))


async def test_home_dashboard_feed_and_deep_links_in_the_browser(
    api, mailbox, gateway_url, browser
):
    _, buyer_email, buyer = await activated_user(api, mailbox, "Bérénice", "Achat")
    _, supplier_email, supplier = await activated_user(api, mailbox, "Samuel", "Vente")
    _, colleague_email, colleague = await activated_user(api, mailbox, "Colette", "Compta")
    tag = uuid.uuid4().hex[:6]
    town = await create_structure(api, buyer, f"Commune de Belledonne {tag}", public=True)
    await open_received_invoices(api, buyer, town["id"])
    company = await create_structure(api, supplier, f"Jardins du Vercors {tag}", public=False)
    asked = await api.post(
        f"/structures/{company['id']}/attachment-requests",
        json={"comment": "Je tiens la comptabilité."},
        headers=colleague,
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "EN_COURS_DE_VALIDATION"
    numbers = [f"HOME-{tag}-{n:02d}" for n in range(INVOICES)]
    ids = [await deposit(api, supplier, company["id"], town["identifier"], n) for n in numbers]
    for invoice_id in ids:
        await wait_status(api, supplier, invoice_id, "MISE_A_DISPOSITION")
    suspended, rejected = ids[0], ids[1]
    await send_back(api, buyer, suspended, "SUSPENDUE", "Bon de commande manquant")
    await send_back(api, buyer, rejected, "REJETEE", "Prestation non commandée")
    await wait_feed(api, buyer, "INVOICE_RECEIVED", INVOICES)

    script_errors: list[str] = []
    seller_page = await new_page(browser, gateway_url, script_errors)
    buyer_page = await new_page(browser, gateway_url, script_errors)
    stray_page = await new_page(browser, gateway_url, script_errors)
    try:
        # A link to the suspended invoices, followed while signed out, survives the login.
        wanted = f"/factures?side=issued&status=SUSPENDUE&structure_id={company['id']}"
        await seller_page.goto(wanted)
        await expect(seller_page).to_have_url(
            f"{gateway_url}/connexion?suivant={quote(wanted, safe='')}"
        )
        await expect(seller_page.get_by_role("status")).to_contain_text(
            "Connectez-vous pour accéder à la page demandée."
        )
        await no_axe_violations(seller_page, "the login with a return address")
        await log_in(seller_page, supplier_email)
        await expect(seller_page).to_have_url(f"{gateway_url}{wanted}")
        rows = seller_page.locator("table tbody tr")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text(numbers[0])

        # The supplier's home: the join request, the suspended invoice, the rejection.
        await seller_page.goto("/")
        block = seller_page.locator("article").filter(has_text=company["raison_sociale"])
        await expect(
            block.get_by_role("link", name="1 Demande de rattachement à examiner")
        ).to_be_visible()
        await expect(
            block.get_by_role("link", name="1 Facture suspendue à compléter")
        ).to_be_visible()
        await expect(block.get_by_role("link", name="1 Rejet à prendre en compte")).to_be_visible()
        await no_axe_violations(seller_page, "the supplier's dashboard")
        await block.get_by_role("link", name="1 Rejet à prendre en compte").click()
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text(numbers[1])
        await seller_page.go_back()
        await block.get_by_role("link", name="1 Demande de rattachement à examiner").click()
        pending = seller_page.locator("#pending-requests").get_by_role("row")
        await expect(pending.filter(has_text="Colette")).to_contain_text(
            "Je tiens la comptabilité."
        )

        # The buyer's home: ten invoices to process, the latest events, the unread count.
        await sign_in(buyer_page, buyer_email)
        block = buyer_page.locator("article").filter(has_text=town["raison_sociale"])
        to_process = block.get_by_role(
            "link", name="10 Factures reçues à traiter — Mise à disposition"
        )
        await expect(to_process).to_be_visible()
        await expect(buyer_page.locator(".feed .feed-item")).to_have_count(5)
        await no_axe_violations(buyer_page, "the buyer's dashboard")
        await to_process.click()
        await expect(buyer_page.locator("table tbody tr")).to_have_count(10)
        await buyer_page.go_back()

        # The feed, ten items a page; one item marked read, then all of them.
        await buyer_page.get_by_role("link", name="Tout le fil d'événements").click()
        await expect(buyer_page.get_by_role("heading", name="Fil d'événements")).to_be_visible()
        items = buyer_page.locator(".feed .feed-item")
        await expect(items).to_have_count(10)
        unread = unread_count(await buyer_page.locator("#feed-unread").inner_text())
        assert unread >= INVOICES
        await no_axe_violations(buyer_page, "the feed's first page")
        await buyer_page.get_by_role("link", name="Événements plus anciens").click()
        await expect(items.first).to_be_visible()
        await no_axe_violations(buyer_page, "the feed's second page")
        await buyer_page.get_by_role("link", name="Événements les plus récents").click()
        first = items.first
        await expect(first.locator(".badge")).to_have_text("Non lu")
        await first.get_by_role("button", name=re.compile("^Marquer comme lu")).click()
        await expect(buyer_page.get_by_role("status").first).to_contain_text(
            "L'événement est marqué comme lu."
        )
        await expect(items.first.locator(".badge")).to_have_count(0)
        assert unread_count(await buyer_page.locator("#feed-unread").inner_text()) == unread - 1
        await no_axe_violations(buyer_page, "the feed after marking one item read")
        await buyer_page.get_by_role("button", name="Tout marquer comme lu").click()
        await expect(buyer_page.locator("#feed-unread")).to_have_text("Aucun événement non lu.")
        await expect(buyer_page.locator(".feed .badge")).to_have_count(0)
        await no_axe_violations(buyer_page, "the feed all read")
        received = items.filter(has_text=numbers[-1]).get_by_role("link").first
        await received.click()
        await expect(buyer_page).to_have_url(re.compile(r"/factures/[0-9a-f-]{36}$"))
        await expect(buyer_page.get_by_text(numbers[-1]).first).to_be_visible()

        # A return address off the site leads home; a member of nothing is told what to do.
        await stray_page.goto("/connexion?suivant=" + quote("//evil.example/", safe=""))
        await expect(stray_page.locator('input[name="suivant"]')).to_have_count(0)
        await log_in(stray_page, colleague_email)
        await expect(stray_page).to_have_url(f"{gateway_url}/")
        await expect(stray_page.locator("#no-structure")).to_contain_text(
            "Vous n'êtes rattaché à aucune structure."
        )
        await no_axe_violations(stray_page, "the dashboard of a member of nothing")
    finally:
        for page in (seller_page, buyer_page, stray_page):
            await page.context.close()
    assert script_errors == []


async def test_a_deep_link_survives_the_second_factor_in_the_browser(
    api, mailbox, gateway_url, browser
):
    _, email, auth = await activated_user(api, mailbox, "Timothée", "Double")
    enrolment = await api.post("/me/mfa/totp", headers=auth)
    assert enrolment.status_code == 200, enrolment.text
    secret, recovery = enrolment.json()["secret"], enrolment.json()["recovery_codes"][0]
    confirmed = await api.post(
        "/me/mfa/totp/confirm", headers=auth, json={"code": pyotp.TOTP(secret).now()}
    )
    assert confirmed.status_code == 204, confirmed.text

    script_errors: list[str] = []
    page = await new_page(browser, gateway_url, script_errors)
    try:
        await page.goto("/evenements")
        await expect(page).to_have_url(f"{gateway_url}/connexion?suivant=%2Fevenements")
        await log_in(page, email)
        await expect(page.get_by_role("heading", name="Double authentification")).to_be_visible()
        await no_axe_violations(page, "the second factor with a return address")
        # A wrong code is refused beside the field; the return address is kept.
        await page.get_by_label("Code de vérification").fill("000000")
        await page.get_by_role("button", name="Valider").click()
        await expect(page.get_by_role("alert")).to_be_visible()
        await expect(page.locator('input[name="suivant"]')).to_have_value("/evenements")
        await no_axe_violations(page, "the second factor refused")
        await page.get_by_label("Code de vérification").fill(recovery)
        await page.get_by_role("button", name="Valider").click()
        await expect(page.get_by_role("heading", name="Fil d'événements")).to_be_visible()
        await expect(page).to_have_url(f"{gateway_url}/evenements")
        await no_axe_violations(page, "the feed reached through the second factor")
    finally:
        await page.context.close()
    assert script_errors == []
