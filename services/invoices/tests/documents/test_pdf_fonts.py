"""Fonts parsed once per process and subset once per glyph set: the PDF is the one fpdf
writes, and invoices written with the seeded characters share one subset."""

from __future__ import annotations

import io
import re
from dataclasses import replace

from chorus_invoices.documents import pdf_fonts, pdf_rendering
from chorus_invoices.documents.pdf_rendering import render_pdf
from fpdf.output import OutputProducer
from pypdf import PdfReader

from .. import en16931_samples as samples


def fpdf_as_is(monkeypatch) -> None:
    """render_pdf with fpdf's own add_font and output (each font parsed and subset anew)."""
    monkeypatch.setattr(
        pdf_rendering,
        "add_shared_font",
        lambda pdf, family, style, path: pdf.add_font(family, style, path),
    )
    monkeypatch.setattr(pdf_rendering, "SubsetCachingProducer", OutputProducer)


_MOMENTS = re.compile(rb"D:\d{14}|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d|/ID \[<\w+><\w+>\]")


def undated(pdf: bytes) -> bytes:
    """The PDF without its creation moments and the file id made from them (the seconds may
    tick between two renders)."""
    return _MOMENTS.sub(b"<moment>", pdf)


def test_without_seed_the_shared_fonts_write_byte_for_byte_what_fpdf_writes(monkeypatch):
    model = samples.credit_note("F-FONTS-1")
    monkeypatch.setattr(pdf_fonts, "SEEDED", "")
    made, again = render_pdf(model), render_pdf(model)  # the second from the cached subset
    fpdf_as_is(monkeypatch)

    assert undated(made) == undated(again) == undated(render_pdf(model))


def test_invoices_of_the_seeded_characters_share_one_subset_per_style():
    render_pdf(samples.credit_note("F-FONTS-2"))
    before = len(pdf_fonts._subsets)
    other = samples.credit_note("ZZ-9")
    render_pdf(replace(other, seller=replace(other.seller, name="Quincaillerie Wéber & fils")))
    assert len(pdf_fonts._subsets) == before

    polish = replace(other, seller=replace(other.seller, name="Łódź Zakład"))
    text = PdfReader(io.BytesIO(render_pdf(polish))).pages[0].extract_text()

    assert "Łódź Zakład" in text
    assert len(pdf_fonts._subsets) > before  # a character outside the seed: its own subset
