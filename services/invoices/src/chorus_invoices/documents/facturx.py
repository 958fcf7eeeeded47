"""Factur-X: the portal invoice as CII XML (EN 16931 profile) inside its PDF/A-3 rendering.

:func:`make_facturx` is CPU-bound (PDF layout and writing are pure Python) and meant to run in
a document worker process. The XML is checked against the Factur-X EN 16931 XSD (the schema
compiled once per process) before being embedded by the ``factur-x`` library, which adds the
Factur-X XMP metadata and the ``/AF`` relationship PDF/A-3 requires.
:func:`read_facturx` is the way back, through the same detection and mapping as a deposit.
"""

from __future__ import annotations

from dataclasses import dataclass

from chorus_invoices.documents import mapping
from chorus_invoices.documents.cii_writer import build_cii, document_from_content, write_model
from chorus_invoices.documents.content import DocumentInvoice, PartyDetails, document_of_model
from chorus_invoices.documents.formats import DocumentKind, DocumentRejected, detect
from chorus_invoices.documents.validation import artefacts, xsd_errors
from chorus_invoices.documents.xml_safety import parse_xml
from chorus_invoices.domain import en16931
from chorus_invoices.domain.invoice import InvoiceContent

FACTURX_LEVEL = "en16931"


@dataclass(frozen=True)
class FacturX:
    pdf: bytes
    xml: bytes


def make_facturx(
    content: InvoiceContent,
    seller: PartyDetails,
    buyer: PartyDetails,
    *,
    preceding_invoice: str = "",
    vat_exemption_reason: str = "",
) -> FacturX:
    """The Factur-X PDF (and its XML) of a portal invoice."""
    invoice = document_from_content(
        content,
        seller,
        buyer,
        preceding_invoice=preceding_invoice,
        vat_exemption_reason=vat_exemption_reason,
    )
    return facturx_of(invoice)


def make_facturx_model(model: en16931.Invoice) -> FacturX:
    """The Factur-X PDF (and its XML) of an invoice's whole EN 16931 model: the XML is
    ``cii_writer.write_model`` of it, the PDF shows what :func:`document_of_model` gives."""
    return facturx_of(document_of_model(model), write_model(model))


def facturx_of(invoice: DocumentInvoice, xml: bytes | None = None) -> FacturX:
    xml = xml if xml is not None else build_cii(invoice)
    problems = xsd_errors(artefacts(DocumentKind.CII, FACTURX_LEVEL).xsd, parse_xml(xml))
    if problems:
        # Our own writer broke the schema: a bug, not the supplier's doing.
        raise RuntimeError(f"generated CII is not schema-valid: {problems[0]}")
    # Heavy (fpdf, fontTools, pypdf): loaded by the workers that render, not the server.
    from facturx import generate_from_binary

    from chorus_invoices.documents.pdf_rendering import render_pdf

    pdf = generate_from_binary(
        render_pdf(invoice),
        xml,
        flavor="factur-x",
        level=FACTURX_LEVEL,
        check_xsd=False,
        pdf_metadata={
            "author": invoice.seller.name,
            "keywords": "Factur-X, facture",
            "title": f"{invoice.seller.name} : facture {invoice.number}",
            "subject": f"Facture {invoice.number} du {invoice.issue_date:%d/%m/%Y}"
            f" émise par {invoice.seller.name}",
        },
        lang="fr-FR",
    )
    return FacturX(pdf, xml)


def read_facturx_model(pdf: bytes) -> en16931.Invoice:
    """The EN 16931 model a Factur-X PDF states, read like a deposited file."""
    document = detect(pdf)
    if document.kind is not DocumentKind.FACTURX:
        raise DocumentRejected("FORMAT_UNSUPPORTED", "Le fichier n'est pas un PDF Factur-X.")
    return mapping.read_model(document)


def read_facturx(pdf: bytes) -> DocumentInvoice:
    """What a Factur-X PDF shows (:func:`document_of_model` of its model)."""
    return document_of_model(read_facturx_model(pdf))
