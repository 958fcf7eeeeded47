"""fichierCR: the flow report drawn as a PDF, read back with pypdf."""

import io

from chorus_cpro_api.edge.report_pdf import report_pdf
from pypdf import PdfReader


def test_every_line_is_on_some_page_and_pages_are_numbered():
    lines = [f"Facture F-{n:04d} refusée : [BR-CO-15] /Invoice/cbc:ID" for n in range(200)]
    reader = PdfReader(
        io.BytesIO(report_pdf("Compte rendu du flux CPP0000000000000000000042", lines))
    )
    assert len(reader.pages) > 1
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "CPP0000000000000000000042" in text
    assert all(f"F-{n:04d}" in text for n in range(200))
    assert f"Page {len(reader.pages)}/{len(reader.pages)}" in text


def test_text_outside_latin1_is_drawn_not_refused():
    pdf = report_pdf("Flux — l’œuvre…", ["Ville de Łódź ’quoted’ – 株式会社", ""])
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Flux - l'oeuvre..." in text
    assert "Lódz" in text and "????" in text and "'quoted'" in text
