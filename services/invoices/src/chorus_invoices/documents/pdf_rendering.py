"""The human-readable side of a Factur-X: a plain French A4 invoice, PDF/A-3b.

Rendered with fpdf2 in Lato (the ``font-lato`` package ships the TTF files, so no system font
is needed): fonts are embedded as PDF/A requires, and fpdf2's PDF/A-3B mode adds the sRGB
output intent. Amounts are written the French way (``1 234,56 €``).
"""

from __future__ import annotations

from decimal import Decimal

import font_lato
from fpdf import FPDF
from fpdf.fonts import FontFace

from chorus_invoices.documents.content import DocumentInvoice, PartyDetails
from chorus_invoices.domain.totals import format_rate, round_amount

_FONT = "Lato"
_NBSP = "\u00a0"
_GREY = (90, 90, 90)
_HEADINGS = FontFace(emphasis="BOLD", fill_color=(230, 236, 245))
_TITLES = {"380": "FACTURE", "381": "AVOIR"}
_COUNTRIES = {"FR": "France"}


def money(value: Decimal, currency: str) -> str:
    """``1 234,56 €`` (non-breaking spaces), ``1 234,56 USD`` for other currencies."""
    sign = "-" if value < 0 else ""
    units, cents = f"{abs(round_amount(value)):.2f}".split(".")
    groups = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    symbol = "€" if currency == "EUR" else currency
    return f"{sign}{_NBSP.join(groups)},{cents}{_NBSP}{symbol}"


def quantity(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",")


def render_pdf(invoice: DocumentInvoice) -> bytes:
    """The invoice as a PDF/A-3b document (without the XML: Factur-X embeds it)."""
    pdf = FPDF(format="A4", enforce_compliance="PDF/A-3B")
    pdf.set_title(f"{_title(invoice)} {invoice.number}")
    pdf.set_author(invoice.seller.name)
    pdf.set_lang("fr-FR")
    pdf.add_font(_FONT, "", font_lato.font_files["Lato"])
    pdf.add_font(_FONT, "B", font_lato.font_files["LatoBold"])
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    _header(pdf, invoice)
    _parties(pdf, invoice)
    _references(pdf, invoice)
    _lines(pdf, invoice)
    _totals(pdf, invoice)
    _footer_notes(pdf, invoice)
    return bytes(pdf.output())


def _title(invoice: DocumentInvoice) -> str:
    return _TITLES.get(invoice.type_code, "FACTURE")


