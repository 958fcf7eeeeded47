"""Test data shared with the gateway's API tests (``services/gateway/tests``): the portal's
tests used to import them from there; the services' tests no longer see each other (#13)."""

from __future__ import annotations

import base64

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform.errors import FieldViolation, InvalidArgument


def staged(request: pb.StageAttachmentRequest) -> pb.StageAttachmentResponse | InvalidArgument:
    """StageAttachment of the double: an id made of the file name; a ``.exe`` is refused."""
    name = request.file.filename
    if name.endswith(".exe"):
        return InvalidArgument(
            "ATTACHMENT_EXTENSION_FORBIDDEN",
            f"Certaines pièces jointes ne sont pas acceptées : « {name} » : type de fichier non"
            " accepté.",
            [FieldViolation("file", f"« {name} » : type de fichier non accepté.")],
        )
    return pb.StageAttachmentResponse(
        staged_attachment_id=f"staged-{name}", filename=name, size=len(request.file.content)
    )


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
