"""Issue 10, end to end on the real stack: an invoice entered with the EN 16931 details —
a line discount, a global discount ("Remise globale"), a prepaid amount, references, an IBAN —
through the REST API and through the portal's entry form in a real browser (Debian Chromium
driven by Playwright).

- REST: ``POST /invoices`` then ``GET /invoices/{id}``: the totals BT-106…BT-115 the service
  computed, the line's allowance, and the ``document`` (the EN 16931 model) carrying the
  payment account, the references and the allowance.
- Browser: the live totals the entry form shows BEFORE depositing equal, field by field, the
  totals the invoice page shows after the service computed them; the page shows the IBAN, the
  references and the allowance.

The recipient is the seeded public structure of ``e2e_support`` (no engagement number nor
service code required), which several tests share read-only.
"""

from __future__ import annotations

import uuid

import pytest
from e2e_support import PUBLIC_RECIPIENT_SIRET, activated_user
from playwright.async_api import expect
from test_portal_browser import browser, new_page, sign_in, supplier_structure  # noqa: F401

pytestmark = pytest.mark.asyncio(loop_scope="session")

IBAN = "FR7630006000011234567890189"
IBAN_SHOWN = "FR76 3000 6000 0112 3456 7890 189"
NBSP, NNBSP = "\u00a0", "\u202f"


