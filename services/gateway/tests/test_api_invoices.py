"""/invoices through the gateway against service doubles."""

from __future__ import annotations

import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform.errors import FailedPrecondition
from google.protobuf.timestamp_pb2 import Timestamp

AUTH = {"Authorization": "Bearer tok"}
INVOICE_ID = "3f2b8d4c-7a61-4e1b-8d0e-5c9a2f1e7b33"
SUPPLIER_ID = "0b7e4b8e-31a4-4f7e-9d59-0d1f4b0b2a10"
RECIPIENT_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


def invoice(status: int = pb.INVOICE_STATUS_MISE_A_DISPOSITION) -> pb.Invoice:
    return pb.Invoice(
        id=INVOICE_ID,
        cpp_id=4242,
        number="F-2026-001",
        supplier_structure_id=SUPPLIER_ID,
        recipient_structure_id=RECIPIENT_ID,
        framework=pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
        type=pb.INVOICE_TYPE_FACTURE,
        issue_date="2026-01-15",
        currency="EUR",
        lines=[
            pb.InvoiceLine(
                description="Pain",
                quantity="10",
                unit="C62",
                unit_price="1.20",
                vat_rate="5.5",
                net_amount="12.00",
            )
        ],
        totals=pb.Totals(
            net_total="12.00",
            vat_total="0.66",
            gross_total="12.66",
            amount_due="12.66",
            vat_breakdown=[pb.VatBreakdown(rate="5.5", base="12.00", amount="0.66")],
        ),
        status=status,
        lifecycle_code=203,
        lifecycle_label="Mise à disposition",
        lifecycle_description="203 Mise à disposition",
        lifecycle_codes=[
            pb.LifecycleCode(
                code=203, label="Mise à disposition", description="203 Mise à disposition"
            )
        ],
        created_by="u1",
        created_at=Timestamp(seconds=1_767_225_600),
        allowed_actions=["SUBMIT"],
    )


def create_body(**changes):
    body = {
        "supplier_structure_id": SUPPLIER_ID,
        "recipient": {"identifier_type": "SIRET", "identifier": "11000201100044"},
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": "F-2026-001",
        "issue_date": "2026-01-15",
        "lines": [
            {
                "description": "Pain",
                "quantity": "10",
                "unit": "C62",
                "unit_price": "1.20",
                "vat_rate": "5.5",
            }
        ],
    }
    return {**body, **changes}


