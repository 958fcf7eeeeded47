"""Hypothesis strategies: random EN 16931 invoices that are valid per the norm.

:func:`invoices` draws a model whose arithmetic holds (line nets from quantity, price, base
quantity and line allowances/charges; BT-106 = Σ BT-131; BT-109 = BT-106 − BT-107 + BT-108; one
VAT breakdown per (category, rate) with BT-117 = BT-116 × rate rounded to the cent (BR-CO-17);
BT-112 = BT-109 + BT-110; BT-115 = BT-112 − BT-113 + BT-114; amounts with two decimals) and
whose VAT categories follow their rules (BR-S/Z/E/AE/IC/G/O/AF/AG): S a positive rate, Z/E/AE/
K/G a zero rate, L/M a rate ≥ 0, O no rate and nothing else on the invoice; E/AE/K/G/O an
exemption reason or code, S/Z/L/M none; the seller's VAT identifier where the category needs
it and never with O; the buyer's VAT identifier for AE and K; for K a delivery date or
invoicing period and a deliver-to country (BR-IC-11/12).

Binding limits the strategy keeps to (each documented by the writers): a seller's schemeless
identifiers come before the schemed ones (CII states them as ``ID`` then ``GlobalID``); BT-148
and BT-147 come together (UBL cannot state one without the other); a note's text never starts
with ``#`` (the UBL ``#CODE#`` convention for BT-21); a credit note's due date comes with payment
instructions (UBL states it on ``PaymentMeans``); BT-110 is always stated (UBL requires it
with a breakdown).
"""

from __future__ import annotations

import functools
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from chorus_invoices.domain import en16931
from hypothesis import strategies as st

CENT = Decimal("0.01")
TYPE_CODES = ("380", "381", "384", "386", "389")
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK")
COUNTRIES = ("FR", "DE", "BE", "IT", "ES", "NL", "LU")
UNITS = ("C62", "HUR", "KGM", "DAY", "EA", "H87", "MTR")
STANDARD_RATES = (Decimal("20"), Decimal("10"), Decimal("5.5"), Decimal("2.1"), Decimal("19"))
CANARY_RATES = (Decimal("0"), Decimal("3"), Decimal("7"), Decimal("9.5"), Decimal("15"))
EXEMPTION_CODES = {
    "E": ("VATEX-EU-132", "VATEX-EU-F"),
    "AE": ("VATEX-EU-AE",),
    "K": ("VATEX-EU-IC",),
    "G": ("VATEX-EU-G",),
    "O": ("VATEX-EU-O",),
}
NEEDS_EXEMPTION = frozenset(EXEMPTION_CODES)
ALLOWANCE_CODES = ("95", "100", "102", "104")
CHARGE_CODES = ("FC", "ABL", "ADR", "AA")
NOTE_SUBJECTS = ("AAI", "REG", "ABL", "TXD", "PMT", "AAB")
ICD_SCHEMES = ("0002", "0009", "0088", "0060")
EAS_SCHEMES = ("EM", "0009", "0088", "0002")
MIME_CODES = ("application/pdf", "image/png", "image/jpeg", "text/csv")

# Letters (accented too), digits and the characters XML must escape; no control characters.
_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "àâçéèêëîïôùûüÿœÉÀÇ &<>\"'-_/.,;:()€«»"
)


@functools.cache
def texts(max_size: int = 30) -> st.SearchStrategy[str]:
    """Text as the model keeps it: no leading or trailing whitespace, never empty."""
    return (
        st.text(_ALPHABET, min_size=1, max_size=max_size)
        .map(str.strip)
        .filter(lambda t: bool(t) and not t.startswith("#"))
    )


@functools.cache
def references(prefix: str) -> st.SearchStrategy[str]:
    return st.integers(1, 999_999).map(lambda n: f"{prefix}-{n}")


@functools.cache
def optional(strategy: st.SearchStrategy, empty=None) -> st.SearchStrategy:
    return st.one_of(st.just(empty), strategy)


dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@functools.cache
def cents(low: int, high: int) -> st.SearchStrategy[Decimal]:
    """An amount with exactly two decimals."""
    return st.integers(low, high).map(lambda n: Decimal(n).scaleb(-2))


@functools.cache
def numbers(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda n: Decimal(n).scaleb(-places))


def round_cent(value: Decimal) -> Decimal:
    """Rounded to the cent, half away from zero; a zero is ``0.00``, never ``-0.00`` (the
    Factur-X schematron does not take ``-0.00`` for zero)."""
    rounded = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return abs(rounded) if rounded == 0 else rounded


