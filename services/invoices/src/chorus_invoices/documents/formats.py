"""What a deposited file is: UBL 2.1 Invoice or CreditNote, UN/CEFACT CII, or a Factur-X PDF.

XML is recognised by its root element and namespace (after the safe parse of
:mod:`~chorus_invoices.documents.xml_safety`), a PDF by its ``%PDF-`` header. A PDF must open
(``PDF_MALFORMED``), be unencrypted (``PDF_ENCRYPTED``) and, to count as Factur-X, carry an
embedded ``factur-x.xml`` (or ``zugferd-invoice.xml`` / ``xrechnung.xml``), which then goes
through the same safe parse as any XML — pypdf reads the attachment, never an XML parser of its
own choosing. CII documents name their profile (BT-24); MINIMUM and BASIC WL carry no invoice
lines and are not invoices EN 16931 accepts (``PROFILE_UNSUPPORTED``). A plain CII file whose
BT-24 names no Factur-X profile (a CIUS, a ZUGFeRD 1 "comfort" id — the CEN's own examples
carry one) is an EN 16931 invoice like any other: level ``en16931``, the CEN schematron
decides. A Factur-X PDF must name its profile: its profile schematron depends on it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from enum import StrEnum

from chorus_platform.errors import FieldViolation, InvalidArgument
from lxml import etree

from chorus_invoices.documents.xml_safety import (
    XmlLimits,
    canonical_bytes,
    parse_xml,
    readable_size,
)

UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
PDF_MAGIC = b"%PDF-"
# The PDF header may follow a few bytes of junk (ISO 32000-1, 7.5.2 tolerance of readers).
PDF_MAGIC_WINDOW = 1024
DEFAULT_MAX_PDF_BYTES = 10 * 1024 * 1024
EMBEDDED_XML_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")
CII_LEVELS = ("basic", "en16931", "extended", "extended-ctc-fr")
# Factur-X profiles without invoice lines: not invoices EN 16931 accepts.
INCOMPLETE_LEVELS = ("minimum", "basicwl")
EN16931_LEVEL = "en16931"
UBL_LEVEL = EN16931_LEVEL


class DocumentKind(StrEnum):
    UBL_INVOICE = "UBL_INVOICE"
    UBL_CREDIT_NOTE = "UBL_CREDIT_NOTE"
    CII = "CII"
    FACTURX = "FACTURX"
    """A PDF carrying CII XML."""


class Syntax(StrEnum):
    UBL = "UBL"
    CII = "CII"


_SYNTAX = {
    DocumentKind.UBL_INVOICE: Syntax.UBL,
    DocumentKind.UBL_CREDIT_NOTE: Syntax.UBL,
    DocumentKind.CII: Syntax.CII,
    DocumentKind.FACTURX: Syntax.CII,
}


@dataclass(frozen=True)
class StructuredDocument:
    kind: DocumentKind
    level: str
    """Profile: ``en16931`` for UBL; the Factur-X level (``basic``, ``en16931``…) for CII."""
    xml: bytes
    """The invoice XML, re-serialised from the safe parse (no DOCTYPE)."""
    root: etree._Element = field(repr=False, compare=False)
    pdf: bytes | None = field(default=None, repr=False)

    @property
    def syntax(self) -> Syntax:
        return _SYNTAX[self.kind]


@dataclass(frozen=True)
class PdfContent:
    pages: int
    embedded_xml: bytes | None
    """The first attachment named like a Factur-X XML, as stored (not parsed yet)."""


@dataclass(frozen=True)
class DocumentLimits:
    xml: XmlLimits = field(default_factory=XmlLimits)
    max_pdf_bytes: int = DEFAULT_MAX_PDF_BYTES


class DocumentRejected(InvalidArgument):
    def __init__(self, reason: str, message: str, field: str = "file") -> None:
        super().__init__(reason, message, [FieldViolation(field, message)])


def is_pdf(data: bytes) -> bool:
    return PDF_MAGIC in data[:PDF_MAGIC_WINDOW]


def detect(data: bytes, limits: DocumentLimits | None = None) -> StructuredDocument:
    """The structured invoice in ``data`` (XML, or PDF with embedded XML), or
    InvalidArgument: the xml_safety reasons, PDF_MALFORMED, PDF_ENCRYPTED, PDF_TOO_LARGE,
    FACTURX_XML_MISSING, FORMAT_UNSUPPORTED, PROFILE_UNSUPPORTED."""
    limits = limits or DocumentLimits()
    if is_pdf(data):
        content = read_pdf(data, limits.max_pdf_bytes)
        if content.embedded_xml is None:
            raise DocumentRejected(
                "FACTURX_XML_MISSING",
                "Ce PDF ne contient pas de XML Factur-X (factur-x.xml) : déposez une facture"
                " Factur-X, ou le PDF seul par le dépôt de PDF.",
            )
        document = _from_xml(content.embedded_xml, limits.xml, embedded=True)
        if document.kind is not DocumentKind.CII:
            raise DocumentRejected(
                "FORMAT_UNSUPPORTED", "Le XML joint au PDF n'est pas une facture CII Factur-X."
            )
        return StructuredDocument(
            DocumentKind.FACTURX, document.level, document.xml, document.root, pdf=data
        )
    return _from_xml(data, limits.xml)


def read_pdf(data: bytes, max_bytes: int = DEFAULT_MAX_PDF_BYTES) -> PdfContent:
    """Opens a PDF the way a deposit needs: readable, not encrypted, within size; returns its
    page count and embedded Factur-X XML if any."""
    if len(data) > max_bytes:
        raise DocumentRejected(
            "PDF_TOO_LARGE", f"Le PDF dépasse la taille autorisée ({readable_size(max_bytes)})."
        )
    if not is_pdf(data):
        raise DocumentRejected("PDF_MALFORMED", "Le fichier n'est pas un PDF.")
    from pypdf import PdfReader  # heavy: only processes that read PDFs load it (workers)

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise DocumentRejected(
                "PDF_ENCRYPTED",
                "Le PDF est chiffré ou protégé par mot de passe : déposez-le sans protection.",
            )
        pages = len(reader.pages)
        attachments = reader.attachments
    except DocumentRejected:
        raise
    except Exception:  # pypdf raises many kinds on broken files; all mean the same here.
        raise DocumentRejected(
            "PDF_MALFORMED", "Le PDF est illisible ou endommagé : vérifiez le fichier."
        ) from None
    if pages < 1:
        raise DocumentRejected("PDF_MALFORMED", "Le PDF ne contient aucune page.")
    return PdfContent(pages, _embedded_invoice_xml(attachments))


def _embedded_invoice_xml(attachments) -> bytes | None:
    by_name = {name.casefold(): contents for name, contents in attachments.items()}
    for wanted in EMBEDDED_XML_NAMES:
        contents = by_name.get(wanted)
        if contents:
            return contents[0]
    return None


def _from_xml(data: bytes, limits: XmlLimits, embedded: bool = False) -> StructuredDocument:
    root = parse_xml(data, limits)
    kind = _kind_of(root)
    if kind is None:
        raise DocumentRejected(
            "FORMAT_UNSUPPORTED",
            "Format non reconnu : déposez une facture UBL 2.1 (Invoice ou CreditNote), CII"
            " (CrossIndustryInvoice D16B) ou un PDF Factur-X.",
        )
    level = UBL_LEVEL if _SYNTAX[kind] is Syntax.UBL else _cii_level(root, embedded)
    return StructuredDocument(kind, level, canonical_bytes(root), root)


def _kind_of(root: etree._Element) -> DocumentKind | None:
    if not isinstance(root.tag, str):
        return None
    return {
        f"{{{UBL_INVOICE_NS}}}Invoice": DocumentKind.UBL_INVOICE,
        f"{{{UBL_CREDIT_NOTE_NS}}}CreditNote": DocumentKind.UBL_CREDIT_NOTE,
        f"{{{CII_NS}}}CrossIndustryInvoice": DocumentKind.CII,
    }.get(root.tag)


def _cii_level(root: etree._Element, embedded: bool) -> str:
    try:
        from facturx.facturx import get_level  # heavy (pypdf): workers only

        level = get_level(root, "factur-x")
    except Exception:
        level = ""
    if level in CII_LEVELS:
        return level
    if not embedded and level not in INCOMPLETE_LEVELS:
        # No Factur-X invoice profile named: an EN 16931 invoice, for the schematron to judge.
        return EN16931_LEVEL
    raise DocumentRejected(
        "PROFILE_UNSUPPORTED",
        "Profil CII non accepté (BT-24) : utilisez le profil EN 16931 (ou BASIC, EXTENDED)"
        " ; les profils MINIMUM et BASIC WL ne sont pas des factures complètes.",
    )
