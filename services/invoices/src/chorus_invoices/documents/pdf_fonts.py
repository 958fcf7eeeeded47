"""The fonts of the Factur-X pages: parsed once per process, subset once per glyph set.

fpdf2 parses a TrueType file at each ``add_font`` and subsets it with fontTools at each
``output()``: for the invoices a document worker renders one after the other, that was about
half of a render (docs/design/throughput.md). Here, in each worker process:

- a font file is parsed once (:func:`add_shared_font`); each document gets a copy of the
  parsed font that shares its tables (read only) and has its own subset map;
- :class:`SubsetCachingProducer` (fpdf's ``output_producer_class``) embeds the subset made
  the first time a glyph set was seen — the same bytes and glyph ids — instead of subsetting
  again. The first time, it subsets a fresh parse of the file with the very fontTools options
  fpdf uses, so the embedded font is what fpdf would embed;
- every document's subset starts with :data:`SEEDED` (printable ASCII, French lower-case
  letters, the euro sign, quotes, dashes and spaces), so the invoices written with those
  characters alone — nearly all — share one glyph set and one subset (a few KB more per PDF:
  the trade-off is measured there).

The PDF objects written for a font are fpdf 2.8's for a TrueType (``CIDFontType2``) font in a
PDF/A-2 or -3 document; a document with any other font (or PDF/A-1, which wants a CIDSet) is
written by fpdf itself.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from io import BytesIO
from pathlib import Path
from typing import NamedTuple

from fontTools import subset as ftsubset
from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.output import (
    CIDSystemInfo,
    OutputProducer,
    PDFFont,
    PDFFontStream,
    _build_cmap_blocks,
    _tt_font_widths,
)
from fpdf.syntax import Name, PDFArray, PDFContentStream

SEEDED = "".join(chr(code) for code in range(0x20, 0x7F)) + "àâäçéèêëîïôöùûü€«»’–—\u00a0\u202f"
"""Characters every document's subset holds, whether it uses them or not: printable ASCII,
French lower-case letters, the euro sign, the quotes, dashes and spaces French amounts and
text use. Measured on the bench's invoice: the PDF grows from 38 to about 53 KB (the two
subsets hold ~120 glyphs instead of ~60), and nearly every French invoice shares one glyph
set, so one subset. ``""`` would keep each PDF minimal and cache one subset per glyph set."""

MAX_CACHED_SUBSETS = 64
"""Subsets kept per process (least recently used dropped first)."""

# fpdf 2.8's subsetting (output.py, OutputProducer._add_fonts): same options, same tables.
_DROPPED_TABLES = ["FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "sbix"]
_DROPPED_TABLES += ["CBDT", "CBLC", "EBDT", "EBLC", "EBSC", "SVG ", "CPAL", "COLR"]


class _SharedFont(TTFFont):
    """A font parsed once; each document holds a copy (:func:`add_shared_font`)."""


class _Subset(NamedTuple):
    stream: bytes
    """The subset font file, as embedded."""
    glyph_ids: dict[str, int]
    """Glyph name -> glyph id in the subset."""


_parsed: dict[tuple[str, str], _SharedFont] = {}
_file_bytes: dict[str, bytes] = {}
_subsets: OrderedDict[tuple[str, tuple[str, ...]], _Subset] = OrderedDict()


def add_shared_font(pdf: FPDF, family: str, style: str, path: str | Path) -> None:
    """``pdf.add_font(family, style, path)`` without parsing the file again in this process;
    the document's subset starts with :data:`SEEDED`."""
    fontkey = f"{family.lower()}{style}"
    parsed = _parsed.get((str(path), style))
    if parsed is None:
        parsed = _SharedFont(FPDF(), Path(path), fontkey, style)
        _parsed[(str(path), style)] = parsed
    font = copy.copy(parsed)
    font.i = len(pdf.fonts) + 1
    font.fontkey = fontkey
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    for char in SEEDED:
        font.subset.pick(ord(char))
    pdf.fonts[fontkey] = font