async def test_rest_entry_with_discounts_prepaid_and_iban_reads_back_its_totals(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Irène")
    supplier = await supplier_structure(api, auth)
    number = f"EN-{uuid.uuid4().hex[:8]}"
    body = {
        "supplier_structure_id": supplier["id"],
        "recipient": {"identifier_type": "SIRET", "identifier": PUBLIC_RECIPIENT_SIRET},
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": number,
        "issue_date": "2026-01-15",
        "engagement_number": "EJ-2026-7",
        "contract_reference": "MARCHE-2026-42",
        "lines": [
            {
                "description": "Audit",
                "quantity": "3",
                "unit": "DAY",
                "unit_price": "400.00",
                "vat_rate": "20",
                "allowances_charges": [{"percentage": "10", "reason": "Remise"}],
            },
            {
                "description": "Livres",
                "quantity": "2",
                "unit": "C62",
                "unit_price": "49.99",
                "vat_rate": "5.5",
            },
        ],
        "allowances_charges": [
            {"amount": "50.00", "reason": "Remise globale", "vat_rate": "20"},
        ],
        "prepaid_amount": "300.00",
        "payment": {"means_code": "58", "iban": IBAN, "bic": "AGRIFRPP"},
        "delivery": {
            "date": "2026-01-10",
            "address": {
                "line1": "1 rue de la Paix",
                "postal_code": "75002",
                "city": "Paris",
                "country": "FR",
            },
        },
        "invoicing_period_start": "2026-01-01",
        "invoicing_period_end": "2026-01-31",
        "due_date": "2026-02-15",
    }

    created = await api.post("/invoices", json=body, headers=auth)
    assert created.status_code == 201, created.text
    detail = await api.get(f"/invoices/{created.json()['id']}", headers=auth)
    assert detail.status_code == 200, detail.text
    invoice = detail.json()

    # 3 × 400 = 1200.00 − 10 % = 1080.00 at 20 %; 2 × 49.99 = 99.98 at 5.5 %;
    # BT-106 1179.98 − 50.00 = BT-109 1129.98; VAT 20 % of 1030.00 = 206.00, 5.5 % of 99.98
    # = 5.50 (5.4989 rounded); BT-112 1341.48 − 300.00 prepaid = BT-115 1041.48.
    totals = invoice["totals"]
    assert {
        k: totals[k]
        for k in (
            "line_total",
            "allowance_total",
            "net_total",
            "vat_total",
            "gross_total",
            "prepaid_amount",
            "amount_due",
        )
    } == {
        "line_total": "1179.98",
        "allowance_total": "50.00",
        "net_total": "1129.98",
        "vat_total": "211.50",
        "gross_total": "1341.48",
        "prepaid_amount": "300.00",
        "amount_due": "1041.48",
    }
    assert totals["charge_total"] is None
    vat = {(v["category"], v["rate"]): (v["base"], v["amount"]) for v in totals["vat_breakdown"]}
    assert vat == {("S", "20"): ("1030.00", "206.00"), ("S", "5.5"): ("99.98", "5.50")}
    first = invoice["lines"][0]
    assert first["net_amount"] == "1080.00"
    assert [(a["charge"], a["amount"]) for a in first["allowances_charges"]] == [(False, "120.00")]
    assert invoice["type_code"] == "380"

    document = invoice["document"]
    assert document["totals"]["amount_due"] == "1041.48"
    assert document["totals"]["prepaid"] == "300.00"
    [transfer] = document["payment_instructions"]["credit_transfers"]
    assert (transfer["account"], transfer.get("service_provider")) == (IBAN, "AGRIFRPP")
    assert document["contract_reference"] == "MARCHE-2026-42"
    assert document["purchase_order_reference"] == "EJ-2026-7"
    assert document["due_date"] == "2026-02-15"
    assert document["invoicing_period"] == {"start": "2026-01-01", "end": "2026-01-31"}
    assert document["delivery"]["date"] == "2026-01-10"
    [allowance] = document["allowances_charges"]
    assert (allowance["charge"], allowance["amount"], allowance["reason"]) == (
        False,
        "50.00",
        "Remise globale",
    )


LIVE_TO_DETAIL = {
    "#live-line-total": "#line-total",
    "#live-allowance-total": "#allowance-total",
    "#live-net-total": "#net-total",
    "#live-vat-total": "#vat-total",
    "#live-gross-total": "#gross-total",
    "#live-prepaid": "#prepaid",
    "#live-amount-due": "#amount-due",
}


async def test_an_entry_with_hundreds_of_errors_is_refused_with_the_first_ones_listed(api, mailbox):
    """50 empty global allowances and 20 empty ones on each of 10 lines: hundreds of problems,
    more than a gRPC error's details can carry whole. Found by the fuzzer as a 500; the answer
    is the 422 of any refusal, its list cut with a last line saying how many are left out."""
    _, _, auth = await activated_user(api, mailbox, "Iris")
    supplier = await supplier_structure(api, auth)
    body = {
        "supplier_structure_id": supplier["id"],
        "recipient": {"identifier_type": "SIRET", "identifier": PUBLIC_RECIPIENT_SIRET},
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": f"EN-{uuid.uuid4().hex[:8]}",
        "issue_date": "2026-01-15",
        "lines": [
            {
                "description": "Audit",
                "quantity": "1",
                "unit": "C62",
                "unit_price": "10.00",
                "vat_rate": "20",
                "allowances_charges": [{}] * 20,
            }
        ]
        * 10,
        "allowances_charges": [{}] * 50,
    }
    response = await api.post("/invoices", json=body, headers=auth)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] != "INTERNAL"
    assert 1 < len(problem["errors"]) <= 100
    assert "non listée(s)" in problem["errors"][-1]["message"]


