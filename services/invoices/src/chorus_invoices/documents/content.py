"""Parties and the human-readable view of an invoice.

:func:`seller_of` / :func:`buyer_of` make the EN 16931 seller and buyer of a portal invoice
from the structures directory. :class:`DocumentInvoice` is what the PDF of a Factur-X shows
(``pdf_rendering``): :func:`document_of_model` makes it from the model (the XML beside it is
``cii_writer.write_model`` of the whole model); ``cii_writer.document_from_content`` still
makes it for invoices stored before the model was kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from chorus_invoices.domain import en16931
from chorus_invoices.domain.routing import Recipient
from chorus_invoices.domain.totals import VatAmount

SIRET_SCHEME = "0009"
"""ISO 6523 ICD of the French SIRET, as the French CIUS writes it in schemeID."""


@dataclass(frozen=True)
class PartyDetails:
    """Seller or buyer: name, SIRET (scheme 0009), VAT number, postal address."""

    name: str
    siret: str = ""
    vat_number: str = ""
    line1: str = ""
    line2: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "FR"
    email: str = ""


def party_of(structure: Recipient) -> PartyDetails:
    """A directory structure as an invoice names it (its SIRET when it has one)."""
    line1, line2, postal_code, city, country = structure.address
    return PartyDetails(
        name=structure.raison_sociale,
        siret=structure.identifier if structure.identifier_type == "SIRET" else "",
        vat_number=structure.vat_number,
        line1=line1,
        line2=line2,
        postal_code=postal_code,
        city=city,
        country=country or "FR",
    )


def french_vat_number(siren: str) -> str:
    """The intra-community VAT number of a French company: FR, 2-digit key, SIREN."""
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def _address_of(structure: Recipient) -> en16931.Address:
    line1, line2, postal_code, city, country = structure.address
    return en16931.Address(
        line1=line1, line2=line2, postal_code=postal_code, city=city, country=country or "FR"
    )


def _siret_of(structure: Recipient) -> en16931.Identifier | None:
    if structure.identifier_type == "SIRET" and structure.identifier:
        return en16931.Identifier(structure.identifier, SIRET_SCHEME)
    return None


def seller_of(structure: Recipient) -> en16931.Seller:
    """BG-4 of a portal invoice: the supplier structure as the directory knows it — name,
    SIRET as BT-30 (scheme 0009), VAT number (registered, else derived from the SIREN of a
    French SIRET: BR-S-02 wants one when VAT is charged), postal address."""
    siret = _siret_of(structure)
    vat = structure.vat_number
    address = _address_of(structure)
    french = siret is not None and siret.value.isdigit() and len(siret.value) == 14
    if not vat and french and address.country == "FR":
        vat = french_vat_number(siret.value[:9])
    return en16931.Seller(
        name=structure.raison_sociale,
        legal_registration=siret,
        vat_identifier=vat,
        address=address,
    )


def buyer_of(structure: Recipient) -> en16931.Buyer:
    """BG-7 of a portal invoice: the recipient structure — name, SIRET as BT-47 (scheme
    0009), VAT number, postal address."""
    return en16931.Buyer(
        name=structure.raison_sociale,
        legal_registration=_siret_of(structure),
        vat_identifier=structure.vat_number,
        address=_address_of(structure),
    )


@dataclass(frozen=True)
class DocumentLine:
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    """Net price of one unit (BT-146 divided by the base quantity BT-149)."""
    vat_rate: Decimal
    vat_category: str
    net_amount: Decimal
    """As stated (BT-131)."""


@dataclass(frozen=True)
class StatedTotals:
    """The document-level amounts as written (BT-106 … BT-115, BG-23)."""

    line_total: Decimal
    allowance_total: Decimal
    charge_total: Decimal
    tax_exclusive: Decimal
    vat_total: Decimal
    gross_total: Decimal
    prepaid: Decimal
    rounding: Decimal
    amount_due: Decimal
    vat_breakdown: tuple[VatAmount, ...]


@dataclass(frozen=True)
class DocumentInvoice:
    number: str
    type_code: str
    """UNTDID 1001: 380 invoice, 381 credit note…"""
    issue_date: date | None
    currency: str
    framework_code: str
    """Cadre de facturation as BT-23 carries it (``A1``…); "" when absent."""
    service_code: str
    """BT-10 buyer reference: where the French CIUS puts the recipient's service code."""
    engagement_number: str
    """BT-13 purchase order reference: the engagement (commitment) number."""
    payment_terms: str
    note: str
    preceding_invoice: str
    """BT-25: the invoice a credit note corrects."""
    vat_exemption_reason: str
    """BT-120 of the first exempt VAT breakdown ("" when none)."""
    seller: PartyDetails
    buyer: PartyDetails
    lines: tuple[DocumentLine, ...]
    totals: StatedTotals


