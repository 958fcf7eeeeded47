"""An invoice as a structured document states it: what mapping reads and Factur-X writes.

Amounts are the document's own (stated), kept apart from what the domain recomputes, so the
two can be compared (:func:`chorus_invoices.documents.mapping.check_totals`). ``to_form`` hands
the content to the domain's portal validation, so a file meets exactly the rules a typed-in
invoice meets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from chorus_invoices.domain import en16931
from chorus_invoices.domain.forms import InvoiceForm, LineForm, RecipientRef
from chorus_invoices.domain.routing import Recipient
from chorus_invoices.domain.totals import VatAmount, format_decimal, format_rate

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

    def to_form(self, supplier_structure_id: str = "") -> InvoiceForm:
        """The portal form this document amounts to; the recipient is named by its SIRET."""
        return InvoiceForm(
            supplier_structure_id=supplier_structure_id,
            recipient=RecipientRef(identifier_type="SIRET", identifier=self.buyer.siret)
            if self.buyer.siret
            else RecipientRef(),
            service_code=self.service_code,
            engagement_number=self.engagement_number,
            framework=framework_name(self.framework_code),
            type=invoice_type_name(self.type_code),
            number=self.number,
            issue_date=self.issue_date.isoformat() if self.issue_date else "",
            currency=self.currency,
            payment_terms=self.payment_terms,
            comment=self.note,
            preceding_invoice=self.preceding_invoice,
            vat_exemption_reason=self.vat_exemption_reason,
            lines=tuple(
                LineForm(
                    description=line.description,
                    quantity=format_decimal(line.quantity.normalize()),
                    unit=line.unit,
                    unit_price=format_decimal(line.unit_price.normalize()),
                    vat_rate=format_rate(line.vat_rate),
                )
                for line in self.lines
            ),
        )


_FRAMEWORKS = {
    "A1": "A1_FACTURE_FOURNISSEUR",
    "A2": "A2_FACTURE_FOURNISSEUR_DEJA_PAYEE",
    "A9": "A9_FACTURE_SOUSTRAITANT",
    "A12": "A12_FACTURE_COTRAITANT",
}
FRAMEWORK_CODES = {name: code for code, name in _FRAMEWORKS.items()}
DEFAULT_FRAMEWORK_CODE = "A1"
TYPE_CODES = {"FACTURE": "380", "AVOIR": "381"}


def framework_name(code: str) -> str:
    """``A1`` → ``A1_FACTURE_FOURNISSEUR``; an unknown ``A``-code is passed on as it is (the
    domain refuses it by name); anything else (a Peppol profile URN…) means the default A1."""
    code = code.strip().upper()
    if code in _FRAMEWORKS:
        return _FRAMEWORKS[code]
    if len(code) <= 3 and code[:1] in ("A", "B") and code[1:].isdigit():
        return code
    return _FRAMEWORKS[DEFAULT_FRAMEWORK_CODE]


def invoice_type_name(code: str) -> str:
    """380 → FACTURE, 381 → AVOIR; another code is passed on for the domain to refuse."""
    names = {value: name for name, value in TYPE_CODES.items()}
    return names.get(code.strip(), code.strip() or "")
