"""From a structured document to the invoices domain: what it states, and whether its sums hold.

:func:`extract` reads UBL or CII into a :class:`DocumentInvoice` (the French CIUS places: the
recipient's service code in BT-10 buyer reference, the engagement number in BT-13 purchase
order reference, SIRETs under scheme ``0009``); ``DocumentInvoice.to_form()`` is then the
portal form the domain validates like any other. Features the domain does not carry
(allowances and charges, prepaid or rounding amounts) are refused rather than dropped:
``DOCUMENT_CONTENT_UNSUPPORTED``.

:func:`check_totals` recomputes every amount with :mod:`chorus_invoices.domain.totals` from
the document's quantities, prices and rates, and refuses a document whose stated amounts
differ (``TOTALS_MISMATCH``, one field violation per differing amount).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_invoices.documents import cii_reader, ubl_reader
from chorus_invoices.documents.content import DocumentInvoice
from chorus_invoices.documents.formats import StructuredDocument, Syntax
from chorus_invoices.documents.xpaths import readable_path
from chorus_invoices.domain.totals import Totals, compute_totals, format_rate, line_net

_UNSUPPORTED = {Syntax.CII: cii_reader.UNSUPPORTED, Syntax.UBL: ubl_reader.UNSUPPORTED}
_NAMESPACES = {Syntax.CII: cii_reader.NAMESPACES, Syntax.UBL: ubl_reader.NAMESPACES}


def extract(document: StructuredDocument) -> DocumentInvoice:
    """What the document states, or InvalidArgument DOCUMENT_CONTENT_UNSUPPORTED /
    DOCUMENT_VALUE_INVALID."""
    reader = cii_reader if document.syntax is Syntax.CII else ubl_reader
    unsupported = [
        FieldViolation(readable_path(found), f"Non pris en charge : {what}.")
        for path, what in _UNSUPPORTED[document.syntax].items()
        for found in document.root.xpath(path, namespaces=_NAMESPACES[document.syntax])[:1]
    ]
    invoice = reader.read(document.root)
    if invoice.totals.prepaid:
        unsupported.append(
            FieldViolation("totals.prepaid", "Non pris en charge : acompte (BT-113).")
        )
    if invoice.totals.rounding:
        unsupported.append(
            FieldViolation("totals.rounding", "Non pris en charge : arrondi (BT-114).")
        )
    if unsupported:
        raise InvalidArgument(
            "DOCUMENT_CONTENT_UNSUPPORTED",
            "La facture utilise des éléments que Chorus ne reprend pas encore ("
            + " ; ".join(
                v.description.removeprefix("Non pris en charge : ").rstrip(".") for v in unsupported
            )
            + ") : déposez-la sans eux, ou en PDF.",
            unsupported,
        )
    return invoice


def recomputed_totals(invoice: DocumentInvoice) -> Totals:
    """The invoice's totals as the domain computes them from quantities, prices and rates."""
    return compute_totals(
        (line_net(line.quantity, line.unit_price), line.vat_rate) for line in invoice.lines
    )


def check_totals(invoice: DocumentInvoice) -> Totals:
    """The recomputed totals when the document agrees with them; InvalidArgument
    TOTALS_MISMATCH listing every differing amount otherwise."""
    computed = recomputed_totals(invoice)
    mismatches = list(_mismatches(invoice, computed))
    if mismatches:
        raise InvalidArgument(
            "TOTALS_MISMATCH",
            f"Les montants du document ne correspondent pas au calcul EN 16931"
            f" ({len(mismatches)} écart(s)) : corrigez-les avant de redéposer.",
            mismatches,
        )
    return computed


def _mismatches(invoice: DocumentInvoice, computed: Totals) -> Iterator[FieldViolation]:
    for i, line in enumerate(invoice.lines):
        yield from _differs(
            f"lines[{i}].net_amount",
            "BT-131",
            line.net_amount,
            line_net(line.quantity, line.unit_price),
        )
    stated = invoice.totals
    yield from _differs("totals.line_total", "BT-106", stated.line_total, computed.net_total)
    yield from _differs("totals.tax_exclusive", "BT-109", stated.tax_exclusive, computed.net_total)
    stated_rates = {v.rate.normalize(): v for v in stated.vat_breakdown}
    computed_rates = {v.rate.normalize(): v for v in computed.vat_breakdown}
    for rate in sorted(stated_rates.keys() | computed_rates.keys(), reverse=True):
        path = f"totals.vat_breakdown[{format_rate(rate)}]"
        if rate not in stated_rates:
            yield FieldViolation(
                path, f"Ventilation de TVA manquante pour le taux {format_rate(rate)} % (BG-23)."
            )
        elif rate not in computed_rates:
            yield FieldViolation(
                path,
                f"Ventilation de TVA au taux {format_rate(rate)} % sans ligne à ce taux (BG-23).",
            )
        else:
            yield from _differs(
                f"{path}.base", "BT-116", stated_rates[rate].base, computed_rates[rate].base
            )
            yield from _differs(
                f"{path}.amount", "BT-117", stated_rates[rate].amount, computed_rates[rate].amount
            )
    yield from _differs("totals.vat_total", "BT-110", stated.vat_total, computed.vat_total)
    yield from _differs("totals.gross_total", "BT-112", stated.gross_total, computed.gross_total)
    yield from _differs("totals.amount_due", "BT-115", stated.amount_due, computed.amount_due)


def _differs(field: str, term: str, stated: Decimal, computed: Decimal) -> Iterator[FieldViolation]:
    if stated != computed:
        yield FieldViolation(
            field, f"Le document indique {stated}, le calcul EN 16931 donne {computed} ({term})."
        )
