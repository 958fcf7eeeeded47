"""/invoices and the EN 16931 details (issue 10): the entry's new fields mapped to
CreateInvoiceRequest, malformed ones refused at the edge with 422, and the detail's new totals,
line allowances and ``document`` (the semantic model parsed from ``document_json``)."""

from __future__ import annotations

import base64
import json

import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb

from .test_api_invoices import AUTH, INVOICE_ID, create_body, invoice


def full_body() -> dict:
    line = {
        "description": "Audit",
        "quantity": "2",
        "unit": "DAY",
        "unit_price": "500",
        "vat_rate": "20",
        "vat_category": "S",
        "allowances_charges": [{"percentage": "10", "reason": "Remise"}],
    }
    return create_body(
        lines=[line],
        engagement_number="EJ-2026-1",
        contract_reference="MARCHE-42",
        prepaid_amount="100.00",
        allowances_charges=[
            {"amount": "50", "reason": "Remise globale", "vat_category": "S", "vat_rate": "20"},
            {"charge": True, "percentage": "2", "reason": "Frais de port", "reason_code": "FC"},
        ],
        payment={
            "means_code": "58",
            "iban": "fr76 3000 6000 0112 3456 7890 189",
            "bic": "agrifrpp",
            "account_name": "ACME SAS",
            "remittance_information": "F-2026-001",
        },
        delivery={
            "party_name": "Mairie — services techniques",
            "date": "2026-01-10",
            "address": {
                "line1": "1 rue de la Paix",
                "postal_code": "75002",
                "city": "Paris",
                "country": "FR",
            },
        },
        invoicing_period_start="2026-01-01",
        invoicing_period_end="2026-01-31",
        due_date="2026-02-15",
        vat_exemption_reason_code="VATEX-FR-FRANCHISE",
    )


async def test_the_en16931_details_are_sent_to_the_service(api, services):
    services.invoices.answer("CreateInvoice", pb.CreateInvoiceResponse(invoice=invoice()))

    response = await api.post("/api/v1/invoices", json=full_body(), headers=AUTH)

    assert response.status_code == 201, response.text
    [call] = services.invoices.calls_to("CreateInvoice")
    request = call.request
    [line] = request.lines
    assert line.vat_category == "S"
    assert [(a.charge, a.amount, a.percentage, a.reason) for a in line.allowances_charges] == [
        (False, "", "10", "Remise")
    ]
    assert [
        (a.charge, a.amount, a.percentage, a.vat_category, a.vat_rate, a.reason, a.reason_code)
        for a in request.allowances_charges
    ] == [
        (False, "50", "", "S", "20", "Remise globale", ""),
        (True, "", "2", "", "", "Frais de port", "FC"),
    ]
    assert request.prepaid_amount == "100.00"
    assert request.engagement_number == "EJ-2026-1"
    assert request.contract_reference == "MARCHE-42"
    assert request.payment == pb.PaymentMeans(
        means_code="58",
        iban="FR7630006000011234567890189",
        bic="AGRIFRPP",
        account_name="ACME SAS",
        remittance_information="F-2026-001",
    )
    assert request.delivery.party_name == "Mairie — services techniques"
    assert request.delivery.date == "2026-01-10"
    assert (request.delivery.address.city, request.delivery.address.country) == ("Paris", "FR")
    assert (request.invoicing_period_start, request.invoicing_period_end) == (
        "2026-01-01",
        "2026-01-31",
    )
    assert request.due_date == "2026-02-15"
    assert request.vat_exemption_reason_code == "VATEX-FR-FRANCHISE"


async def test_without_details_nothing_is_set(api, services):
    services.invoices.answer("CreateInvoice", pb.CreateInvoiceResponse(invoice=invoice()))

    response = await api.post("/api/v1/invoices", json=create_body(), headers=AUTH)

    assert response.status_code == 201
    request = services.invoices.calls_to("CreateInvoice")[0].request
    assert not request.HasField("payment") and not request.HasField("delivery")
    assert list(request.allowances_charges) == [] and request.prepaid_amount == ""


