"""Reading values out of a parsed invoice: text, decimals, dates, by namespaced XPath.

A reader is bound to one syntax's prefixes; every miss is "" (or None) so mapping states
what it found and leaves judging absence to validation. A value present but unusable raises
``DOCUMENT_VALUE_INVALID`` with its path: a non-decimal amount, a number beyond
:data:`MAX_INTEGER_DIGITS` / :data:`MAX_FRACTION_DIGITS` (no invoice amount or quantity
comes near, and the EN 16931 arithmetic must stay exact), a date that does not exist.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from chorus_invoices.documents.formats import DocumentRejected

# How paths name elements in messages: UBL's root namespaces unprefixed, the rest as usual.
PREFIXES = {
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2": "",
    "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2": "",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2": "cac:",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2": "cbc:",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2": "ext:",
    "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100": "rsm:",
    "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100": "ram:",
    "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100": "udt:",
    "urn:un:unece:uncefact:data:standard:QualifiedDataType:100": "qdt:",
}


def readable_path(element: etree._Element) -> str:
    """``/Invoice[1]/cac:AllowanceCharge[1]``: the element's path with the usual prefixes."""
    steps = []
    node: etree._Element | None = element
    while node is not None:
        qname = etree.QName(node)
        parent = node.getparent()
        position = 1 if parent is None else parent.findall(node.tag).index(node) + 1
        steps.append(f"{PREFIXES.get(qname.namespace or '', '')}{qname.localname}[{position}]")
        node = parent
    return "/" + "/".join(reversed(steps))


MAX_INTEGER_DIGITS = 15
MAX_FRACTION_DIGITS = 10


class Reader:
    def __init__(self, namespaces: dict[str, str]) -> None:
        self._namespaces = namespaces

    def all(self, node: etree._Element | None, path: str) -> list[etree._Element]:
        if node is None:
            return []
        return node.xpath(path, namespaces=self._namespaces)

    def first(self, node: etree._Element | None, path: str) -> etree._Element | None:
        found = self.all(node, path)
        return found[0] if found else None

    def text(self, node: etree._Element | None, path: str) -> str:
        if node is None:
            return ""
        found = self.first(node, path)
        return " ".join((found.text or "").split()) if found is not None else ""

    def string(self, node: etree._Element | None, path: str) -> str:
        """The text at ``path`` as written, only its leading and trailing whitespace removed
        (the EN 16931 model keeps a term exactly as stated); "" when absent."""
        if node is None:
            return ""
        found = self.first(node, path)
        return (found.text or "").strip() if found is not None else ""

    def optional_decimal(self, node: etree._Element | None, path: str) -> Decimal | None:
        """The number at ``path`` exactly as written (``12.50`` stays ``12.50``); None when
        absent or empty. Same limits as :meth:`decimal`."""
        if not self.string(node, path):
            return None
        return self.decimal(node, path)

    def decimal(self, node: etree._Element | None, path: str, default: str = "0") -> Decimal:
        value = self.string(node, path)
        if not value:
            return Decimal(default)
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise _value_invalid(node, path, f"Montant ou quantité illisible « {value[:40]} »")
        _, digits, exponent = number.as_tuple()
        integer_digits = len(digits) + exponent if isinstance(exponent, int) else 0
        if integer_digits > MAX_INTEGER_DIGITS:
            # beyond any invoice: refused like the cap on amounts (domain.amounts), by name
            where = f"{readable_path(node) if node is not None else ''}/{path}"
            raise DocumentRejected(
                "AMOUNT_TOO_LARGE",
                f"Montant ou quantité hors limites « {value[:40]} » : le plafond est de"
                " 999 999 999 999,99 (12 chiffres avant la virgule)"
                f" ({where}).",
                field=where,
            )
        if -exponent > MAX_FRACTION_DIGITS:
            raise _value_invalid(
                node,
                path,
                f"Montant ou quantité hors limites « {value[:40]} » ({MAX_INTEGER_DIGITS}"
                f" chiffres avant la virgule et {MAX_FRACTION_DIGITS} après, au plus)",
            )
        return number

    def date_value(self, node: etree._Element | None, path: str) -> date | None:
        """The date at ``path`` (``2024-01-15`` or ``20240115``); None when absent,
        DOCUMENT_VALUE_INVALID when present but not a date that exists."""
        value = self.text(node, path)
        if not value:
            return None
        found = iso_date(value)
        if found is None:
            raise _value_invalid(node, path, f"Date illisible ou inexistante « {value[:40]} »")
        return found


def _value_invalid(node: etree._Element | None, path: str, what: str) -> DocumentRejected:
    where = f"{readable_path(node) if node is not None else ''}/{path}"
    return DocumentRejected("DOCUMENT_VALUE_INVALID", f"{what} ({where}).", field=where)


def iso_date(text: str) -> date | None:
    """``2024-01-15`` (UBL; an ``xs:date`` time zone such as ``Z`` or ``+01:00`` is ignored)
    or ``20240115`` (CII format 102) as a date; None otherwise."""
    text = text.strip()
    if len(text) > 10 and text[10] in "Z+-" and text[4:5] == "-":
        text = text[:10]
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None