def _header(pdf: FPDF, invoice: DocumentInvoice) -> None:
    pdf.set_font(_FONT, "B", 20)
    pdf.cell(0, 10, f"{_title(invoice)} N° {invoice.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, "", 10)
    issued = invoice.issue_date.strftime("%d/%m/%Y") if invoice.issue_date else ""
    pdf.cell(0, 6, f"Date d'émission : {issued}", new_x="LMARGIN", new_y="NEXT")
    if invoice.preceding_invoice:
        pdf.cell(
            0, 6, f"Facture d'origine : {invoice.preceding_invoice}", new_x="LMARGIN", new_y="NEXT"
        )
    pdf.ln(4)


def _party_lines(party: PartyDetails) -> list[str]:
    country = _COUNTRIES.get(party.country, party.country)
    lines = [party.line1, party.line2, f"{party.postal_code} {party.city}".strip(), country]
    if party.siret:
        lines.append(f"SIRET : {party.siret}")
    if party.vat_number:
        lines.append(f"N° TVA : {party.vat_number}")
    return [line for line in lines if line]


def _parties(pdf: FPDF, invoice: DocumentInvoice) -> None:
    top = pdf.get_y()
    half = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    bottom = top
    for column, (label, party) in enumerate(
        (("Fournisseur", invoice.seller), ("Destinataire", invoice.buyer))
    ):
        pdf.set_xy(pdf.l_margin + column * half, top)
        pdf.set_font(_FONT, "B", 9)
        pdf.set_text_color(*_GREY)
        pdf.cell(half - 4, 5, label.upper(), new_x="LEFT", new_y="NEXT")
        pdf.set_text_color(0)
        pdf.set_font(_FONT, "B", 11)
        pdf.multi_cell(half - 4, 6, party.name, new_x="LEFT", new_y="NEXT")
        pdf.set_font(_FONT, "", 9)
        pdf.multi_cell(half - 4, 5, "\n".join(_party_lines(party)), new_x="LEFT", new_y="NEXT")
        bottom = max(bottom, pdf.get_y())
    pdf.set_xy(pdf.l_margin, bottom + 4)


def _references(pdf: FPDF, invoice: DocumentInvoice) -> None:
    pairs = [
        ("Code service", invoice.service_code),
        ("N° d'engagement", invoice.engagement_number),
        ("Cadre de facturation", invoice.framework_code),
        ("Devise", invoice.currency),
    ]
    pdf.set_font(_FONT, "", 9)
    text = "   ·   ".join(f"{label} : {value}" for label, value in pairs if value)
    pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _lines(pdf: FPDF, invoice: DocumentInvoice) -> None:
    pdf.set_font(_FONT, "", 9)
    with pdf.table(
        col_widths=(70, 18, 14, 26, 14, 28),
        text_align=("LEFT", "RIGHT", "CENTER", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=_HEADINGS,
        line_height=6,
    ) as table:
        table.row(("Désignation", "Qté", "Unité", "PU HT", "TVA", "Montant HT"))
        for line in invoice.lines:
            table.row(
                (
                    line.description,
                    quantity(line.quantity),
                    line.unit,
                    money(line.unit_price, invoice.currency)
                    if line.unit_price == round_amount(line.unit_price)
                    else f"{quantity(line.unit_price)}",
                    f"{format_rate(line.vat_rate).replace('.', ',')} %",
                    money(line.net_amount, invoice.currency),
                )
            )
    pdf.ln(4)


def _totals(pdf: FPDF, invoice: DocumentInvoice) -> None:
    totals, currency = invoice.totals, invoice.currency
    pdf.set_font(_FONT, "", 9)
    with pdf.table(
        width=90,
        align="RIGHT",
        col_widths=(30, 30, 30),
        text_align=("RIGHT", "RIGHT", "RIGHT"),
        headings_style=_HEADINGS,
        line_height=6,
    ) as table:
        table.row(("Taux de TVA", "Base HT", "Montant TVA"))
        for vat in totals.vat_breakdown:
            table.row(
                (
                    f"{format_rate(vat.rate).replace('.', ',')} %",
                    money(vat.base, currency),
                    money(vat.amount, currency),
                )
            )
    pdf.ln(3)
    rows = (
        ("Total HT", totals.tax_exclusive, False),
        ("Total TVA", totals.vat_total, False),
        ("Total TTC", totals.gross_total, False),
        ("Net à payer", totals.amount_due, True),
    )
    for label, value, strong in rows:
        pdf.set_font(_FONT, "B" if strong else "", 11 if strong else 10)
        pdf.set_x(pdf.w - pdf.r_margin - 90)
        pdf.cell(50, 7, label, align="R")
        pdf.cell(40, 7, money(value, currency), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _footer_notes(pdf: FPDF, invoice: DocumentInvoice) -> None:
    pdf.set_font(_FONT, "", 9)
    if invoice.vat_exemption_reason:
        pdf.multi_cell(0, 5, f"TVA : {invoice.vat_exemption_reason}", new_x="LMARGIN", new_y="NEXT")
    if invoice.payment_terms:
        pdf.multi_cell(
            0, 5, f"Conditions de paiement : {invoice.payment_terms}", new_x="LMARGIN", new_y="NEXT"
        )
    if invoice.note:
        pdf.multi_cell(0, 5, f"Commentaire : {invoice.note}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_text_color(*_GREY)
    pdf.set_font(_FONT, "", 8)
    pdf.multi_cell(
        0,
        4,
        "Facture électronique Factur-X (profil EN 16931) : les données structurées sont"
        " jointes à ce PDF (factur-x.xml).",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_text_color(0)
