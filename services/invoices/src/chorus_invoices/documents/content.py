"""The EN 16931 model of a portal invoice's parts the entry does not give.

:func:`seller_of` / :func:`buyer_of` make the EN 16931 seller and buyer of a portal invoice
from the structures directory. :func:`model_of_content` makes a minimal model for an invoice
stored before the model was kept (``InvoiceContent.document`` None), so that its Factur-X, if
rendered again (a draft submitted, a recycling), comes from the one path: the XML is
``cii_writer.write_model`` of the model, the page ``pdf_rendering.render_pdf`` of it.
"""

from __future__ import annotations

from chorus_invoices.domain import en16931
from chorus_invoices.domain.invoice import FRAMEWORK_CODES, InvoiceContent
from chorus_invoices.domain.routing import Recipient
from chorus_invoices.domain.totals import compute_document_totals
from chorus_invoices.domain.validation import DEFAULT_PAYMENT_TERMS

SIRET_SCHEME = "0009"
"""ISO 6523 ICD of the French SIRET, as the French CIUS writes it in schemeID."""
DEFAULT_EXEMPTION_REASON = "Exonération de TVA"
"""BT-120 of an invoice stored before the model whose exempt lines gave no reason (BR-E-10)."""


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


def model_of_content(
    content: InvoiceContent, seller: en16931.Seller, buyer: en16931.Buyer
) -> en16931.Invoice:
    """The EN 16931 model of an invoice stored before the model was kept (its ``document``
    None): what such an invoice held — type, number, dates, framework, BT-10 service code,
    BT-13 engagement, BT-25, payment terms (:data:`DEFAULT_PAYMENT_TERMS` when none, BR-CO-25),
    the comment as a note, lines by category (S above 0 %, E at 0 % when none was kept) — with
    the totals computed the EN 16931 way and the exempt breakdown's reason (else
    :data:`DEFAULT_EXEMPTION_REASON`, BR-E-10). ``content.document`` itself when it has one."""
    if content.document is not None:
        return content.document
    categories = {line.category for line in content.lines}
    reason = (content.vat_exemption_reason or DEFAULT_EXEMPTION_REASON) if "E" in categories else ""
    computed = compute_document_totals(
        ((line.net_amount, line.category, line.vat_rate) for line in content.lines),
        exemption=(reason, ""),
    )
    return en16931.Invoice(
        number=content.number,
        issue_date=content.issue_date,
        type_code=content.invoice_type_code,
        currency=content.currency,
        seller=seller,
        buyer=buyer,
        totals=computed.totals,
        vat_breakdown=computed.vat_breakdown,
        lines=tuple(
            en16931.Line(
                identifier=str(position),
                quantity=line.quantity,
                unit=line.unit,
                net_amount=line.net_amount,
                price=en16931.Price(net_price=line.unit_price),
                vat_category=line.category,
                vat_rate=line.vat_rate,
                item=en16931.Item(name=line.description),
                allowances_charges=line.allowances_charges,
            )
            for position, line in enumerate(content.lines, start=1)
        ),
        business_process=FRAMEWORK_CODES.get(content.framework, ""),
        buyer_reference=content.service_code,
        purchase_order_reference=content.engagement_number,
        payment_terms=content.payment_terms or DEFAULT_PAYMENT_TERMS,
        notes=(en16931.Note(content.comment),) if content.comment else (),
        preceding_invoices=(
            (en16931.PrecedingInvoice(content.preceding_invoice),)
            if content.preceding_invoice
            else ()
        ),
    )