async def test_live_totals_before_depositing_equal_the_services(
    api,
    mailbox,
    gateway_url,
    browser,  # noqa: F811 — the fixture
    tmp_path,
):
    _, email, auth = await activated_user(api, mailbox, "Lucie")
    supplier = await supplier_structure(api, auth)
    number = f"LIVE-{uuid.uuid4().hex[:8]}"
    script_errors: list[str] = []
    page = await new_page(browser, gateway_url, script_errors)
    try:
        await sign_in(page, email)
        await page.goto("/factures/nouvelle")
        await page.get_by_label("Structure émettrice").select_option(supplier["id"])
        await page.get_by_label("SIRET du destinataire").fill(PUBLIC_RECIPIENT_SIRET)
        await page.get_by_label("Numéro de facture").fill(number)
        await page.get_by_label("Numéro d'engagement / bon de commande").fill("EJ-2026-8")
        await page.get_by_label("Référence du contrat").fill("MARCHE-2026-43")
        # Line 1: 3 × 400,00 with 10 % off at 20 %; line 2: 2 × 49,99 at a manual 8,5 %.
        await page.get_by_label("Libellé, ligne 1").fill("Audit")
        await page.get_by_label("Quantité, ligne 1").fill("3")
        await page.get_by_label("Prix unitaire HT, ligne 1").fill("400,00")
        await page.get_by_label("Remise en %, ligne 1").fill("10")
        await page.get_by_label("Libellé, ligne 2").fill("Livres")
        await page.get_by_label("Quantité, ligne 2").fill("2")
        await page.get_by_label("Prix unitaire HT, ligne 2").fill("49,99")
        manual = page.locator("#lines-1-vat_manual")
        await expect(manual).to_be_hidden()
        await page.get_by_label("Taux de TVA, ligne 2", exact=True).select_option("manuel")
        await expect(manual).to_be_visible()
        await manual.fill("8,5")
        # A global discount of 5 % of the lines at 20 %, and a prepaid amount.
        await page.get_by_label("Motif, remise ou frais 1").fill("Remise globale")
        await page.get_by_label("Pourcentage, remise ou frais 1").fill("5")
        await page.get_by_label("Acompte déjà versé").fill("100")
        await page.get_by_label("IBAN du compte à créditer").fill(IBAN_SHOWN)
        await page.get_by_label("BIC").fill("AGRIFRPP")
        await page.get_by_label("Date de livraison").fill("2026-01-18")

        # 1200.00 − 120.00 = 1080.00; 99.98; BT-106 1179.98; 5 % = 59.00 (58.999);
        # BT-109 1120.98; VAT 20 % of 1021.00 = 204.20, 8.5 % of 99.98 = 8.50 (8.4983);
        # BT-110 212.70; BT-112 1333.68; − 100.00 = BT-115 1233.68.
        expected = {
            "#live-line-total": f"1{NNBSP}179,98{NBSP}€",
            "#live-allowance-total": f"59,00{NBSP}€",
            "#live-net-total": f"1{NNBSP}120,98{NBSP}€",
            "#live-vat-total": f"212,70{NBSP}€",
            "#live-gross-total": f"1{NNBSP}333,68{NBSP}€",
            "#live-prepaid": f"100,00{NBSP}€",
            "#live-amount-due": f"1{NNBSP}233,68{NBSP}€",
        }
        await expect(page.locator("#live-totals")).to_be_visible()
        for selector, text in expected.items():
            await expect(page.locator(selector)).to_have_text(text)
        live = {s: await page.locator(s).inner_text() for s in LIVE_TO_DETAIL}
        await expect(page.locator("#live-vat tbody tr")).to_have_count(2)

        await page.get_by_role("button", name="Déposer", exact=True).click()
        await expect(page.get_by_role("heading", name=f"Facture n° {number}")).to_be_visible()
        await expect(page.get_by_role("status").filter(has_text="Facture déposée")).to_be_visible()
        for live_selector, detail_selector in LIVE_TO_DETAIL.items():
            await expect(page.locator(detail_selector)).to_have_text(live[live_selector])
        # What the invoice says: the whole IBAN, the references, the allowance.
        await expect(page.locator("#payment")).to_contain_text(IBAN_SHOWN)
        await expect(page.locator("#payment")).to_contain_text("AGRIFRPP")
        await expect(page.locator("#references")).to_contain_text("EJ-2026-8")
        await expect(page.locator("#references")).to_contain_text("MARCHE-2026-43")
        await expect(page.locator("#document-charges")).to_contain_text("Remise globale")
        await expect(page.locator("#document-lines")).to_contain_text("Remise 10 %")
        await expect(page.locator("#delivery")).to_contain_text("18/01/2026")
    except BaseException:
        await page.screenshot(path=tmp_path / "saisie-en16931.png", full_page=True)
        raise
    assert script_errors == []
