"""``fichierCR`` of ``consulterCR``: the flow's processing report as a small PDF (what Chorus
Pro attaches there), text only, written here byte by byte (PDF 1.4, Helvetica in WinAnsi, A4,
as many pages as the lines need)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

LINES_PER_PAGE = 60
WIDTH = 95
"""Characters per line at 9 pt on an A4 page with 40 pt margins."""


def _escape(line: str) -> bytes:
    raw = line.encode("cp1252", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _wrapped(lines: Sequence[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(textwrap.wrap(line, WIDTH, subsequent_indent="    ") or [""])
    return out


def report_pdf(title: str, lines: Sequence[str]) -> bytes:
    """A PDF whose pages show ``title`` then ``lines`` (wrapped)."""
    body = _wrapped(lines)
    pages = [body[i : i + LINES_PER_PAGE] for i in range(0, len(body), LINES_PER_PAGE)] or [[]]
    objects: list[bytes] = []

    def add(content: bytes) -> int:
        objects.append(content)
        return len(objects)

    catalog = add(b"")  # filled once the pages object's number is known
    pages_ref = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    for number, page_lines in enumerate(pages, start=1):
        text = [b"BT", b"/F1 12 Tf", b"40 800 Td", b"(" + _escape(title) + b") Tj"]
        text += [b"/F1 9 Tf", b"0 -18 Td", b"11 TL"]
        text += [b"(" + _escape(line) + b") '" for line in page_lines]
        text += [b"0 -14 Td", b"(" + _escape(f"Page {number}/{len(pages)}") + b") '", b"ET"]
        stream = b"\n".join(text)
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] "
                b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
                % (pages_ref, font, content)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_ref
    objects[pages_ref - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for index, content in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % index + content + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        catalog,
        xref,
    )
    return bytes(out)