@functools.cache
def vat_number(country: str) -> st.SearchStrategy[str]:
    return st.integers(10**8, 10**9 - 1).map(lambda n: f"{country}{n}")


@st.composite
def identifiers(draw, schemes=ICD_SCHEMES, *, scheme_required=False) -> en16931.Identifier:
    scheme = (
        draw(st.sampled_from(schemes))
        if scheme_required
        else draw(optional(st.sampled_from(schemes), ""))
    )
    return en16931.Identifier(draw(references("ID")), scheme)


def _payee_identifier(identifier: en16931.Identifier) -> en16931.Identifier:
    return en16931.Identifier(f"PAYEE-{identifier.value}", identifier.scheme)


@st.composite
def addresses(draw) -> en16931.Address:
    return en16931.Address(
        line1=draw(optional(texts(), "")),
        line2=draw(optional(texts(), "")),
        line3=draw(optional(texts(), "")),
        city=draw(optional(texts(), "")),
        postal_code=draw(optional(st.integers(1000, 99999).map(str), "")),
        subdivision=draw(optional(texts(), "")),
        country=draw(st.sampled_from(COUNTRIES)),
    )


@st.composite
def contacts(draw) -> en16931.Contact:
    point, telephone, email = draw(
        st.tuples(optional(texts(), ""), optional(texts(15), ""), optional(texts(), "")).filter(any)
    )
    return en16931.Contact(point=point, telephone=telephone, email=email)


@st.composite
def electronic_addresses(draw) -> en16931.Identifier:
    return en16931.Identifier(draw(references("EA")), draw(st.sampled_from(EAS_SCHEMES)))


