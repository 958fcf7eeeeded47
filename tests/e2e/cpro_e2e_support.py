"""Helpers of the end-to-end tests of the Chorus Pro-compatible API: a structure with its
manager, an API application and a technical account, made through the REST API, and invoices
made by the invoices service's own writers for two such structures."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

import httpx
from chorus_invoices.documents import ubl_writer
from chorus_invoices.documents.content import french_vat_number, model_of_content
from chorus_invoices.documents.facturx import make_facturx_model
from chorus_invoices.domain import en16931
from chorus_invoices.domain.invoice import Framework, InvoiceContent, InvoiceType, Line
from e2e_support import Mailbox, activated_user, random_siret


@dataclass
class CproParty:
    """A structure, its manager's REST headers, its API application and technical account."""

    structure: dict
    manager: dict[str, str]
    client_id: str
    client_secret: str
    login: str
    password: str

    @property
    def siret(self) -> str:
        return self.structure["identifier"]

    @property
    def account_header(self) -> str:
        return base64.b64encode(f"{self.login}:{self.password}".encode()).decode()


async def cpro_party(
    api: httpx.AsyncClient, mailbox: Mailbox, *, public: bool, name: str
) -> CproParty:
    _, _, auth = await activated_user(api, mailbox, name.split()[0], "Erp")
    structure = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": name,
            "kind": "PUBLIQUE" if public else "PRIVEE",
            "address": {"line1": "3 quai Voltaire", "postal_code": "69002", "city": "Lyon",
                        "country": "FR"},
        },
    )  # fmt: skip
    assert structure.status_code == 201, structure.text
    client = await api.post("/api-clients", headers=auth, json={"name": "Connecteur ERP"})
    assert client.status_code == 201, client.text
    account = await api.post(
        f"/structures/{structure.json()['id']}/technical-accounts", headers=auth
    )
    assert account.status_code == 201, account.text
    return CproParty(
        structure=structure.json(),
        manager=auth,
        client_id=client.json()["client_id"],
        client_secret=client.json()["client_secret"],
        login=account.json()["login"],
        password=account.json()["password"],
    )


def invoice_model(seller: CproParty, buyer: CproParty, number: str | None = None):
    content = InvoiceContent(
        service_code="",
        engagement_number="",
        framework=Framework.A1_FACTURE_FOURNISSEUR,
        type=InvoiceType.FACTURE,
        number=number or f"ERP-{uuid.uuid4().hex[:10]}",
        issue_date=dt.date(2026, 2, 2),
        currency="EUR",
        payment_terms="30 jours",
        comment="",
        lines=(Line("Prestation de conseil", Decimal(3), "HUR", Decimal(120), Decimal(20)),),
    )
    return model_of_content(
        content,
        en16931.Seller(
            seller.structure["raison_sociale"],
            legal_registration=en16931.Identifier(seller.siret, "0009"),
            vat_identifier=french_vat_number(seller.siret[:9]),
            address=en16931.Address(line1="3 quai", postal_code="69002", city="Lyon", country="FR"),
        ),
        en16931.Buyer(
            buyer.structure["raison_sociale"],
            legal_registration=en16931.Identifier(buyer.siret, "0009"),
            address=en16931.Address(
                line1="1 place", postal_code="69001", city="Lyon", country="FR"
            ),
        ),
    )


def ubl_invoice(seller: CproParty, buyer: CproParty, number: str | None = None) -> bytes:
    return ubl_writer.write_model(invoice_model(seller, buyer, number))


def facturx_invoice(seller: CproParty, buyer: CproParty, number: str | None = None) -> bytes:
    return make_facturx_model(invoice_model(seller, buyer, number)).pdf