async def test_create_invoice_maps_the_entry_and_answers_the_invoice(api, services):
    services.invoices.answer(
        "CreateInvoice", pb.CreateInvoiceResponse(invoice=invoice(pb.INVOICE_STATUS_BROUILLON))
    )

    response = await api.post(
        "/api/v1/invoices",
        params={"draft": "true"},
        json=create_body(
            lines=[
                {
                    "description": "Pain",
                    "quantity": 10,
                    "unit": "C62",
                    "unit_price": 0.1,
                    "vat_rate": "5.5",
                }
            ]
        ),
        headers={**AUTH, "Idempotency-Key": "k-1"},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "BROUILLON"
    assert body["cpp_id"] == 4242
    assert body["framework"] == "A1_FACTURE_FOURNISSEUR"
    assert body["totals"] == {
        "line_total": None,
        "allowance_total": None,
        "charge_total": None,
        "net_total": "12.00",
        "vat_total": "0.66",
        "gross_total": "12.66",
        "prepaid_amount": None,
        "rounding_amount": None,
        "amount_due": "12.66",
        "vat_breakdown": [
            {
                "rate": "5.5",
                "base": "12.00",
                "amount": "0.66",
                "category": None,
                "exemption_reason": None,
                "exemption_reason_code": None,
            }
        ],
    }
    assert "document" not in body or body["document"] is None
    [call] = services.invoices.calls_to("CreateInvoice")
    request = call.request
    assert request.draft is True
    assert request.currency == "EUR"
    assert request.issue_date == "2026-01-15"
    assert request.recipient.identifier_type == "SIRET"
    assert request.recipient.identifier == "11000201100044"
    assert request.framework == pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR
    assert (request.lines[0].quantity, request.lines[0].unit_price) == ("10", "0.1")
    assert call.metadata["idempotency-key"] == "k-1"


async def test_recipient_by_structure_id(api, services):
    services.invoices.answer("CreateInvoice", pb.CreateInvoiceResponse(invoice=invoice()))

    response = await api.post(
        "/api/v1/invoices",
        json=create_body(recipient=None, recipient_structure_id=RECIPIENT_ID),
        headers=AUTH,
    )

    assert response.status_code == 201
    assert services.invoices.calls[0].request.recipient.structure_id == RECIPIENT_ID
    assert services.invoices.calls[0].request.draft is False


async def test_line_validation_errors_name_the_line(api, services):
    response = await api.post(
        "/api/v1/invoices",
        json=create_body(
            lines=[
                {
                    "description": "ok",
                    "quantity": "1",
                    "unit": "C62",
                    "unit_price": "1",
                    "vat_rate": "20",
                },
                {"description": "bad", "quantity": "dix", "unit": "C62", "unit_price": "1"},
            ],
            issue_date="15/01/2026",
        ),
        headers=AUTH,
    )

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_FAILED"
    assert {e["field"]: e["message"] for e in body["errors"]} == {
        "lines[1].quantity": 'Montant décimal attendu, par exemple "1200.00".',
        "lines[1].vat_rate": "Champ obligatoire.",
        "issue_date": "Date attendue au format AAAA-MM-JJ.",
    }
    assert services.invoices.calls == []


async def test_recipient_must_be_given_exactly_once(api, services):
    response = await api.post("/api/v1/invoices", json=create_body(recipient=None), headers=AUTH)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "recipient"
    assert services.invoices.calls == []


async def test_get_invoice_strips_enum_prefixes(api, services):
    services.invoices.answer("GetInvoice", pb.GetInvoiceResponse(invoice=invoice()))

    response = await api.get(f"/api/v1/invoices/{INVOICE_ID}", headers=AUTH)

    body = response.json()
    assert body["status"] == "MISE_A_DISPOSITION"
    assert (body["lifecycle_code"], body["lifecycle_label"], body["lifecycle_description"]) == (
        203,
        "Mise à disposition",
        "203 Mise à disposition",
    )
    assert body["lifecycle_codes"] == [
        {"code": 203, "label": "Mise à disposition", "description": "203 Mise à disposition"}
    ]
    assert body["type"] == "FACTURE"
    assert body["lines"][0]["net_amount"] == "12.00"
    assert body["allowed_actions"] == ["SUBMIT"]
    assert body["service_code"] is None
    assert body["created_at"] == "2026-01-01T00:00:00Z"
    assert body["updated_at"] is None


async def test_list_maps_side_and_status(api, services):
    services.invoices.answer(
        "ListInvoices", pb.ListInvoicesResponse(invoices=[invoice()], next_page_token="")
    )

    response = await api.get(
        "/api/v1/invoices",
        params={"side": "received", "status": "MISE_A_DISPOSITION", "structure_id": RECIPIENT_ID},
        headers=AUTH,
    )

    assert response.status_code == 200
    assert response.json()["next_page_token"] is None
    request = services.invoices.calls[0].request
    assert request.side == pb.LIST_SIDE_RECEIVED
    assert request.status == pb.INVOICE_STATUS_MISE_A_DISPOSITION
    assert request.structure_id == RECIPIENT_ID


@pytest.mark.parametrize("key", ["a" * 201, "clé", "avec espace", ""])
async def test_an_unreadable_idempotency_key_is_refused_before_calling(api, services, key):
    response = await api.post(
        "/api/v1/invoices",
        json=create_body(),
        headers={**AUTH, "Idempotency-Key": key.encode()},  # raw UTF-8 bytes on the wire
    )

    assert response.status_code == 422
    assert response.json()["code"] == "IDEMPOTENCY_KEY_INVALID"
    assert services.invoices.calls == []


async def test_list_maps_dates_amounts_counterparty_and_service(api, services):
    services.invoices.answer("ListInvoices", pb.ListInvoicesResponse())
    other = "7d3c2f51-8a55-4d7e-9f4a-6a1d8f0c2b11"

    response = await api.get(
        "/api/v1/invoices",
        params={
            "from": "2025-01-01",
            "to": "2025-12-31",
            "deposited_from": "2025-02-01",
            "deposited_to": "2025-02-28",
            "min_amount": "100",
            "max_amount": "2500.50",
            "counterparty_id": other,
            "counterparty": "démoville",
            "service_code": "SERV-FIN",
        },
        headers=AUTH,
    )

    assert response.status_code == 200
    request = services.invoices.calls[0].request
    assert (request.issued_from, request.issued_to) == ("2025-01-01", "2025-12-31")
    assert (request.deposited_from, request.deposited_to) == ("2025-02-01", "2025-02-28")
    assert (request.min_amount, request.max_amount) == ("100", "2500.50")
    assert request.counterparty_structure_id == other
    assert request.counterparty_name == "démoville"
    assert request.service_code == "SERV-FIN"


@pytest.mark.parametrize(
    "params",
    [{"from": "31/01/2025"}, {"min_amount": "-1"}, {"max_amount": "beaucoup"}],
    ids=["date", "negative", "not-a-number"],
)
async def test_list_refuses_unreadable_filters_before_calling(api, services, params):
    response = await api.get("/api/v1/invoices", params=params, headers=AUTH)

    assert response.status_code == 422
    assert services.invoices.calls == []


SERVICE_FAIT_204 = pb.LifecycleCode(
    code=204, label="Prise en charge", description="204 Prise en charge — service fait"
)
PAID_211 = pb.LifecycleCode(
    code=211, label="Paiement transmis", description="211 Paiement transmis — mise en paiement"
)
PAID_212 = pb.LifecycleCode(
    code=212, label="Encaissée", description="212 Encaissée — mise en paiement (B2G historique)"
)


async def test_history_says_which_chorus_status_gave_each_code(api, services):
    services.invoices.answer(
        "GetInvoiceHistory",
        pb.GetInvoiceHistoryResponse(
            entries=[
                pb.HistoryEntry(
                    status=pb.INVOICE_STATUS_BROUILLON,
                    at=Timestamp(seconds=1_767_225_540),
                    actor="u1",
                ),
                pb.HistoryEntry(
                    status=pb.INVOICE_STATUS_SERVICE_FAIT,
                    lifecycle_code=204,
                    lifecycle_label="Prise en charge",
                    lifecycle_description="204 Prise en charge — service fait",
                    lifecycle_codes=[SERVICE_FAIT_204],
                    at=Timestamp(seconds=1_767_225_600),
                    actor="u2",
                ),
                pb.HistoryEntry(
                    status=pb.INVOICE_STATUS_MISE_EN_PAIEMENT,
                    lifecycle_code=211,
                    lifecycle_label="Paiement transmis",
                    lifecycle_description="211 Paiement transmis — mise en paiement",
                    lifecycle_codes=[PAID_211, PAID_212],
                    at=Timestamp(seconds=1_767_225_660),
                    actor="u2",
                    comment="Virement",
                ),
            ]
        ),
    )

    response = await api.get(f"/api/v1/invoices/{INVOICE_ID}/history", headers=AUTH)

    assert response.json()["items"] == [
        {
            "status": "BROUILLON",
            "lifecycle_code": None,
            "lifecycle_label": None,
            "lifecycle_description": None,
            "lifecycle_codes": [],
            "at": "2025-12-31T23:59:00Z",
            "actor": "u1",
            "comment": None,
        },
        {
            "status": "SERVICE_FAIT",
            "lifecycle_code": 204,
            "lifecycle_label": "Prise en charge",
            "lifecycle_description": "204 Prise en charge — service fait",
            "lifecycle_codes": [
                {
                    "code": 204,
                    "label": "Prise en charge",
                    "description": "204 Prise en charge — service fait",
                }
            ],
            "at": "2026-01-01T00:00:00Z",
            "actor": "u2",
            "comment": None,
        },
        {
            "status": "MISE_EN_PAIEMENT",
            "lifecycle_code": 211,
            "lifecycle_label": "Paiement transmis",
            "lifecycle_description": "211 Paiement transmis — mise en paiement",
            "lifecycle_codes": [
                {
                    "code": 211,
                    "label": "Paiement transmis",
                    "description": "211 Paiement transmis — mise en paiement",
                },
                {
                    "code": 212,
                    "label": "Encaissée",
                    "description": "212 Encaissée — mise en paiement (B2G historique)",
                },
            ],
            "at": "2026-01-01T00:01:00Z",
            "actor": "u2",
            "comment": "Virement",
        },
    ]


async def test_submit_in_the_wrong_state_is_a_409(api, services):
    services.invoices.answer(
        "SubmitInvoice",
        FailedPrecondition("INVALID_STATUS_TRANSITION", "Seul un brouillon peut être déposé."),
    )

    response = await api.post(f"/api/v1/invoices/{INVOICE_ID}/submit", headers=AUTH)

    assert response.status_code == 409
    assert response.json()["code"] == "INVALID_STATUS_TRANSITION"
    assert response.json()["detail"] == "Seul un brouillon peut être déposé."