_FRAMEWORKS = {
    "A1": "A1_FACTURE_FOURNISSEUR",
    "A2": "A2_FACTURE_FOURNISSEUR_DEJA_PAYEE",
    "A9": "A9_FACTURE_SOUSTRAITANT",
    "A12": "A12_FACTURE_COTRAITANT",
}
FRAMEWORK_CODES = {name: code for code, name in _FRAMEWORKS.items()}
TYPE_CODES = {"FACTURE": "380", "AVOIR": "381"}


def _details(
    name: str,
    legal: en16931.Identifier | None,
    vat: str,
    address: en16931.Address,
    contact: en16931.Contact | None,
) -> PartyDetails:
    return PartyDetails(
        name=name,
        siret=legal.value if legal is not None and legal.scheme == SIRET_SCHEME else "",
        vat_number=vat,
        line1=address.line1,
        line2=address.line2,
        postal_code=address.postal_code,
        city=address.city,
        country=address.country,
        email=contact.email if contact is not None else "",
    )


def document_of_model(model: en16931.Invoice) -> DocumentInvoice:
    """What the human-readable PDF of a Factur-X shows of a model (``pdf_rendering`` draws a
    :class:`DocumentInvoice`); the XML beside it carries the whole model."""
    seller, buyer, stated = model.seller, model.buyer, model.totals
    zero = Decimal(0)
    exempt = next((v for v in model.vat_breakdown if v.exemption_reason), None)
    return DocumentInvoice(
        number=model.number,
        type_code=model.type_code,
        issue_date=model.issue_date,
        currency=model.currency,
        framework_code=model.business_process,
        service_code=model.buyer_reference,
        engagement_number=model.purchase_order_reference,
        payment_terms=model.payment_terms,
        note="\n".join(note.text for note in model.notes),
        preceding_invoice=model.preceding_invoices[0].number if model.preceding_invoices else "",
        vat_exemption_reason=exempt.exemption_reason if exempt else "",
        seller=_details(
            seller.name,
            seller.legal_registration,
            seller.vat_identifier,
            seller.address,
            seller.contact,
        ),
        buyer=_details(
            buyer.name, buyer.legal_registration, buyer.vat_identifier, buyer.address, buyer.contact
        ),
        lines=tuple(
            DocumentLine(
                description=line.item.name,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.price.net_price / line.price.base_quantity
                if line.price.base_quantity
                else line.price.net_price,
                vat_rate=line.vat_rate if line.vat_rate is not None else zero,
                vat_category=line.vat_category,
                net_amount=line.net_amount,
            )
            for line in model.lines
        ),
        totals=StatedTotals(
            line_total=stated.line_total,
            allowance_total=stated.allowance_total or zero,
            charge_total=stated.charge_total or zero,
            tax_exclusive=stated.tax_exclusive,
            vat_total=stated.vat_total or zero,
            gross_total=stated.tax_inclusive,
            prepaid=stated.prepaid or zero,
            rounding=stated.rounding or zero,
            amount_due=stated.amount_due,
            vat_breakdown=tuple(
                VatAmount(v.rate or zero, v.taxable_amount, v.tax_amount, v.category)
                for v in model.vat_breakdown
            ),
        ),
    )
