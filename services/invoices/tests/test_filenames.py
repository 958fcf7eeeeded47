"""Safe file names: nothing a supplier names a file can become a path, a control character or
a duplicate once several files are bundled (domain/filenames.py)."""

from __future__ import annotations

import unicodedata

import pytest
from chorus_invoices.domain.filenames import MAX_FILENAME, safe_filename, unique_filenames

HOSTILE = [
    "..",
    ".",
    "../x",
    "../../etc/passwd",
    "/etc/passwd",
    "a\\b",
    "C:\\Windows\\system32\\drivers\\etc\\hosts",
    "a\x00b.pdf",
    "\x00",
    "\x1b[31mrouge.pdf",
    "ligne\nsuivante.xml",
    "facture\u202efdp.exe",
    "\ufeffbom.xml",
    "CON",
    "nul.txt",
    "com1.xml",
    " .cache",
    "fin. . .",
    "a" * 10_000 + ".pdf",
    "é" * 300,
    "<script>:|?*.xml",
    "",
    "   ",
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_no_name_escapes_its_folder_or_carries_a_control_character(raw):
    name = safe_filename(raw, "facture-F-1.xml")
    assert name and len(name) <= MAX_FILENAME
    assert "/" not in name and "\\" not in name
    assert name.strip(". ") == name and name not in (".", "..")
    assert not any(unicodedata.category(c)[0] == "C" for c in name)
    assert not any(c in '<>:"|?*' for c in name)
    assert name.split(".")[0].upper() not in ("CON", "NUL", "COM1")
    assert safe_filename(name) == name  # already safe: left alone


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("facture-2024-001.xml", "facture-2024-001.xml"),
        ("Facture été 2024.pdf", "Facture été 2024.pdf"),
        ("../../etc/passwd", "passwd"),
        ("lot\\mars\\f1.xml", "f1.xml"),
        ("..", "facture-F-1.xml"),
        ("a\x00b.pdf", "a_b.pdf"),
        ("CON.xml", "_CON.xml"),
        ("Devis : option B.pdf", "Devis _ option B.pdf"),
    ],
)
def test_ordinary_names_are_kept_and_hostile_ones_made_plain(raw, safe):
    assert safe_filename(raw, "facture-F-1.xml") == safe


def test_a_long_name_keeps_its_extension():
    name = safe_filename("x" * 500 + ".pdf")
    assert len(name) == MAX_FILENAME and name.endswith("x.pdf")


def test_names_in_one_bundle_are_unique_whatever_their_case():
    names = unique_filenames(["a.xml", "A.xml", "a.xml", "..", "../x/..", "b", "a (2).xml"])
    assert names == [
        "a.xml",
        "A (2).xml",
        "a (3).xml",
        "fichier",
        "fichier (2)",
        "b",
        "a (2) (2).xml",
    ]
    assert len({n.casefold() for n in names}) == len(names)


def test_unique_names_stay_within_the_length_limit():
    names = unique_filenames(["y" * 300 + ".xml"] * 12)
    assert len(set(names)) == 12
    assert all(len(n) <= MAX_FILENAME and n.endswith(".xml") for n in names)