def _subset_of(font: TTFFont, names: tuple[str, ...]) -> _Subset:
    key = (str(font.ttffile), names)
    cached = _subsets.get(key)
    if cached is not None:
        _subsets.move_to_end(key)
        return cached
    path = str(font.ttffile)
    if path not in _file_bytes:
        _file_bytes[path] = Path(path).read_bytes()
    fresh = ttLib.TTFont(BytesIO(_file_bytes[path]), recalcTimestamp=False, lazy=True)
    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True)
    options.drop_tables += _DROPPED_TABLES
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(glyphs=list(names))
    subsetter.subset(fresh)
    glyph_ids = {name: fresh.getGlyphID(name) for name in names}
    output = BytesIO()
    fresh.save(output)
    fresh.close()
    made = _Subset(output.getvalue(), glyph_ids)
    _subsets[key] = made
    if len(_subsets) > MAX_CACHED_SUBSETS:
        _subsets.popitem(last=False)
    return made


def _format_code(unicode: int) -> str:
    if unicode > 0xFFFF:  # a surrogate pair
        high = 0xD800 | (unicode - 0x10000) >> 10
        low = 0xDC00 | (unicode & 0x3FF)
        return f"{high:04X}{low:04X}"
    return f"{unicode:04X}"


class SubsetCachingProducer(OutputProducer):
    """fpdf's producer, embedding cached subsets of the fonts of :func:`add_shared_font`."""

    def _add_fonts(self, image_objects_per_index, gfxstate_objs_per_name, pattern_objs_per_name):
        fonts = sorted(self.fpdf.fonts.values(), key=lambda font: font.i)
        compliance = self.fpdf._compliance
        pdfa1 = compliance and compliance.profile == "PDFA" and compliance.part == 1
        if pdfa1 or not all(isinstance(font, _SharedFont) and not font.is_cff for font in fonts):
            return super()._add_fonts(
                image_objects_per_index, gfxstate_objs_per_name, pattern_objs_per_name
            )
        return {font.i: self._add_font(font) for font in fonts}

    def _add_font(self, font: TTFFont) -> PDFFont:
        """fpdf 2.8's objects for one TrueType font (Type0 over CIDFontType2, Identity-H),
        its file the cached subset of the glyphs the document uses."""
        names = tuple(sorted(set(font.subset.get_all_glyph_names())))
        subset = _subset_of(font, names)
        fontname = f"MPDFAA+{font.name}"
        composite = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        cid_font = PDFFont(
            subtype="CIDFontType2",
            base_font=fontname,
            d_w=font.desc.missing_width,
            w=_tt_font_widths(font),
        )
        self._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])

        # Which Unicode text each code stands for (search, copy).
        bf_char = [
            f"<{code:04X}> <{''.join(_format_code(u) for u in glyph.unicode)}>\n"
            for glyph, code in font.subset.items()
            if glyph is not None and isinstance(glyph.unicode, tuple) and glyph.unicode
        ]
        to_unicode = PDFContentStream(
            (
                "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
                "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                f"{_build_cmap_blocks(bf_char, 'bfchar')}"
                "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
            ).encode("latin-1")
        )
        self._add_pdf_obj(to_unicode, "fonts")
        composite.to_unicode = to_unicode

        system_info = CIDSystemInfo()
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info

        descriptor = copy.copy(font.desc)
        descriptor.font_name = Name(fontname)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor

        cid_to_gid = bytearray(256 * 256 * 2)
        for glyph, code in font.subset.items():
            if glyph is not None:
                gid = subset.glyph_ids[glyph.glyph_name]
                cid_to_gid[code * 2] = gid >> 8
                cid_to_gid[code * 2 + 1] = gid & 0xFF
        cid_to_gid_map = PDFContentStream(contents=bytes(cid_to_gid), compress=True)
        self._add_pdf_obj(cid_to_gid_map, "fonts")
        cid_font.c_i_d_to_g_i_d_map = cid_to_gid_map

        font_file = PDFFontStream(contents=subset.stream)
        self._add_pdf_obj(font_file, "fonts")
        descriptor.font_file2 = font_file
        font.subset.pick.cache_clear()
        font.subset.get_glyph.cache_clear()
        return composite
