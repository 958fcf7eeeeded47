"""Factur-X: an invoice's EN 16931 model as CII XML (EN 16931 profile) inside its PDF/A-3
rendering.

:func:`make_facturx_model` is CPU-bound (PDF layout and writing are pure Python) and meant to
run in a document worker process. The XML is ``cii_writer.write_model`` of the model, checked
against the Factur-X EN 16931 XSD (the schema compiled once per process) before being embedded
by the ``factur-x`` library, which adds the Factur-X XMP metadata and the ``/AF`` relationship
PDF/A-3 requires; the page is ``pdf_rendering.render_pdf`` of the same model, so it states what
the XML states. :func:`make_facturx_of_xml` renders
the Factur-X of an XML written before (a portal invoice's CII document, rendered off the request
path). :func:`read_facturx_model` is the way back, through the same detection and mapping as a
deposit.
"""

from __future__ import annotations

from dataclasses import dataclass

from chorus_invoices.documents import mapping
from chorus_invoices.documents.cii_writer import write_model
from chorus_invoices.documents.formats import DocumentKind, DocumentRejected, detect
from chorus_invoices.documents.validation import artefacts, xsd_errors
from chorus_invoices.documents.xml_safety import parse_xml
from chorus_invoices.domain import en16931

FACTURX_LEVEL = "en16931"


@dataclass(frozen=True)
class FacturX:
    pdf: bytes
    xml: bytes


def make_facturx_model(model: en16931.Invoice) -> FacturX:
    """The Factur-X PDF (and its XML) of an invoice's whole EN 16931 model."""
    xml = write_model(model)
    return FacturX(_embedded(model, _checked(xml)), xml)


def make_facturx_of_xml(xml: bytes) -> bytes:
    """The Factur-X PDF of a portal invoice's canonical CII XML (the CII document written at
    its deposit by ``write_model``), embedding that very XML: the page is rendered from the
    model the XML states (read back through the same detection and mapping as a deposit,
    which gives the model written)."""
    model = mapping.read_model(detect(_checked(xml)))
    return _embedded(model, xml)


def _checked(xml: bytes) -> bytes:
    problems = xsd_errors(artefacts(DocumentKind.CII, FACTURX_LEVEL).xsd, parse_xml(xml))
    if problems:
        # Our own writer broke the schema: a bug, not the supplier's doing.
        raise RuntimeError(f"generated CII is not schema-valid: {problems[0]}")
    return xml


def _embedded(model: en16931.Invoice, xml: bytes) -> bytes:
    """The page of ``model`` as PDF/A-3 with ``xml`` embedded as its Factur-X."""
    # Heavy (fpdf, fontTools, pypdf): loaded by the workers that render, not the server.
    from facturx import generate_from_binary

    from chorus_invoices.documents.pdf_rendering import document_title, render_pdf

    seller, title = model.seller.name, document_title(model.type_code)
    return generate_from_binary(
        render_pdf(model),
        xml,
        flavor="factur-x",
        level=FACTURX_LEVEL,
        check_xsd=False,
        pdf_metadata={
            "author": seller,
            "keywords": "Factur-X, facture",
            "title": f"{seller} : {title.lower()} {model.number}",
            "subject": f"{title} {model.number} du {model.issue_date:%d/%m/%Y} — {seller}",
        },
        lang="fr-FR",
    )


def read_facturx_model(pdf: bytes) -> en16931.Invoice:
    """The EN 16931 model a Factur-X PDF states, read like a deposited file."""
    document = detect(pdf)
    if document.kind is not DocumentKind.FACTURX:
        raise DocumentRejected("FORMAT_UNSUPPORTED", "Le fichier n'est pas un PDF Factur-X.")
    return mapping.read_model(document)