@st.composite
def _groups(draw) -> tuple[bool, list[tuple[str, Decimal | None]]]:
    """(not-subject invoice, the (category, rate) pairs of the invoice)."""
    if draw(st.integers(0, 7)) == 0:
        return True, [("O", None)]
    categories = draw(
        st.lists(
            st.sampled_from(("S", "Z", "E", "AE", "K", "G", "L", "M")),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    groups: list[tuple[str, Decimal | None]] = []
    for category in categories:
        if category == "S":
            rates = draw(
                st.lists(st.sampled_from(STANDARD_RATES), min_size=1, max_size=2, unique=True)
            )
        elif category == "L":
            # BR-AF-05 of the CEN CII stylesheet: an IGIC line's rate is above 0
            rates = [draw(st.sampled_from([r for r in CANARY_RATES if r > 0]))]
        elif category == "M":
            rates = [draw(st.sampled_from(CANARY_RATES))]
        else:
            rates = [Decimal("0")]
        groups += [(category, rate) for rate in rates]
    return False, groups


@st.composite
def line_allowances_charges(draw) -> en16931.LineAllowanceCharge:
    charge = draw(st.booleans())
    reason = draw(optional(texts(), ""))
    reason_code = draw(optional(st.sampled_from(CHARGE_CODES if charge else ALLOWANCE_CODES), ""))
    if not reason and not reason_code:
        reason = "Remise" if not charge else "Frais"
    if draw(st.booleans()):
        base = draw(cents(0, 100_000))
        percentage = draw(numbers(1, 5000, 2))
        amount = round_cent(base * percentage / 100)
    else:
        base = percentage = None
        amount = draw(cents(0, 10_000))
    return en16931.LineAllowanceCharge(
        charge=charge,
        amount=amount,
        base_amount=base,
        percentage=percentage,
        reason=reason,
        reason_code=reason_code,
    )


@st.composite
def items(draw) -> en16931.Item:
    return en16931.Item(
        name=draw(texts()),
        description=draw(optional(texts(60), "")),
        seller_identifier=draw(optional(references("SKU"), "")),
        buyer_identifier=draw(optional(references("BUY"), "")),
        standard_identifier=draw(
            optional(
                st.builds(en16931.Identifier, references("GTIN"), st.sampled_from(("0160", "0088")))
            )
        ),
        classifications=tuple(
            draw(
                st.lists(
                    st.builds(
                        en16931.Classification,
                        references("CL"),
                        st.sampled_from(("STI", "IB", "MP")),
                        optional(st.sampled_from(("1.0", "2008")), ""),
                    ),
                    max_size=2,
                )
            )
        ),
        origin_country=draw(optional(st.sampled_from(COUNTRIES), "")),
        attributes=tuple(
            draw(st.lists(st.builds(en16931.ItemAttribute, texts(), texts()), max_size=2))
        ),
    )


@st.composite
def periods(draw) -> en16931.Period:
    start = draw(optional(dates))
    end = draw(optional(dates))
    if start is None and end is None:
        start = draw(dates)
    if start is not None and end is not None and end < start:
        start, end = end, start
    return en16931.Period(start=start, end=end)


@st.composite
def lines(draw, identifier: str, category: str, rate: Decimal | None) -> en16931.Line:
    quantity = draw(numbers(1, 100_000, draw(st.integers(0, 3))))
    if draw(st.integers(0, 9)) == 0:
        quantity = -quantity
    net_price = draw(numbers(0, 10_000_000, draw(st.integers(2, 4))))
    base_quantity = draw(optional(st.sampled_from((Decimal("1"), Decimal("10"), Decimal("100")))))
    unit = draw(st.sampled_from(UNITS))
    discount = gross = None
    if draw(st.booleans()):
        discount = draw(cents(0, 5_000))
        gross = net_price + discount
    adjustments = tuple(draw(st.lists(line_allowances_charges(), max_size=2)))
    net = round_cent(quantity * net_price / (base_quantity or 1))
    for ac in adjustments:
        net += ac.amount if ac.charge else -ac.amount
    return en16931.Line(
        identifier=identifier,
        quantity=quantity,
        unit=unit,
        net_amount=net,
        price=en16931.Price(
            net_price=net_price,
            discount=discount,
            gross_price=gross,
            base_quantity=base_quantity,
            base_quantity_unit=draw(optional(st.just(unit), "")) if base_quantity else "",
        ),
        vat_category=category,
        item=draw(items()),
        vat_rate=rate,
        note=draw(optional(texts(), "")),
        object_identifier=draw(
            optional(
                st.builds(
                    en16931.Identifier,
                    references("OBJ"),
                    optional(st.sampled_from(("AAA", "ABT")), ""),
                )
            )
        ),
        order_line_reference=draw(optional(st.integers(1, 99).map(str), "")),
        buyer_accounting_reference=draw(optional(references("ACC"), "")),
        period=draw(optional(periods())),
        allowances_charges=adjustments,
    )


@st.composite
def document_allowances_charges(draw, groups) -> en16931.AllowanceCharge:
    charge = draw(st.booleans())
    category, rate = draw(st.sampled_from(groups))
    reason = draw(optional(texts(), ""))
    reason_code = draw(optional(st.sampled_from(CHARGE_CODES if charge else ALLOWANCE_CODES), ""))
    if not reason and not reason_code:
        reason = "Remise globale" if not charge else "Frais de port"
    if draw(st.booleans()):
        base = draw(cents(0, 100_000))
        percentage = draw(numbers(1, 2000, 2))
        amount = round_cent(base * percentage / 100)
    else:
        base = percentage = None
        amount = draw(cents(0, 5_000))
    return en16931.AllowanceCharge(
        charge=charge,
        amount=amount,
        base_amount=base,
        percentage=percentage,
        vat_category=category,
        vat_rate=rate,
        reason=reason,
        reason_code=reason_code,
    )


@st.composite
def payment_instructions(draw) -> en16931.PaymentInstructions:
    code = draw(st.sampled_from(("30", "58", "48", "54", "49", "59", "10", "20", "1")))
    transfers: tuple[en16931.CreditTransfer, ...] = ()
    card = debit = None
    if code in ("30", "58"):
        transfers = tuple(
            draw(
                st.lists(
                    st.builds(
                        en16931.CreditTransfer,
                        st.one_of(
                            st.integers(10**22, 10**23 - 1).map(lambda n: f"FR76{n}"),
                            references("ACCOUNT"),
                        ),
                        optional(texts(), ""),
                        optional(st.sampled_from(("BNPAFRPP", "AGRIFRPP882", "DEUTDEFF")), ""),
                    ),
                    min_size=1,
                    max_size=2,
                )
            )
        )
    elif code in ("48", "54"):
        card = en16931.PaymentCard(
            primary_account_number=draw(st.integers(1000, 999_999).map(str)),
            holder_name=draw(optional(texts(), "")),
        )
    elif code in ("49", "59"):
        mandate, creditor, debited = draw(
            st.tuples(
                optional(references("MANDATE"), ""),
                optional(references("FR12ZZZ"), ""),
                optional(st.integers(10**22, 10**23 - 1).map(lambda n: f"FR76{n}"), ""),
            ).filter(any)
        )
        debit = en16931.DirectDebit(mandate, creditor, debited)
    return en16931.PaymentInstructions(
        means_code=code,
        means_text=draw(optional(texts(), "")),
        remittance_information=draw(optional(references("REM"), "")),
        credit_transfers=transfers,
        card=card,
        direct_debit=debit,
    )


@st.composite
def supporting_documents(draw) -> en16931.SupportingDocument:
    content = draw(optional(st.binary(min_size=1, max_size=64)))
    return en16931.SupportingDocument(
        reference=draw(references("DOC")),
        description=draw(optional(texts(), "")),
        external_location=draw(optional(references("https://example.org/doc"), "")),
        content=content,
        mime_code=draw(st.sampled_from(MIME_CODES)) if content is not None else "",
        filename=draw(references("piece")) + ".bin" if content is not None else "",
    )


@st.composite
def invoices(draw) -> en16931.Invoice:
    """A random invoice valid per EN 16931 (see the module's docstring)."""
    not_subject, groups = draw(_groups())
    categories = {category for category, _ in groups}
    type_code = draw(st.sampled_from(TYPE_CODES))
    currency = draw(st.sampled_from(CURRENCIES))

    # Lines: at least one per (category, rate).
    all_lines: list[en16931.Line] = []
    for category, rate in groups:
        for _ in range(draw(st.integers(1, 2))):
            all_lines.append(draw(lines(str(len(all_lines) + 1), category, rate)))
    adjustments = tuple(draw(st.lists(document_allowances_charges(groups), max_size=3)))

    breakdown = []
    for category, rate in groups:
        taxable = sum(
            (
                line.net_amount
                for line in all_lines
                if (line.vat_category, line.vat_rate) == (category, rate)
            ),
            Decimal("0.00"),
        )
        for ac in adjustments:
            if (ac.vat_category, ac.vat_rate) == (category, rate):
                taxable += ac.amount if ac.charge else -ac.amount
        tax = round_cent(taxable * rate / 100) if rate is not None else Decimal("0.00")
        reason = code = ""
        if category in NEEDS_EXEMPTION:
            reason = draw(optional(texts(), ""))
            code = draw(optional(st.sampled_from(EXEMPTION_CODES[category]), ""))
            if not reason and not code:
                code = EXEMPTION_CODES[category][0]
        breakdown.append(en16931.VatBreakdown(category, taxable, tax, rate, reason, code))

    line_total = sum((line.net_amount for line in all_lines), Decimal("0.00"))
    allowances = [ac.amount for ac in adjustments if not ac.charge]
    charges = [ac.amount for ac in adjustments if ac.charge]
    allowance_total = sum(allowances, Decimal("0.00")) if allowances else None
    charge_total = sum(charges, Decimal("0.00")) if charges else None
    tax_exclusive = line_total - (allowance_total or 0) + (charge_total or 0)
    vat_total = sum((vat.tax_amount for vat in breakdown), Decimal("0.00"))
    tax_inclusive = tax_exclusive + vat_total
    prepaid = draw(optional(cents(0, 50_000)))
    rounding = draw(optional(cents(-5, 5)))
    amount_due = tax_inclusive - (prepaid or 0) + (rounding or 0)
    accounting_currency = draw(
        optional(st.sampled_from(("EUR", "DKK", "SEK")).filter(lambda c: c != currency), "")
    )
    totals = en16931.DocumentTotals(
        line_total=line_total,
        tax_exclusive=tax_exclusive,
        tax_inclusive=tax_inclusive,
        amount_due=amount_due,
        allowance_total=allowance_total,
        charge_total=charge_total,
        vat_total=vat_total,
        vat_total_accounting=draw(cents(-100_000, 100_000)) if accounting_currency else None,
        prepaid=prepaid,
        rounding=rounding,
    )

    seller_country = draw(st.sampled_from(COUNTRIES))
    seller_vat = "" if not_subject else draw(vat_number(seller_country))
    schemeless = draw(st.lists(references("SID"), max_size=1))
    schemed = draw(st.lists(identifiers(scheme_required=True), max_size=2))
    seller_name = draw(texts())
    seller = en16931.Seller(
        name=seller_name,
        trading_name=draw(optional(texts(), "")),
        identifiers=tuple(en16931.Identifier(v) for v in schemeless) + tuple(schemed),
        legal_registration=draw(identifiers()),
        vat_identifier=seller_vat,
        tax_registration=draw(optional(references("FC"), "")),
        additional_legal_information=draw(optional(texts(), "")),
        electronic_address=draw(optional(electronic_addresses())),
        address=draw(addresses()),
        contact=draw(optional(contacts())),
    )
    buyer_country = draw(st.sampled_from(COUNTRIES))
    needs_buyer_vat = bool(categories & {"AE", "K"})
    buyer_vat = ""
    if needs_buyer_vat or (not not_subject and draw(st.booleans())):
        buyer_vat = draw(vat_number(buyer_country))
    buyer = en16931.Buyer(
        name=draw(texts()),
        trading_name=draw(optional(texts(), "")),
        identifier=draw(optional(identifiers())),
        legal_registration=draw(optional(identifiers())),
        vat_identifier=buyer_vat,
        electronic_address=draw(optional(electronic_addresses())),
        address=draw(addresses()),
        contact=draw(optional(contacts())),
    )

    invoicing_period = draw(optional(periods()))
    delivery = draw(
        optional(
            st.builds(
                en16931.Delivery,
                optional(texts(), ""),
                optional(identifiers()),
                optional(dates),
                optional(addresses()),
            ).filter(lambda d: d != en16931.Delivery())
        )
    )
    if "K" in categories:
        delivery = en16931.Delivery(
            party_name=delivery.party_name if delivery else "",
            location=delivery.location if delivery else None,
            date=(delivery.date if delivery else None)
            or (None if invoicing_period else draw(dates)),
            address=(delivery.address if delivery else None) or draw(addresses()),
        )

    payment = draw(optional(payment_instructions()))
    due_date = draw(optional(dates))
    if type_code in en16931.CREDIT_NOTE_TYPE_CODES and payment is None:
        due_date = None
    payment_terms = draw(optional(texts(60), ""))
    if due_date is None and not payment_terms:
        payment_terms = "Paiement à 30 jours"
    tax_point_date = tax_point_code = None
    choice = draw(st.integers(0, 2))
    if choice == 1:
        tax_point_date = draw(dates)
    elif choice == 2:
        tax_point_code = draw(st.sampled_from(("3", "35", "432")))

    return en16931.Invoice(
        number=draw(references("F")),
        issue_date=draw(dates),
        type_code=type_code,
        currency=currency,
        seller=seller,
        buyer=buyer,
        totals=totals,
        vat_breakdown=tuple(breakdown),
        lines=tuple(all_lines),
        business_process=draw(
            optional(
                st.sampled_from(("A1", "S1", "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0")), ""
            )
        ),
        vat_accounting_currency=accounting_currency,
        tax_point_date=tax_point_date,
        tax_point_date_code=tax_point_code or "",
        due_date=due_date,
        buyer_reference=draw(optional(references("SERV"), "")),
        project_reference=draw(optional(references("PROJ"), "")),
        contract_reference=draw(optional(references("CONTRACT"), "")),
        purchase_order_reference=draw(optional(references("PO"), "")),
        sales_order_reference=draw(optional(references("SO"), "")),
        receiving_advice_reference=draw(optional(references("REC"), "")),
        despatch_advice_reference=draw(optional(references("DES"), "")),
        tender_reference=draw(optional(references("LOT"), "")),
        invoiced_object=draw(
            optional(
                st.builds(
                    en16931.Identifier,
                    references("OBJ"),
                    optional(st.sampled_from(("AAA", "ABT")), ""),
                )
            )
        ),
        buyer_accounting_reference=draw(optional(references("ACC"), "")),
        payment_terms=payment_terms,
        notes=tuple(
            draw(
                st.lists(
                    st.builds(
                        en16931.Note, texts(60), optional(st.sampled_from(NOTE_SUBJECTS), "")
                    ),
                    max_size=2,
                )
            )
        ),
        preceding_invoices=tuple(
            draw(
                st.lists(
                    st.builds(en16931.PrecedingInvoice, references("F"), optional(dates)),
                    max_size=2,
                )
            )
        ),
        payee=draw(
            optional(
                st.builds(
                    en16931.Payee,
                    texts().map(lambda t: f"Bénéficiaire {t}").filter(lambda t: t != seller_name),
                    # BR-17 (CEN CII): a payee is another party than the seller, so none of
                    # its identifiers may be one of the seller's.
                    optional(identifiers().map(_payee_identifier)),
                    optional(identifiers().map(_payee_identifier)),
                )
            )
        ),
        tax_representative=None
        if not_subject
        else draw(
            optional(
                st.builds(
                    en16931.TaxRepresentative,
                    texts(),
                    st.sampled_from(COUNTRIES).flatmap(vat_number),
                    addresses(),
                )
            )
        ),
        delivery=delivery,
        invoicing_period=invoicing_period,
        payment_instructions=payment,
        allowances_charges=adjustments,
        supporting_documents=tuple(draw(st.lists(supporting_documents(), max_size=2))),
    )
