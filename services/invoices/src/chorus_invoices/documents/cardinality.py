"""Elements EN 16931 allows once, that the syntax's XSD lets a file repeat, and that the
official schematron cannot survive repeated.

The CEN UBL schematron states these limits itself (``UBL-SR-09`` "Seller name shall occur
maximum once"…), but an earlier assert of the same stylesheet evaluates ``normalize-space()``
over the element, and XPath 2.0 raises a dynamic error (XPTY0004) on a sequence of two: the
transform stops without a report. So these few are counted here, before the schematron runs,
and a file that repeats one is refused with the rule the schematron would have given
(``DOCUMENT_ELEMENT_REPEATED``, one violation per repeated element, at its second
occurrence). The list was found by repeating, one at a time, every element of the CEN's own
example invoices (ConnectingEurope/eInvoicing-EN16931 ``ubl/examples``, ``cii/examples``)
and running the XSD and the schematron: these are the repetitions the XSD accepts and the
schematron dies on. CII has none listed: its Factur-X XSDs limit nearly every such element
(the CEN CII schematron still dies on a repeated tax representative VAT id, BT-63, which the
XSD lets through). A repetition missing from this list cannot crash anything: the
schematron's error is refused as ``VALIDATION_ENGINE_FAILED``, naming the file
(:mod:`~chorus_invoices.documents.validation`).
"""

from __future__ import annotations

from dataclasses import dataclass

from chorus_platform.errors import FieldViolation, InvalidArgument
from lxml import etree

from chorus_invoices.documents.formats import StructuredDocument, Syntax
from chorus_invoices.documents.xpaths import readable_path

_UBL = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_SELLER = "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity"
_BUYER = "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity"


@dataclass(frozen=True)
class OnceOnly:
    rule: str
    """The CEN rule that limits it (as the schematron would name it)."""
    path: str
    """From the root; every match counts."""
    label: str
    """What it is, in French, with its business term."""


UBL_ONCE_ONLY = (
    OnceOnly("UBL-SR-09", f"{_SELLER}/cbc:RegistrationName", "Le nom légal du vendeur (BT-27)"),
    OnceOnly("UBL-SR-11", f"{_SELLER}/cbc:CompanyID", "L'identifiant légal du vendeur (BT-30)"),
    OnceOnly("UBL-SR-15", f"{_BUYER}/cbc:RegistrationName", "Le nom légal de l'acheteur (BT-44)"),
    OnceOnly("UBL-SR-17", f"{_BUYER}/cbc:CompanyID", "L'identifiant légal de l'acheteur (BT-47)"),
    OnceOnly(
        "UBL-SR-22",
        "cac:TaxRepresentativeParty/cac:PartyName/cbc:Name",
        "Le nom du représentant fiscal du vendeur (BT-62)",
    ),
)


def repeated(document: StructuredDocument) -> list[tuple[OnceOnly, etree._Element, int]]:
    """Each limited element the document repeats: (limit, second occurrence, count)."""
    if document.syntax is not Syntax.UBL:
        return []
    found = []
    for limit in UBL_ONCE_ONLY:
        matches = document.root.xpath(limit.path, namespaces=_UBL)
        if len(matches) > 1:
            found.append((limit, matches[1], len(matches)))
    return found


class ElementRepeated(InvalidArgument):
    def __init__(self, found: list[tuple[OnceOnly, etree._Element, int]]) -> None:
        rules = sorted({limit.rule for limit, _, _ in found})
        first, _, count = found[0]
        super().__init__(
            "DOCUMENT_ELEMENT_REPEATED",
            f"{first.label} figure {count} fois dans le fichier ; la norme EN 16931 n'en admet"
            " qu'un. Gardez une seule occurrence de chaque élément signalé.",
            [
                FieldViolation(
                    readable_path(element),
                    f"[{limit.rule}] {limit.label} figure {count} fois ; un seul est admis.",
                )
                for limit, element, count in found
            ],
            metadata={"rules": ",".join(rules)},
        )


def check_once_only(document: StructuredDocument) -> None:
    """InvalidArgument DOCUMENT_ELEMENT_REPEATED when the document repeats a limited element."""
    found = repeated(document)
    if found:
        raise ElementRepeated(found)
