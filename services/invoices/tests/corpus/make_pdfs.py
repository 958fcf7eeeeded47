"""Regenerates the PDF files of this corpus from its XML files.

    .venv/bin/python services/invoices/tests/corpus/make_pdfs.py

The human-readable page comes from the service's own renderer; the XML is embedded as it is
in the corpus (valid or not) with the factur-x library, or with pypdf for the hostile cases
the factur-x library would refuse to embed.
"""

from __future__ import annotations

import io
from pathlib import Path

from chorus_invoices.documents.formats import detect
from chorus_invoices.documents.mapping import extract
from chorus_invoices.documents.pdf_rendering import render_pdf
from facturx import generate_from_binary
from pypdf import PdfReader, PdfWriter

HERE = Path(__file__).parent
METADATA = {"author": "Chorus", "keywords": "Factur-X", "title": "Corpus", "subject": "Corpus"}


def facturx(xml_file: str) -> bytes:
    xml = (HERE / xml_file).read_bytes()
    page = render_pdf(extract(detect(xml)))
    return generate_from_binary(
        page, xml, flavor="factur-x", level="en16931", check_xsd=False, pdf_metadata=METADATA
    )


def with_attachment(pdf: bytes, name: str, data: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_attachment(name, data)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted(pdf: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def main() -> None:
    valid = facturx("valid/cii-invoice.xml")
    (HERE / "valid/facturx-invoice.pdf").write_bytes(valid)
    (HERE / "invalid/facturx-br-co-10-line-sum.pdf").write_bytes(
        facturx("invalid/cii-br-co-10-line-sum.xml")
    )
    plain = render_pdf(extract(detect((HERE / "valid/cii-invoice.xml").read_bytes())))
    (HERE / "invalid/plain-no-xml.pdf").write_bytes(plain)
    (HERE / "hostile/encrypted.pdf").write_bytes(encrypted(valid))
    (HERE / "hostile/facturx-xxe.pdf").write_bytes(
        with_attachment(plain, "factur-x.xml", (HERE / "hostile/xxe-file.xml").read_bytes())
    )


if __name__ == "__main__":
    main()
