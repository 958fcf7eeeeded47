"""Processing an invoice and working its lists in a real browser (Debian Chromium driven by
Playwright), issue 13.

A supplier deposits three invoices through the REST API to a public structure of the seeded
directory ("Syndicat intercommunal des eaux de Rennes", no routing requirement, claimed here
by its first attachment request); the recipient-side user then, in the browser:

- sorts "Reçues" by amount both ways and by number, and downloads the list as CSV and XLSX
  (opened with the csv module and openpyxl: the same rows, in the same order);
- reads an invoice: both SIRETs, the deposit date, the history's "Par" column (the supplier's
  name, "Système" for routing);
- finds one button only, the next step (no skipping), takes the invoice into account, and
  sees their own name in the history;
- sends a move the table forbids (a forged button): the French refusal, nothing changes;
- watches the page follow the invoice when it moves on through the API (live refresh);
- pays it: the terminal status asks for a confirmation first (cancelling changes nothing);
- rejects another invoice with a reason code and a comment, confirmed too; the supplier then
  acknowledges the rejection with its button.

axe-core (``axe_support.check_axe``) runs on every page state reached: 0 violations. It is
evaluated through the DevTools protocol, so the portal's strict CSP stays on and is checked
too: the browser's console must show no CSP refusal and no script error.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from axe_support import check_axe
from e2e_support import activated_user, client_ip, random_siret
from openpyxl import load_workbook
from playwright.async_api import Browser, Page, async_playwright, expect
from test_portal_browser import CHROMIUM, CHROMIUM_ARGS, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Seeded by `chorus-structures seed-demo` (the default directory), claimed by no other test.
RECIPIENT_SIRET = "27614099360940"
RECIPIENT_NAME = "Syndicat intercommunal des eaux de Rennes"
E2E = Path(__file__).resolve().parent
NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.fixture
async def browser():
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/system_deps.sh (apt-get install chromium)")
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield found
        await found.close()


async def new_page(browser: Browser, gateway_url: str, problems: list[str]) -> Page:
    context = await browser.new_context(
        base_url=gateway_url,
        locale="fr-FR",
        accept_downloads=True,
        extra_http_headers={"X-Forwarded-For": client_ip()},
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    return page


async def no_axe_violations(page: Page, state: str) -> None:
    await check_axe(page, state)


async def supplier_structure(api, auth) -> dict:
    response = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": "Canalisations du Couesnon",
            "address": {
                "line1": "4 rue du Moulin",
                "postal_code": "35300",
                "city": "Fougères",
                "country": "FR",
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def claim_recipient(api, auth) -> str:
    found = await api.get("/structures", params={"identifier": RECIPIENT_SIRET}, headers=auth)
    assert found.status_code == 200, found.text
    structure_id = found.json()["items"][0]["id"]
    request = await api.post(
        f"/structures/{structure_id}/attachment-requests", json={}, headers=auth
    )
    assert request.status_code == 201, request.text
    assert request.json()["status"] == "VALIDEE", "the structure was claimed by another test"
    spaces = await api.get(f"/structures/{structure_id}/spaces", headers=auth)
    received = next(s for s in spaces.json()["items"] if s["space"] == "FACTURES_RECUES")
    if not received["open"]:
        opened = await api.put(f"/structures/{structure_id}/spaces/FACTURES_RECUES", headers=auth)
        assert opened.status_code in (200, 204), opened.text
    return structure_id


async def deposit(api, auth, supplier_id: str, number: str, price: str) -> str:
    body = {
        "supplier_structure_id": supplier_id,
        "recipient": {"identifier_type": "SIRET", "identifier": RECIPIENT_SIRET},
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": number,
        "issue_date": date.today().isoformat(),
        "currency": "EUR",
        "lines": [
            {
                "description": "Curage de réseau",
                "quantity": "1",
                "unit": "C62",
                "unit_price": price,
                "vat_rate": "20",
            }
        ],
    }
    created = await api.post("/invoices", json=body, headers=auth)
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def wait_status(api, auth, invoice_id: str, status: str, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while True:
            response = await api.get(f"/invoices/{invoice_id}", headers=auth)
            if response.status_code == 200 and response.json()["status"] == status:
                return
            await asyncio.sleep(0.3)


async def status_of(api, auth, invoice_id: str) -> str:
    response = await api.get(f"/invoices/{invoice_id}", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["status"]


async def move(api, auth, invoice_id: str, status: str) -> None:
    moved = await api.post(f"/invoices/{invoice_id}/status", json={"status": status}, headers=auth)
    assert moved.status_code == 200, moved.text


async def numbers_shown(page: Page) -> list[str]:
    return [
        (await cell.inner_text()).strip()
        for cell in await page.locator("table.invoices tbody tr td:first-child").all()
    ]


async def test_processing_sorting_exports_and_live_refresh_in_the_browser(
    api, mailbox, gateway_url, browser, tmp_path
):
    _, supplier_email, supplier_auth = await activated_user(api, mailbox, "Solène", "Marchand")
    _, recipient_email, recipient_auth = await activated_user(api, mailbox, "Bruno", "Payeur")
    supplier = await supplier_structure(api, supplier_auth)
    await claim_recipient(api, recipient_auth)
    prefix = f"PR{uuid.uuid4().hex[:6].upper()}"
    # Amounts (TTC): B 120, A 240, C 360: the number and amount orders differ.
    made = {
        "A": await deposit(api, supplier_auth, supplier["id"], f"{prefix}-A", "200.00"),
        "B": await deposit(api, supplier_auth, supplier["id"], f"{prefix}-B", "100.00"),
        "C": await deposit(api, supplier_auth, supplier["id"], f"{prefix}-C", "300.00"),
    }
    for invoice_id in made.values():
        await wait_status(api, recipient_auth, invoice_id, "MISE_A_DISPOSITION")

    problems: list[str] = []
    page = await new_page(browser, gateway_url, problems)
    try:
        await sign_in(page, recipient_email)

        # "Reçues", narrowed to these invoices, sorted by amount both ways, then by number.
        await page.goto(f"/factures?side=received&number={prefix}")
        await expect(page.locator("table.invoices tbody tr")).to_have_count(3)
        await no_axe_violations(page, "list")
        await page.locator("#sort-montant").click()
        await expect(page.locator("th[aria-sort='ascending']")).to_contain_text("Montant TTC")
        assert await numbers_shown(page) == [f"{prefix}-B", f"{prefix}-A", f"{prefix}-C"]
        assert "tri=montant" in page.url and "ordre=asc" in page.url
        await page.locator("#sort-montant").click()
        await expect(page.locator("th[aria-sort='descending']")).to_contain_text("Montant TTC")
        assert await numbers_shown(page) == [f"{prefix}-C", f"{prefix}-A", f"{prefix}-B"]
        await no_axe_violations(page, "list sorted by amount")

        # Exports of the list as it is (filtered, sorted by amount, largest first).
        async with page.expect_download() as downloading:
            await page.get_by_role("link", name="CSV (Excel)").click()
        downloaded = await downloading.value
        assert re.fullmatch(r"factures-recues-\d{8}\.csv", downloaded.suggested_filename)
        raw = Path(await downloaded.path()).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
        assert rows[0] == [
            "Numéro",
            "Date de facture",
            "Fournisseur",
            "Identifiant du fournisseur (SIRET)",
            "Destinataire",
            "Identifiant du destinataire (SIRET)",
            "Montant HT",
            "Montant TTC",
            "Devise",
            "Statut",
            "Date de dépôt",
        ]
        assert [(r[0], r[6], r[7]) for r in rows[1:]] == [
            (f"{prefix}-C", "300,00", "360,00"),
            (f"{prefix}-A", "200,00", "240,00"),
            (f"{prefix}-B", "100,00", "120,00"),
        ]
        first = rows[1]
        assert first[2:6] == [
            "Canalisations du Couesnon",
            supplier["identifier"],
            RECIPIENT_NAME,
            RECIPIENT_SIRET,
        ]
        assert (first[1], first[8], first[9]) == (
            date.today().strftime("%d/%m/%Y"),
            "EUR",
            "Mise à disposition",
        )
        assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", first[10])
        async with page.expect_download() as downloading:
            await page.get_by_role("link", name="XLSX").click()
        downloaded = await downloading.value
        assert re.fullmatch(r"factures-recues-\d{8}\.xlsx", downloaded.suggested_filename)
        await downloaded.save_as(tmp_path / downloaded.suggested_filename)
        workbook = load_workbook(tmp_path / downloaded.suggested_filename, read_only=True)
        sheet = list(workbook["Factures"].iter_rows(values_only=True))
        assert list(sheet[0]) == rows[0]
        assert [(r[0], float(r[7]), r[3], r[5]) for r in sheet[1:]] == [
            (f"{prefix}-C", 360.0, supplier["identifier"], RECIPIENT_SIRET),
            (f"{prefix}-A", 240.0, supplier["identifier"], RECIPIENT_SIRET),
            (f"{prefix}-B", 120.0, supplier["identifier"], RECIPIENT_SIRET),
        ]
        assert sheet[1][1] is not None and sheet[1][1].date() == date.today()

        await page.locator("#sort-numero").click()
        assert await numbers_shown(page) == [f"{prefix}-A", f"{prefix}-B", f"{prefix}-C"]

        # The detail: both SIRETs, the deposit date, who did what.
        await page.get_by_role("link", name=f"{prefix}-A").click()
        await expect(page.get_by_role("heading", name=f"Facture n° {prefix}-A")).to_be_visible()
        await expect(page.locator("#supplier")).to_contain_text(f"SIRET {supplier['identifier']}")
        await expect(page.locator("#recipient")).to_contain_text(f"SIRET {RECIPIENT_SIRET}")
        paris_today = datetime.now(ZoneInfo("Europe/Paris")).strftime("%d/%m/%Y")
        await expect(page.locator("#deposited-at")).to_contain_text(paris_today)
        history = page.locator("#history")
        await expect(history.get_by_role("columnheader", name="Par")).to_be_visible()
        deposited_row = history.get_by_role("row").filter(has_text="Déposée")
        await expect(deposited_row).to_contain_text("Solène Marchand")
        routed_row = history.get_by_role("row").filter(has_text="En cours d'acheminement")
        await expect(routed_row).to_contain_text("Système")

        # One button: the next step. Nothing skips ahead; the ways back need a reason.
        steps = page.locator("#next-steps button")
        await expect(steps).to_have_count(1)
        await expect(steps).to_have_text("Prendre en compte")
        for skipped in ("Constater le service fait", "Mandater", "Mettre en paiement"):
            await expect(page.get_by_role("button", name=skipped)).to_have_count(0)
        await expect(page.get_by_role("button", name="Suspendre")).to_be_visible()
        await expect(page.get_by_role("button", name="Rejeter…")).to_be_visible()
        await no_axe_violations(page, "detail, made available")

        # A move the table forbids (a forged button): refused in French, nothing changes.
        await page.evaluate(
            "document.querySelector('#next-steps input[name=status]').value = 'DEPOSEE'"
        )
        await steps.click()
        await expect(page.get_by_role("alert")).to_contain_text(
            "ne peut pas passer au statut « Déposée »"
        )
        await expect(page.locator("#invoice-status")).to_have_text("Mise à disposition")
        assert await status_of(api, recipient_auth, made["A"]) == "MISE_A_DISPOSITION"
        await no_axe_violations(page, "detail, refused move")

        # Taking it into account: one click, the notice, and my name in the history.
        await page.locator("#next-steps button").click()
        await expect(page.get_by_role("status").filter(has_text="mis à jour")).to_be_visible()
        await expect(page.locator("#invoice-status")).to_have_text("Prise en compte")
        taken_row = history.get_by_role("row").filter(has_text="Prise en compte")
        await expect(taken_row).to_contain_text("Bruno Payeur")
        await expect(page.locator("#next-steps button")).to_have_text("Constater le service fait")

        # Live: the invoice moves on through the API; the open page follows it.
        await move(api, recipient_auth, made["A"], "SERVICE_FAIT")
        live = page.locator("#invoice-live")
        await expect(live).to_be_visible(timeout=30_000)
        await expect(live).to_contain_text("La facture est passée au statut « Service fait »")
        await expect(page.locator("#invoice-status")).to_have_text("Service fait")
        await no_axe_violations(page, "detail, live update shown")

        # Paying it: the terminal status asks first; cancelling changes nothing.
        await move(api, recipient_auth, made["A"], "COMPTABILISEE")
        await page.reload()
        await expect(page.locator("#next-steps button")).to_have_text("Mettre en paiement…")
        await page.locator("#next-steps button").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Passer la facture n° {prefix}-A au statut « Mise en paiement » ?"
        )
        await expect(page.get_by_text("Ce statut est définitif")).to_be_visible()
        assert await status_of(api, recipient_auth, made["A"]) == "COMPTABILISEE"
        await no_axe_violations(page, "payment confirmation")
        await page.get_by_role("link", name="Annuler").click()
        await expect(page.locator("#invoice-status")).to_have_text("Comptabilisée")
        assert await status_of(api, recipient_auth, made["A"]) == "COMPTABILISEE"
        await page.locator("#next-steps button").click()
        await page.get_by_role("button", name="Confirmer : Mettre en paiement").click()
        await expect(page.locator("#invoice-status")).to_have_text("Mise en paiement")
        assert await status_of(api, recipient_auth, made["A"]) == "MISE_EN_PAIEMENT"
        await expect(page.locator("#next-steps")).to_have_count(0)
        await expect(page.locator("#invoice-live")).to_have_count(0)  # final: not followed
        await no_axe_violations(page, "detail, paid")

        # Rejecting B: a reason code and a comment, then the confirmation.
        await page.goto(f"/factures/{made['B']}")
        await page.get_by_label("Motif").select_option("DOUBLON")
        await page.get_by_label("Commentaire pour le fournisseur").fill(
            f"Même prestation que {prefix}-A."
        )
        await page.get_by_role("button", name="Rejeter…").click()
        reason = f"DOUBLON — Facture en doublon : Même prestation que {prefix}-A."
        await expect(page.locator("#confirmation-reason")).to_have_text(reason)
        assert await status_of(api, recipient_auth, made["B"]) == "MISE_A_DISPOSITION"
        await no_axe_violations(page, "rejection confirmation")
        await page.get_by_role("button", name="Confirmer : Rejeter").click()
        await expect(page.locator("#invoice-status")).to_have_text("Rejetée")
        await expect(history.get_by_role("row").filter(has_text="Rejetée")).to_contain_text(reason)
    except BaseException:
        await page.screenshot(path=tmp_path / "destinataire.png", full_page=True)
        raise

    page = await new_page(browser, gateway_url, problems)
    try:
        # The supplier acknowledges the rejection with its button.
        await sign_in(page, supplier_email)
        await page.goto(f"/factures/{made['B']}")
        await expect(page.locator("#invoice-status")).to_have_text("Rejetée")
        await no_axe_violations(page, "supplier, rejected")
        await page.get_by_role("button", name="J'ai pris connaissance du rejet").click()
        await expect(
            page.get_by_role("status").filter(has_text="pris connaissance du rejet")
        ).to_be_visible()
        await expect(
            page.get_by_role("button", name="J'ai pris connaissance du rejet")
        ).to_have_count(0)
    except BaseException:
        await page.screenshot(path=tmp_path / "fournisseur.png", full_page=True)
        raise
    assert problems == []