async def test_a_payment_without_means_code_is_a_credit_transfer(api, services):
    services.invoices.answer("CreateInvoice", pb.CreateInvoiceResponse(invoice=invoice()))

    response = await api.post(
        "/api/v1/invoices",
        json=create_body(payment={"iban": "FR7630006000011234567890189"}),
        headers=AUTH,
    )

    assert response.status_code == 201
    assert services.invoices.calls_to("CreateInvoice")[0].request.payment.means_code == "30"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payment": {"iban": "FR76-3000"}}, "payment.iban"),
        ({"payment": {"iban": "7630006000011234567890189"}}, "payment.iban"),
        ({"payment": {"iban": "FR7630006000011234567890189", "bic": "AGRI"}}, "payment.bic"),
        ({"payment": {"means_code": "virement"}}, "payment.means_code"),
        ({"prepaid_amount": "-10"}, "prepaid_amount"),
        ({"prepaid_amount": "dix euros"}, "prepaid_amount"),
        ({"due_date": "15/02/2026"}, "due_date"),
        ({"invoicing_period_start": "2026-13-01"}, "invoicing_period_start"),
        ({"delivery": {"date": "demain"}}, "delivery.date"),
        ({"delivery": {"address": {"country": "France"}}}, "delivery.address.country"),
        ({"delivery": {"adresse": {}}}, "delivery.adresse"),
        ({"allowances_charges": [{"amount": "abc"}]}, "allowances_charges[0].amount"),
        (
            {"allowances_charges": [{"amount": "5", "vat_category": "X"}]},
            "allowances_charges[0].vat_category",
        ),
        ({"allowances_charges": [{"charge": "peut-être"}]}, "allowances_charges[0].charge"),
        ({"allowances_charges": {"amount": "5"}}, "allowances_charges"),
        ({"vat_exemption_reason_code": "franchise"}, "vat_exemption_reason_code"),
    ],
)
async def test_malformed_details_are_refused_at_the_edge(api, services, change, field):
    response = await api.post("/api/v1/invoices", json=create_body(**change), headers=AUTH)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "VALIDATION_FAILED"
    assert field in [e["field"] for e in problem["errors"]]
    assert services.invoices.calls_to("CreateInvoice") == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"vat_category": "Q"}, "lines[0].vat_category"),
        (
            {"allowances_charges": [{"percentage": "-5"}]},
            "lines[0].allowances_charges[0].percentage",
        ),
        (
            {"allowances_charges": [{"amount": "5", "vat_rate": "20"}]},
            "lines[0].allowances_charges[0].vat_rate",
        ),
    ],
)
async def test_malformed_line_details_are_refused(api, services, change, field):
    line = {**create_body()["lines"][0], **change}

    response = await api.post("/api/v1/invoices", json=create_body(lines=[line]), headers=AUTH)

    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_the_pdf_metadata_takes_the_header_details(api, services):
    services.invoices.answer("DepositPdfInvoice", pb.DepositPdfInvoiceResponse(invoice=invoice()))
    metadata = {
        "supplier_structure_id": create_body()["supplier_structure_id"],
        "prepaid_amount": "200",
        "contract_reference": "MARCHE-42",
        "payment": {"iban": "FR7630006000011234567890189"},
        "delivery": {"date": "2026-01-10"},
        "invoicing_period_start": "2026-01-01",
        "due_date": "2026-02-15",
    }

    response = await api.post(
        "/api/v1/invoices/pdf",
        files={"file": ("f.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        data={"metadata": json.dumps(metadata)},
        headers=AUTH,
    )

    assert response.status_code == 201, response.text
    header = services.invoices.calls_to("DepositPdfInvoice")[0].request.header
    assert header.prepaid_amount == "200"
    assert header.contract_reference == "MARCHE-42"
    assert header.payment.iban == "FR7630006000011234567890189"
    assert header.delivery.date == "2026-01-10"
    assert (header.invoicing_period_start, header.due_date) == ("2026-01-01", "2026-02-15")


def document() -> dict:
    return {
        "number": "F-2026-001",
        "issue_date": "2026-01-15",
        "type_code": "380",
        "currency": "EUR",
        "due_date": "2026-02-15",
        "buyer_reference": "SERV-1",
        "contract_reference": "MARCHE-42",
        "purchase_order_reference": "EJ-2026-1",
        "notes": [{"text": "Merci", "subject_code": "AAI"}],
        "seller": {
            "name": "ACME SAS",
            "legal_registration": {"value": "12345678200010", "scheme": "0009"},
            "vat_identifier": "FR32123456782",
            "address": {
                "line1": "2 rue Haute",
                "city": "Lyon",
                "postal_code": "69001",
                "country": "FR",
            },
            "contact": {"point": "Compta", "email": "compta@acme.example"},
        },
        "buyer": {"name": "Mairie", "address": {"country": "FR"}},
        "delivery": {"date": "2026-01-10", "address": {"city": "Paris", "country": "FR"}},
        "invoicing_period": {"start": "2026-01-01", "end": "2026-01-31"},
        "payment_instructions": {
            "means_code": "58",
            "credit_transfers": [
                {"account": "FR7630006000011234567890189", "service_provider": "AGRIFRPP"}
            ],
        },
        "allowances_charges": [
            {
                "charge": False,
                "amount": "50.00",
                "vat_category": "S",
                "vat_rate": "20",
                "reason": "Remise globale",
            }
        ],
        "totals": {
            "line_total": "900.00",
            "allowance_total": "50.00",
            "tax_exclusive": "850.00",
            "vat_total": "170.00",
            "tax_inclusive": "1020.00",
            "prepaid": "100.00",
            "amount_due": "920.00",
        },
        "vat_breakdown": [
            {"category": "S", "taxable_amount": "850.00", "tax_amount": "170.00", "rate": "20"}
        ],
        "lines": [
            {
                "identifier": "1",
                "quantity": "2",
                "unit": "DAY",
                "net_amount": "900.00",
                "price": {"net_price": "500", "gross_price": "500"},
                "vat_category": "S",
                "vat_rate": "20",
                "item": {
                    "name": "Audit",
                    "seller_identifier": "AUD-1",
                    "classifications": [{"value": "79212000", "scheme": "STI"}],
                    "attributes": [{"name": "Niveau", "value": "Expert"}],
                },
                "allowances_charges": [
                    {
                        "charge": False,
                        "amount": "100.00",
                        "percentage": "10",
                        "base_amount": "1000.00",
                        "reason": "Remise",
                    }
                ],
            }
        ],
        "supporting_documents": [
            {
                "reference": "BL-7",
                "filename": "bl.pdf",
                "mime_code": "application/pdf",
                "content": base64.b64encode(b"%PDF-1.4 bl").decode(),
            },
            {"reference": "PV-1", "external_location": "https://example.org/pv"},
        ],
    }


async def test_the_detail_carries_the_new_totals_and_the_document(api, services):
    detail = invoice()
    detail.type_code = "380"
    detail.totals.line_total = "900.00"
    detail.totals.allowance_total = "50.00"
    detail.totals.prepaid_amount = "100.00"
    detail.totals.vat_breakdown[0].category = "S"
    detail.lines[0].vat_category = "S"
    detail.lines[0].allowances_charges.add(amount="100.00", percentage="10", reason="Remise")
    detail.document_json = json.dumps(document())
    services.invoices.answer("GetInvoice", pb.GetInvoiceResponse(invoice=detail))

    response = await api.get(f"/api/v1/invoices/{INVOICE_ID}", headers=AUTH)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type_code"] == "380"
    totals = body["totals"]
    assert (totals["line_total"], totals["allowance_total"], totals["prepaid_amount"]) == (
        "900.00",
        "50.00",
        "100.00",
    )
    assert totals["charge_total"] is None
    assert totals["vat_breakdown"][0]["category"] == "S"
    assert body["lines"][0]["allowances_charges"] == [
        {
            "charge": False,
            "amount": "100.00",
            "percentage": "10",
            "base_amount": None,
            "reason": "Remise",
            "reason_code": None,
        }
    ]
    doc = body["document"]
    assert doc["seller"]["legal_registration"] == {"value": "12345678200010", "scheme": "0009"}
    assert doc["seller"]["contact"] == {"point": "Compta", "email": "compta@acme.example"}
    assert doc["payment_instructions"]["credit_transfers"][0]["account"] == (
        "FR7630006000011234567890189"
    )
    assert doc["allowances_charges"][0]["reason"] == "Remise globale"
    assert doc["totals"]["prepaid"] == "100.00"
    assert doc["lines"][0]["item"]["classifications"] == [{"value": "79212000", "scheme": "STI"}]
    assert doc["lines"][0]["price"] == {"net_price": "500", "gross_price": "500"}
    # Nothing the invoice does not state; embedded files by name and size only.
    assert "payee" not in doc and "project_reference" not in doc
    assert "trading_name" not in doc["seller"]
    embedded, referenced = doc["supporting_documents"]
    assert embedded == {
        "reference": "BL-7",
        "filename": "bl.pdf",
        "mime_code": "application/pdf",
        "has_content": True,
        "size": len(b"%PDF-1.4 bl"),
    }
    assert "content" not in embedded
    assert referenced == {"reference": "PV-1", "external_location": "https://example.org/pv"}


async def test_an_unreadable_document_is_left_out_not_a_500(api, services):
    detail = invoice()
    detail.document_json = '{"number": 12}'
    services.invoices.answer("GetInvoice", pb.GetInvoiceResponse(invoice=detail))

    response = await api.get(f"/api/v1/invoices/{INVOICE_ID}", headers=AUTH)

    assert response.status_code == 200
    assert response.json()["document"] is None


async def test_the_openapi_document_types_the_model(api):
    spec = (await api.get("/api/v1/openapi.json")).json()
    schemas = spec["components"]["schemas"]

    invoice_schema = schemas["InvoiceDocument"]
    for group in (
        "seller",
        "buyer",
        "totals",
        "vat_breakdown",
        "lines",
        "payment_instructions",
        "allowances_charges",
        "delivery",
        "invoicing_period",
        "notes",
        "preceding_invoices",
        "supporting_documents",
    ):
        assert group in invoice_schema["properties"], group
    assert "content" not in schemas["SupportingDocument"]["properties"]
    assert "BT-84" in schemas["CreditTransfer"]["properties"]["account"]["description"]
    create = schemas["CreateInvoiceBody"]["properties"]
    for field in (
        "allowances_charges",
        "prepaid_amount",
        "contract_reference",
        "payment",
        "delivery",
        "invoicing_period_start",
        "invoicing_period_end",
        "due_date",
        "vat_exemption_reason_code",
    ):
        assert field in create, field
