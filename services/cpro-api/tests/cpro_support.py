"""Helpers of cpro-api's tests over the real stack (``conftest.py`` holds the fixtures):
parties (a structure, its manager, an API application and a technical account), invoices made
by the invoices service's own writers, archives, flow bodies and reports."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import tarfile
import uuid
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
from chorus_invoices.documents import cii_writer, ubl_writer
from chorus_invoices.documents.content import french_vat_number, model_of_content
from chorus_invoices.documents.facturx import make_facturx_model
from chorus_invoices.domain import en16931
from chorus_invoices.domain.invoice import Framework, InvoiceContent, InvoiceType, Line
from e2e_support import Mailbox, activated_user, client_ip, random_siret


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class Party:
    """A structure with its manager (REST auth headers), an API application and a technical
    account of its own."""

    structure: dict
    manager: dict[str, str]
    client_id: str
    client_secret: str
    login: str
    password: str
    technical_account_id: str
    api_client_id: str
    token: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def siret(self) -> str:
        return self.structure["identifier"]

    @property
    def account_header(self) -> str:
        return b64(f"{self.login}:{self.password}")

    def headers(self, **more: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "cpro-account": self.account_header,
            **more,
        }


async def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json() if response.content else {}


async def make_party(
    api: httpx.AsyncClient, mailbox: Mailbox, cpro: httpx.AsyncClient, *, public: bool, name: str
) -> Party:
    # Each party signs up and logs in from an address of its own: the gateway limits logins
    # per client address, and a session makes many parties.
    address = client_ip()
    async with httpx.AsyncClient(
        base_url=api.base_url, timeout=api.timeout, headers={"X-Forwarded-For": address}
    ) as own:
        _, _, auth = await activated_user(own, mailbox, name.split()[0], "Cpro")
    auth = {**auth, "X-Forwarded-For": address}
    body = {
        "identifier_type": "SIRET",
        "identifier": random_siret(),
        "raison_sociale": name,
        "kind": "PUBLIQUE" if public else "PRIVEE",
        "address": {"line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris",
                    "country": "FR"},
    }  # fmt: skip
    structure = await ok(await api.post("/structures", headers=auth, json=body), 201)
    client = await ok(await api.post("/api-clients", headers=auth, json={"name": "ERP"}), 201)
    technical = await ok(
        await api.post(f"/structures/{structure['id']}/technical-accounts", headers=auth), 201
    )
    party = Party(
        structure=structure,
        manager=auth,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        login=technical["login"],
        password=technical["password"],
        technical_account_id=technical["id"],
        api_client_id=client["id"],
    )
    party.token = await token_of(cpro, party)
    return party


async def token_of(cpro: httpx.AsyncClient, party: Party) -> str:
    response = await cpro.post(
        "/api/oauth/token",
        content=f"grant_type=client_credentials&client_id={party.client_id}"
        f"&client_secret={party.client_secret}&scope=openid",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return (await ok(response))["access_token"]


# -- invoices ----------------------------------------------------------------------------------


def model(seller: Party, buyer: Party, number: str | None = None, *, quantity: str = "2"):
    """An EN 16931 model from ``seller`` to ``buyer``: N × 450.00 at 20 %."""
    content = InvoiceContent(
        service_code="",
        engagement_number="",
        framework=Framework.A1_FACTURE_FOURNISSEUR,
        type=InvoiceType.FACTURE,
        number=number or f"CP-{uuid.uuid4().hex[:10]}",
        issue_date=dt.date(2026, 1, 15),
        currency="EUR",
        payment_terms="30 jours",
        comment="",
        lines=(Line("Maintenance", Decimal(quantity), "C62", Decimal(450), Decimal(20)),),
    )
    return model_of_content(
        content,
        en16931.Seller(
            seller.structure["raison_sociale"],
            legal_registration=en16931.Identifier(seller.siret, "0009"),
            vat_identifier=french_vat_number(seller.siret[:9]),
            address=en16931.Address(line1="1 rue", postal_code="75002", city="Paris", country="FR"),
        ),
        en16931.Buyer(
            buyer.structure["raison_sociale"],
            legal_registration=en16931.Identifier(buyer.siret, "0009"),
            address=en16931.Address(line1="2 rue", postal_code="75003", city="Paris", country="FR"),
        ),
    )


def ubl(seller: Party, buyer: Party, number: str | None = None) -> bytes:
    return ubl_writer.write_model(model(seller, buyer, number))


def cii(seller: Party, buyer: Party, number: str | None = None) -> bytes:
    return cii_writer.write_model(model(seller, buyer, number))


def facturx(seller: Party, buyer: Party, number: str | None = None) -> bytes:
    return make_facturx_model(model(seller, buyer, number)).pdf


def broken_ubl(seller: Party, buyer: Party, number: str | None = None) -> bytes:
    """A UBL whose payable amount breaks BR-CO-16 / the totals (a schematron failure)."""
    text = ubl(seller, buyer, number).decode()
    start = text.index("<cbc:PayableAmount")
    end = text.index("</cbc:PayableAmount>", start)
    head = text[:start] + text[start:end].rsplit(">", 1)[0] + ">"
    return (head + "999999.99" + text[end:]).encode()


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def flow_body(content: bytes, name: str = "facture.xml", syntax: str = "IN_DP_E1_UBL_INVOICE"):
    return {
        "idUtilisateurCourant": 0,
        "fichierFlux": base64.b64encode(content).decode(),
        "nomFichier": name,
        "syntaxeFlux": syntax,
        "avecSignature": False,
    }


async def report_of(cpro: httpx.AsyncClient, party: Party, number: str, timeout: float = 120):
    """The detailed report of a flow once decided (archives are processed by a worker)."""
    async with asyncio.timeout(timeout):
        while True:
            response = await cpro.post(
                "/cpro/transverses/v1/consulterCRDetaille",
                json={"numeroFluxDepot": number},
                headers=party.headers(),
            )
            body = await ok(response)
            if body["etatCourantDepotFlux"] not in (
                "IN_EN_ATTENTE_TRAITEMENT_CPP",
                "IN_EN_COURS_TRAITEMENT_CPP",
            ):
                return body
            await asyncio.sleep(0.5)


async def cpp_id_of(cpro: httpx.AsyncClient, caller: Party, structure: Party) -> int:
    """The integer id of ``structure`` as ``caller`` finds it (structures/v1/rechercher)."""
    response = await cpro.post(
        "/cpro/structures/v1/rechercher",
        json={"structure": {"identifiantStructure": structure.siret,
                            "typeIdentifiantStructure": "SIRET"}},
        headers=caller.headers(),
    )  # fmt: skip
    found = (await ok(response))["listeStructures"]
    assert len(found) == 1, found
    return found[0]["idStructureCPP"]


async def deposit(cpro, supplier: Party, recipient: Party, count: int = 1) -> list[dict]:
    """``count`` invoices from ``supplier`` to ``recipient``, each in its own flow, made
    available to the recipient: their search lines."""
    numbers = []
    for _ in range(count):
        number = f"INV-{uuid.uuid4().hex[:10]}"
        answer = await ok(
            await cpro.post(
                "/cpro/factures/v1/deposer/flux",
                json=flow_body(ubl(supplier, recipient, number)),
                headers=supplier.headers(),
            )
        )
        assert answer["etatCourantFlux"] == "IN_INTEGRE", answer
        numbers.append(number)
    lines = []
    for number in numbers:
        async with asyncio.timeout(180):
            while True:
                found = await ok(
                    await cpro.post(
                        "/cpro/factures/v1/rechercher/recipiendaire",
                        json={"numeroFacture": number},
                        headers=recipient.headers(),
                    )
                )
                if found["listeFactures"] and found["listeFactures"][0]["statut"] == (
                    "MISE_A_DISPOSITION"
                ):
                    lines.append(found["listeFactures"][0])
                    break
                await asyncio.sleep(0.3)
    return lines
