"""The human-readable side of a Factur-X: the EN 16931 model as a French A4 invoice, PDF/A-3b.

Rendered with fpdf2 in Lato (the ``font-lato`` package ships the TTF files, so no system font
is needed): fonts are embedded as PDF/A requires (parsed once per process and subset once per
glyph set: :mod:`~chorus_invoices.documents.pdf_fonts`), and fpdf2's PDF/A-3B mode adds the sRGB
output intent. Amounts are written the French way (``1 234,56 €``) in the invoice currency.

The page states what the XML beside it states (``cii_writer.write_model`` of the same model),
in the order a French reader expects: the document's type (BT-3) and number, its dates (issue,
due, VAT point, invoicing period), the parties (seller, buyer, payee, tax representative,
delivery) with SIRET and VAT numbers, the references (service code, engagement / purchase
order, contract, project…, preceding invoices), the lines (with their allowances and charges,
paginated, headings repeated), the document allowances and charges with their reasons, the
VAT breakdown per category and rate with exemption reasons, the totals BT-106…BT-115 (net à
payer last), the payment (means, IBAN by groups of 4, BIC, remittance information, terms) and
the notes. Each page says its number. A line's text longer than :data:`MAX_CELL_TEXT`
characters is cut (the XML carries it whole).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

import font_lato
from fpdf import FPDF
from fpdf.fonts import FontFace

from chorus_invoices.documents.pdf_fonts import SubsetCachingProducer, add_shared_font
from chorus_invoices.domain import en16931
from chorus_invoices.domain.totals import format_rate, round_amount

_FONT = "Lato"
_NBSP = "\u00a0"
_GREY = (90, 90, 90)
_HEADINGS = FontFace(emphasis="BOLD", fill_color=(230, 236, 245))
_SEPARATOR = "   ·   "
MAX_CELL_TEXT = 1500
"""At most this many characters of text in one table cell (a cell must fit on one page)."""

TYPE_LABELS = {
    "380": "Facture",
    "381": "Avoir",
    "384": "Facture rectificative",
    "386": "Facture d'acompte",
    "389": "Autofacture",
}
"""BT-3 (UNTDID 1001) as the page names the document; any other code is "Facture (type NNN)",
or "Avoir (type NNN)" for the other credit-note codes."""

VAT_CATEGORIES = {
    "S": "Soumis à TVA",
    "Z": "Taux zéro",
    "E": "Exonéré",
    "AE": "Autoliquidation",
    "K": "Livraison intracommunautaire",
    "G": "Exportation hors UE",
    "O": "Hors champ de la TVA",
    "L": "IGIC (Canaries)",
    "M": "IPSI (Ceuta et Melilla)",
}
"""UNCL 5305, the VAT categories of EN 16931."""

PAYMENT_MEANS = {
    "1": "Non défini",
    "10": "Espèces",
    "20": "Chèque",
    "30": "Virement",
    "31": "Virement",
    "42": "Paiement sur compte bancaire",
    "48": "Carte bancaire",
    "49": "Prélèvement",
    "54": "Carte de crédit",
    "55": "Carte de débit",
    "57": "Ordre permanent",
    "58": "Virement SEPA",
    "59": "Prélèvement SEPA",
    "68": "Paiement en ligne",
    "97": "Compensation",
    "ZZZ": "Autre moyen convenu",
}
"""UNTDID 4461 payment means (BT-81) by their French names."""

NOTE_SUBJECTS = {
    "AAI": "Information générale",
    "AAB": "Escompte",
    "ABL": "Mention légale",
    "PMD": "Pénalités de retard",
    "PMT": "Indemnité forfaitaire de recouvrement",
    "REG": "Mention réglementaire",
    "SUR": "Remarque du fournisseur",
    "TXD": "Mention fiscale",
}
"""UNTDID 4451 note subjects (BT-21) the French invoices use."""

VATEX_CODES = {
    "VATEX-EU-AE": "Autoliquidation",
    "VATEX-EU-IC": "Livraison intracommunautaire exonérée",
    "VATEX-EU-G": "Exportation hors UE exonérée",
    "VATEX-EU-O": "Hors champ de la TVA",
    "VATEX-EU-132": "Exonération, article 132 de la directive 2006/112/CE",
    "VATEX-EU-143": "Exonération, article 143 de la directive 2006/112/CE",
    "VATEX-EU-148": "Exonération, article 148 de la directive 2006/112/CE",
    "VATEX-EU-151": "Exonération, article 151 de la directive 2006/112/CE",
    "VATEX-EU-309": "Exonération, article 309 de la directive 2006/112/CE",
    "VATEX-EU-D": "Régime de la marge — agences de voyages",
    "VATEX-EU-F": "Régime de la marge — biens d'occasion",
    "VATEX-EU-I": "Régime de la marge — objets d'art",
    "VATEX-EU-J": "Régime de la marge — objets de collection et d'antiquité",
    "VATEX-FR-FRANCHISE": "TVA non applicable, art. 293 B du CGI",
}
"""VATEX exemption codes (BT-121) named when the invoice gives no reason text (BT-120)."""

TAX_POINT_CODES = {
    "3": "à la date d'émission de la facture",
    "35": "à la date de livraison",
    "432": "à la date de paiement",
}
"""BT-8 (UNTDID 2005): when VAT becomes due."""

_UNITS = {
    "C62": "unité",
    "H87": "pièce",
    "EA": "unité",
    "XPP": "pièce",
    "HUR": "heure",
    "MIN": "minute",
    "DAY": "jour",
    "WEE": "semaine",
    "MON": "mois",
    "ANN": "an",
    "KGM": "kg",
    "GRM": "g",
    "TNE": "t",
    "MTR": "m",
    "KMT": "km",
    "MTK": "m²",
    "MTQ": "m³",
    "LTR": "l",
    "SET": "lot",
    "KWH": "kWh",
}
_COUNTRIES = {
    "FR": "France",
    "DE": "Allemagne",
    "BE": "Belgique",
    "LU": "Luxembourg",
    "CH": "Suisse",
    "IT": "Italie",
    "ES": "Espagne",
    "NL": "Pays-Bas",
    "GB": "Royaume-Uni",
    "MC": "Monaco",
}
_LEGAL_SCHEMES = {"0009": "SIRET", "0002": "SIREN"}
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def money(value: Decimal, currency: str) -> str:
    """``1 234,56 €`` (non-breaking spaces), ``1 234,56 USD`` for other currencies."""
    sign = "-" if value < 0 else ""
    units, cents = f"{abs(round_amount(value)):.2f}".split(".")
    groups = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    return f"{sign}{_NBSP.join(groups)},{cents}{_NBSP}{_symbol(currency)}"


def quantity(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",")


def price(value: Decimal, currency: str) -> str:
    """A unit price: as :func:`money` when it is in cents, else every decimal it has."""
    if value == round_amount(value):
        return money(value, currency)
    return f"{quantity(value)}{_NBSP}{_symbol(currency)}"


def iban(account: str) -> str:
    """``FR76 3000 6000 0112 3456 7890 189``: an IBAN by groups of 4 (other accounts as
    written)."""
    compact = account.replace(" ", "").upper()
    if not _IBAN_SHAPE.fullmatch(compact):
        return account
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def document_title(type_code: str) -> str:
    """``Facture``, ``Avoir``, ``Facture rectificative``… for BT-3."""
    code = type_code.strip()
    if code in TYPE_LABELS:
        return TYPE_LABELS[code]
    kind = "Avoir" if code in en16931.CREDIT_NOTE_TYPE_CODES else "Facture"
    return f"{kind} (type {code})"


class _Pages(FPDF):
    """A4 pages whose foot says which invoice and which page."""

    foot = ""

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(_FONT, "", 7)
        self.set_text_color(*_GREY)
        self.cell(0, 5, f"{self.foot} — page {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0)


def render_pdf(invoice: en16931.Invoice) -> bytes:
    """The invoice as a PDF/A-3b document (without the XML: Factur-X embeds it)."""
    title = document_title(invoice.type_code)
    pdf = _Pages(format="A4", enforce_compliance="PDF/A-3B")
    pdf.foot = _clean(f"{title} N° {invoice.number}")
    pdf.set_title(_clean(f"{title} {invoice.number}"))
    pdf.set_author(_clean(invoice.seller.name))
    pdf.set_lang("fr-FR")
    add_shared_font(pdf, _FONT, "", font_lato.font_files["Lato"])
    add_shared_font(pdf, _FONT, "B", font_lato.font_files["LatoBold"])
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    _header(pdf, invoice, title)
    _parties(pdf, invoice)
    _references(pdf, invoice)
    _lines(pdf, invoice)
    _allowances_charges(pdf, invoice)
    _totals(pdf, invoice)
    _payment(pdf, invoice)
    _notes(pdf, invoice)
    return bytes(pdf.output(output_producer_class=SubsetCachingProducer))


# --- Text ---------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Text as the page can show it: tabs as spaces, no other control character."""
    return _CONTROL.sub("", text.replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n"))


def _cut(text: str, limit: int = MAX_CELL_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _symbol(currency: str) -> str:
    return "€" if currency == "EUR" else currency


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _rate(rate: Decimal | None) -> str:
    return f"{format_rate(rate).replace('.', ',')}{_NBSP}%" if rate is not None else ""


def _period(period: en16931.Period | None) -> str:
    if period is None or (period.start is None and period.end is None):
        return ""
    if period.start and period.end:
        return f"du {_day(period.start)} au {_day(period.end)}"
    return f"à partir du {_day(period.start)}" if period.start else f"jusqu'au {_day(period.end)}"


def _schemed(identifier: en16931.Identifier | None) -> str:
    if identifier is None or not identifier.value:
        return ""
    scheme = f" ({identifier.scheme})" if identifier.scheme else ""
    return f"{identifier.value}{scheme}"


def _legal(identifier: en16931.Identifier | None) -> str:
    """``SIRET : 33738480410006`` / ``SIREN : …`` / ``Immatriculation : … (0088)``."""
    if identifier is None or not identifier.value:
        return ""
    if identifier.scheme in _LEGAL_SCHEMES:
        return f"{_LEGAL_SCHEMES[identifier.scheme]} : {identifier.value}"
    return f"Immatriculation : {_schemed(identifier)}"


def _labelled(label: str, value: str) -> str:
    return f"{label} : {value}" if value else ""


def _present(lines: Iterable[str]) -> list[str]:
    return [_clean(line) for line in lines if line]


def _category(code: str) -> str:
    label = VAT_CATEGORIES.get(code)
    return f"{label} ({code})" if label else code


def _vat_of(category: str, rate: Decimal | None) -> str:
    """A line's or an allowance's VAT: ``20 %`` (category S), ``0 % E``, ``O``."""
    if rate is None:
        return category
    return _rate(rate) if category == "S" else f"{_rate(rate)} {category}".strip()


def _reason(reason: str, code: str) -> str:
    if reason and code:
        return f"{reason} ({code})"
    return reason or (f"code {code}" if code else "")


# --- Blocks -------------------------------------------------------------------------------


def _heading(pdf: FPDF, text: str, width: float = 0) -> None:
    pdf.set_font(_FONT, "B", 9)
    pdf.set_text_color(*_GREY)
    pdf.cell(width, 5, text.upper(), new_x="LEFT", new_y="NEXT")
    pdf.set_text_color(0)


def _paragraph(pdf: FPDF, lines: list[str], size: float = 9) -> None:
    if not lines:
        return
    pdf.set_font(_FONT, "", size)
    pdf.multi_cell(0, 5, "\n".join(lines), align="L", new_x="LMARGIN", new_y="NEXT")


def _keep_room(pdf: FPDF, height: float) -> None:
    """A new page unless ``height`` millimetres are left on this one (or it is still blank)."""
    if pdf.get_y() + height > pdf.page_break_trigger and pdf.get_y() > pdf.t_margin + 1:
        pdf.add_page()


def _header(pdf: FPDF, invoice: en16931.Invoice, title: str) -> None:
    pdf.set_font(_FONT, "B", 20)
    pdf.multi_cell(
        0, 10, _clean(f"{title.upper()} N° {invoice.number}"), new_x="LMARGIN", new_y="NEXT"
    )
    tax_point = invoice.tax_point_date
    lines = [
        f"Date d'émission : {_day(invoice.issue_date)}",
        _labelled("Date d'échéance", _day(invoice.due_date)),
        _labelled("Période de facturation", _period(invoice.invoicing_period)),
        _labelled("Date d'exigibilité de la TVA", _day(tax_point)),
        _labelled(
            "Exigibilité de la TVA",
            TAX_POINT_CODES.get(invoice.tax_point_date_code, invoice.tax_point_date_code),
        ),
        *(
            f"Facture d'origine : {preceding.number}"
            + (f" du {_day(preceding.issue_date)}" if preceding.issue_date else "")
            for preceding in invoice.preceding_invoices
        ),
    ]
    _paragraph(pdf, _present(lines), size=10)
    pdf.ln(4)


def _address_lines(address: en16931.Address | None) -> list[str]:
    if address is None:
        return []
    return [
        address.line1,
        address.line2,
        address.line3,
        f"{address.postal_code} {address.city}".strip(),
        address.subdivision,
        _COUNTRIES.get(address.country, address.country),
    ]


def _contact_lines(contact: en16931.Contact | None) -> list[str]:
    if contact is None:
        return []
    return [
        _labelled("Contact", contact.point),
        _labelled("Tél.", contact.telephone),
        _labelled("Courriel", contact.email),
    ]


def _seller_lines(seller: en16931.Seller) -> list[str]:
    return [
        _labelled("Nom commercial", seller.trading_name),
        *_address_lines(seller.address),
        _legal(seller.legal_registration),
        *(_labelled("Identifiant", _schemed(i)) for i in seller.identifiers),
        _labelled("N° TVA", seller.vat_identifier),
        _labelled("N° d'enregistrement fiscal", seller.tax_registration),
        seller.additional_legal_information,
        _labelled("Adresse électronique", _schemed(seller.electronic_address)),
        *_contact_lines(seller.contact),
    ]


def _buyer_lines(buyer: en16931.Buyer) -> list[str]:
    return [
        _labelled("Nom commercial", buyer.trading_name),
        *_address_lines(buyer.address),
        _legal(buyer.legal_registration),
        _labelled("Identifiant", _schemed(buyer.identifier)),
        _labelled("N° TVA", buyer.vat_identifier),
        _labelled("Adresse électronique", _schemed(buyer.electronic_address)),
        *_contact_lines(buyer.contact),
    ]


def _party_blocks(invoice: en16931.Invoice) -> list[tuple[str, str, list[str]]]:
    """(heading, name, lines) of every party the invoice names."""
    blocks = [
        ("Fournisseur", invoice.seller.name, _seller_lines(invoice.seller)),
        ("Destinataire", invoice.buyer.name, _buyer_lines(invoice.buyer)),
    ]
    if invoice.payee is not None:
        payee = invoice.payee
        blocks.append(
            (
                "Bénéficiaire du paiement",
                payee.name,
                [
                    _legal(payee.legal_registration),
                    _labelled("Identifiant", _schemed(payee.identifier)),
                ],
            )
        )
    if invoice.tax_representative is not None:
        agent = invoice.tax_representative
        blocks.append(
            (
                "Représentant fiscal",
                agent.name,
                [*_address_lines(agent.address), _labelled("N° TVA", agent.vat_identifier)],
            )
        )
    delivery = invoice.delivery
    if delivery is not None:
        blocks.append(
            (
                "Livraison",
                delivery.party_name,
                [
                    _labelled("Date de livraison", _day(delivery.date)),
                    _labelled("Lieu", _schemed(delivery.location)),
                    *_address_lines(delivery.address),
                ],
            )
        )
    return blocks


def _block_height(pdf: FPDF, width: float, name: str, text: str) -> float:
    height = 5.0
    if name:
        pdf.set_font(_FONT, "B", 11)
        height += pdf.multi_cell(width, 6, name, dry_run=True, output="HEIGHT")
    if text:
        pdf.set_font(_FONT, "", 9)
        height += pdf.multi_cell(width, 5, text, dry_run=True, output="HEIGHT")
    return height


def _parties(pdf: FPDF, invoice: en16931.Invoice) -> None:
    half = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    width = half - 4
    blocks = [
        (label, _cut(_clean(name)), _cut("\n".join(_present(lines))))
        for label, name, lines in _party_blocks(invoice)
    ]
    for first in range(0, len(blocks), 2):
        row = blocks[first : first + 2]
        height = max(_block_height(pdf, width, name, text) for _, name, text in row)
        _keep_room(pdf, height)
        top = pdf.get_y()
        page = pdf.page
        bottom = top
        for column, (label, name, text) in enumerate(row):
            if pdf.page != page:  # a block taller than a page: one under the other
                top = pdf.get_y()
                page = pdf.page
            pdf.set_xy(pdf.l_margin + column * half, top)
            _heading(pdf, label, width)
            if name:
                pdf.set_font(_FONT, "B", 11)
                pdf.multi_cell(width, 6, name, new_x="LEFT", new_y="NEXT")
            if text:
                pdf.set_font(_FONT, "", 9)
                pdf.multi_cell(width, 5, text, new_x="LEFT", new_y="NEXT")
            bottom = pdf.get_y() if pdf.page != page else max(bottom, pdf.get_y())
        pdf.set_xy(pdf.l_margin, bottom + 4)


def _references(pdf: FPDF, invoice: en16931.Invoice) -> None:
    pairs = [
        ("Code service", invoice.buyer_reference),
        ("N° d'engagement / bon de commande", invoice.purchase_order_reference),
        ("Contrat", invoice.contract_reference),
        ("Projet", invoice.project_reference),
        ("Commande vendeur", invoice.sales_order_reference),
        ("Avis de réception", invoice.receiving_advice_reference),
        ("Avis d'expédition", invoice.despatch_advice_reference),
        ("Appel d'offres / lot", invoice.tender_reference),
        ("Objet facturé", _schemed(invoice.invoiced_object)),
        ("Référence comptable de l'acheteur", invoice.buyer_accounting_reference),
        ("Cadre de facturation", invoice.business_process),
        ("Devise", invoice.currency),
        ("Devise de comptabilisation de la TVA", invoice.vat_accounting_currency),
    ]
    text = _SEPARATOR.join(_present(_labelled(label, value) for label, value in pairs))
    pdf.set_font(_FONT, "", 9)
    pdf.multi_cell(0, 5, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _line_adjustment(ac: en16931.LineAllowanceCharge, currency: str) -> str:
    kind = "Frais" if ac.charge else "Remise"
    amount = money(ac.amount if ac.charge else -ac.amount, currency)
    basis = ""
    if ac.percentage is not None:
        of = f" de {money(ac.base_amount, currency)}" if ac.base_amount is not None else ""
        basis = f" ({_rate(ac.percentage)}{of})"
    reason = _reason(ac.reason, ac.reason_code)
    return f"{kind} : {amount}{basis}" + (f" — {reason}" if reason else "")


def _line_text(line: en16931.Line, currency: str) -> str:
    item, unit_price = line.item, line.price
    details = [
        item.name,
        item.description,
        _SEPARATOR.join(
            _present(
                [
                    _labelled("Réf. vendeur", item.seller_identifier),
                    _labelled("Réf. acheteur", item.buyer_identifier),
                    _labelled("Identifiant", _schemed(item.standard_identifier)),
                    _labelled("Origine", item.origin_country),
                ]
            )
        ),
        *(
            _labelled("Classification", _schemed(en16931.Identifier(c.value, c.scheme)))
            for c in item.classifications
        ),
        *(f"{attribute.name} : {attribute.value}" for attribute in item.attributes),
        _labelled("Période", _period(line.period)),
        _labelled("Objet", _schemed(line.object_identifier)),
        _labelled("Ligne de commande", line.order_line_reference),
        _labelled("Réf. comptable", line.buyer_accounting_reference),
        _labelled(
            "Prix brut",
            price(unit_price.gross_price, currency) if unit_price.gross_price is not None else "",
        ),
        _labelled(
            "Rabais sur prix",
            price(unit_price.discount, currency) if unit_price.discount is not None else "",
        ),
        *(_line_adjustment(ac, currency) for ac in line.allowances_charges),
        _labelled("Note", line.note),
    ]
    return _cut("\n".join(_present(details)))


def _unit_price(line: en16931.Line, currency: str) -> str:
    text = price(line.price.net_price, currency)
    base = line.price.base_quantity
    if base is not None and base != 1:
        unit = line.price.base_quantity_unit or line.unit
        text += f" pour {quantity(base)} {_UNITS.get(unit, unit)}".rstrip()
    return text


def _lines(pdf: FPDF, invoice: en16931.Invoice) -> None:
    if not invoice.lines:
        return
    currency = invoice.currency
    pdf.set_font(_FONT, "", 8.5)
    with pdf.table(
        col_widths=(9, 73, 18, 15, 27, 18, 30),
        text_align=("LEFT", "LEFT", "RIGHT", "CENTER", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=_HEADINGS,
        line_height=5,
    ) as table:
        table.row(("N°", "Désignation", "Qté", "Unité", "PU HT", "TVA", "Montant HT"))
        for line in invoice.lines:
            table.row(
                (
                    _cut(_clean(line.identifier), 20),
                    _line_text(line, currency),
                    quantity(line.quantity),
                    _clean(_UNITS.get(line.unit, line.unit)),
                    _unit_price(line, currency),
                    _vat_of(line.vat_category, line.vat_rate),
                    money(line.net_amount, currency),
                )
            )
    pdf.ln(4)


def _allowances_charges(pdf: FPDF, invoice: en16931.Invoice) -> None:
    if not invoice.allowances_charges:
        return
    currency = invoice.currency
    _keep_room(pdf, 25)
    _heading(pdf, "Remises et frais sur l'ensemble de la facture")
    pdf.set_font(_FONT, "", 9)
    with pdf.table(
        col_widths=(20, 76, 28, 16, 20, 30),
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=_HEADINGS,
        line_height=5,
    ) as table:
        table.row(("Nature", "Motif", "Base HT", "Taux", "TVA", "Montant HT"))
        for ac in invoice.allowances_charges:
            table.row(
                (
                    "Frais" if ac.charge else "Remise",
                    _cut(_clean(_reason(ac.reason, ac.reason_code))),
                    money(ac.base_amount, currency) if ac.base_amount is not None else "",
                    _rate(ac.percentage),
                    _vat_of(ac.vat_category, ac.vat_rate),
                    money(ac.amount if ac.charge else -ac.amount, currency),
                )
            )
    pdf.ln(4)


def _exemption(vat: en16931.VatBreakdown) -> str:
    """``reason (VATEX-…)``; a code alone with its French meaning when known."""
    code = vat.exemption_reason_code
    reason = vat.exemption_reason or VATEX_CODES.get(code.upper(), "")
    return f"{reason} ({code})" if reason and code else reason or code


def _total_rows(invoice: en16931.Invoice) -> list[tuple[str, str, bool]]:
    stated, currency = invoice.totals, invoice.currency
    zero = Decimal(0)
    rows: list[tuple[str, Decimal | None, bool, str]] = [
        ("Total HT des lignes", stated.line_total, False, currency),
        (
            "Remises",
            -stated.allowance_total if stated.allowance_total is not None else None,
            False,
            currency,
        ),
        ("Frais", stated.charge_total, False, currency),
        ("Total HT", stated.tax_exclusive, False, currency),
        ("Total TVA", stated.vat_total if stated.vat_total is not None else zero, False, currency),
        (
            f"Total TVA en {invoice.vat_accounting_currency}",
            stated.vat_total_accounting,
            False,
            invoice.vat_accounting_currency,
        ),
        ("Total TTC", stated.tax_inclusive, False, currency),
        ("Acompte versé", -stated.prepaid if stated.prepaid is not None else None, False, currency),
        ("Arrondi", stated.rounding, False, currency),
        ("Net à payer", stated.amount_due, True, currency),
    ]
    return [
        (label, money(value, in_currency), strong)
        for label, value, strong, in_currency in rows
        if value is not None
    ]


def _totals(pdf: FPDF, invoice: en16931.Invoice) -> None:
    currency = invoice.currency
    rows = _total_rows(invoice)
    exemptions = [_exemption(v) for v in invoice.vat_breakdown]
    _keep_room(pdf, 16 + 5 * len(invoice.vat_breakdown))
    _heading(pdf, "Récapitulatif de la TVA")
    pdf.set_font(_FONT, "", 9)
    with pdf.table(
        col_widths=(52, 18, 30, 30, 60),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
        headings_style=_HEADINGS,
        line_height=5,
    ) as table:
        table.row(("Catégorie", "Taux", "Base HT", "Montant TVA", "Motif d'exonération"))
        for vat, exemption in zip(invoice.vat_breakdown, exemptions, strict=True):
            table.row(
                (
                    _category(vat.category),
                    _rate(vat.rate),
                    money(vat.taxable_amount, currency),
                    money(vat.tax_amount, currency),
                    _cut(_clean(exemption)),
                )
            )
    pdf.ln(3)
    _keep_room(pdf, 6 * len(rows) + 2)
    for label, value, strong in rows:
        pdf.set_font(_FONT, "B" if strong else "", 11 if strong else 10)
        pdf.set_x(pdf.w - pdf.r_margin - 100)
        pdf.cell(55, 6 if not strong else 8, label, align="R")
        pdf.cell(45, 6 if not strong else 8, value, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _payment_lines(invoice: en16931.Invoice) -> list[str]:
    payment = invoice.payment_instructions
    lines: list[str] = []
    if payment is not None:
        means = PAYMENT_MEANS.get(payment.means_code, f"code {payment.means_code}")
        if payment.means_code in PAYMENT_MEANS:
            means = f"{means} ({payment.means_code})"
        if payment.means_text:
            means = f"{means} — {payment.means_text}"
        lines.append(f"Moyen de paiement : {means}")
        for transfer in payment.credit_transfers:
            account = iban(transfer.account)
            label = (
                "IBAN"
                if account != transfer.account or _IBAN_SHAPE.fullmatch(account)
                else "Compte"
            )
            lines.append(
                _SEPARATOR.join(
                    _present(
                        [
                            f"{label} : {account}",
                            _labelled("BIC", transfer.service_provider),
                            _labelled("Titulaire", transfer.account_name),
                        ]
                    )
                )
            )
        if payment.card is not None:
            lines.append(
                _SEPARATOR.join(
                    _present(
                        [
                            f"Carte : {payment.card.primary_account_number}",
                            _labelled("Titulaire", payment.card.holder_name),
                        ]
                    )
                )
            )
        debit = payment.direct_debit
        if debit is not None:
            lines.append(
                _SEPARATOR.join(
                    _present(
                        [
                            _labelled("Mandat de prélèvement", debit.mandate_reference),
                            _labelled("Identifiant créancier SEPA", debit.creditor_identifier),
                            _labelled("Compte débité", iban(debit.debited_account)),
                        ]
                    )
                )
            )
        lines.append(
            _labelled("Référence à rappeler avec le paiement", payment.remittance_information)
        )
    lines.append(_labelled("Échéance", _day(invoice.due_date)))
    lines.append(_labelled("Conditions de paiement", invoice.payment_terms))
    return _present(lines)


def _payment(pdf: FPDF, invoice: en16931.Invoice) -> None:
    lines = _payment_lines(invoice)
    if not lines:
        return
    _keep_room(pdf, 12 + 5 * len(lines))
    _heading(pdf, "Paiement")
    _paragraph(pdf, lines)
    pdf.ln(3)


def _notes(pdf: FPDF, invoice: en16931.Invoice) -> None:
    lines = [
        f"{NOTE_SUBJECTS.get(note.subject_code, note.subject_code or 'Commentaire')} : {note.text}"
        for note in invoice.notes
    ]
    documents = [
        " — ".join(
            _present(
                [
                    document.reference,
                    document.description,
                    document.filename,
                    document.external_location,
                ]
            )
        )
        for document in invoice.supporting_documents
    ]
    if lines:
        _keep_room(pdf, 15)
        _heading(pdf, "Notes")
        _paragraph(pdf, _present(lines))
        pdf.ln(3)
    if documents:
        _keep_room(pdf, 15)
        _heading(pdf, "Pièces justificatives")
        _paragraph(pdf, _present(documents))
        pdf.ln(3)
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
