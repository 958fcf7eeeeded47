"""``fichierCR`` of ``consulterCR``: the flow's processing report as a small PDF (what Chorus
Pro attaches there), text only, drawn with fpdf2 (A4, Helvetica, as many pages as the lines
need, numbered)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from fpdf import FPDF

_LATIN1_STAND_INS = str.maketrans(
    {
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "—": "-",
        "–": "-",
        "…": "...",
        "œ": "oe",
        "Œ": "OE",
        "Ł": "L",
        "ł": "l",
    }
)


def _latin1(text: str) -> str:
    """``text`` in what the core Helvetica font draws (Latin-1): typographic quotes, dashes and
    ligatures get their plain stand-ins; anything else outside Latin-1 loses its accents, or
    becomes ``?``."""
    text = text.translate(_LATIN1_STAND_INS)
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        plain = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(plain or "?")
    return "".join(out)


class _Report(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=8)
        self.cell(0, 10, f"Page {self.page_no()}/{{nb}}", align="C")


def report_pdf(title: str, lines: Sequence[str]) -> bytes:
    """A PDF whose pages show ``title`` then ``lines`` (wrapped)."""
    pdf = _Report(format="A4")
    pdf.set_margins(14, 14, 14)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_title(_latin1(title))
    pdf.set_creator("Chorus")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 6, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", size=9)
    for line in lines:
        pdf.multi_cell(0, 4.5, _latin1(line) or " ", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
