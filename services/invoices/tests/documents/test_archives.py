"""Batch archives read without trust: traversal names flattened, bombs and nesting refused."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest
from chorus_invoices.documents.archives import ArchiveLimits, read_archive
from chorus_platform.errors import InvalidArgument


def make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def make_tar_gz(files: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        if symlink:
            link = tarfile.TarInfo(symlink)
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            archive.addfile(link)
    return buffer.getvalue()


def reason_of(data: bytes, limits: ArchiveLimits | None = None) -> str:
    with pytest.raises(InvalidArgument) as raised:
        read_archive(data, limits)
    return raised.value.reason


def test_zip_entries_are_read_in_order_with_directory_parts_dropped():
    entries = read_archive(make_zip({"../../etc/a.xml": b"<a/>", "dir/b.xml": b"<b/>"}))
    assert [(e.name, e.content, e.refusal) for e in entries] == [
        ("a.xml", b"<a/>", None),
        ("b.xml", b"<b/>", None),
    ]


def test_tar_gz_entries_are_read_and_links_refused_alone():
    entries = read_archive(make_tar_gz({"/abs/c.xml": b"<c/>"}, symlink="evil.xml"))
    assert [(e.name, e.content) for e in entries] == [("c.xml", b"<c/>"), ("evil.xml", b"")]
    assert entries[0].refusal is None
    assert entries[1].refusal[0] == "ARCHIVE_ENTRY_NOT_A_FILE"


def test_nested_archives_are_refused_by_name_and_by_content():
    inner = make_zip({"x.xml": b"<x/>"})
    entries = read_archive(make_zip({"inner.zip": inner, "disguised.xml": inner}))
    assert [e.refusal[0] for e in entries] == ["ARCHIVE_NESTED", "ARCHIVE_NESTED"]


def test_an_oversized_entry_is_refused_alone():
    limits = ArchiveLimits(max_entry_bytes=1000)
    entries = read_archive(make_zip({"big.xml": b"x" * 5000, "ok.xml": b"<ok/>"}), limits)
    assert [e.refusal[0] if e.refusal else "OK" for e in entries] == ["FILE_TOO_LARGE", "OK"]


def test_bombs_and_crowds_are_refused_whole():
    bomb = make_zip({f"f{i}.xml": b"\0" * 400_000 for i in range(4)})
    assert len(bomb) < 20_000
    limits = ArchiveLimits(max_total_bytes=1_000_000)
    assert reason_of(bomb, limits) == "ARCHIVE_TOO_LARGE"
    crowd = make_zip({f"f{i}.xml": b"<a/>" for i in range(5)})
    assert reason_of(crowd, ArchiveLimits(max_entries=4)) == "ARCHIVE_TOO_MANY_ENTRIES"


def test_what_is_not_a_readable_archive_is_refused():
    assert reason_of(b"") == "ARCHIVE_REQUIRED"
    assert reason_of(b"<Invoice/>") == "ARCHIVE_UNSUPPORTED"
    assert reason_of(b"PK\x03\x04garbage") == "ARCHIVE_MALFORMED"
    assert reason_of(b"\x1f\x8bgarbage") == "ARCHIVE_MALFORMED"
    assert reason_of(make_zip({"d/": b""})) == "ARCHIVE_EMPTY"


def test_entry_names_are_made_safe_and_unique_within_the_archive():
    xml = b"<x/>"
    names = [
        "..",
        "../..",
        "a/../../b.xml",
        "/etc/passwd",
        "lot\\b.xml",
        "c\x01d.xml",
        "B.xml",
        "x" * 300 + ".xml",
    ]
    entries = read_archive(make_zip(dict.fromkeys(names, xml)))
    assert [e.name for e in entries] == [
        "sans-nom",
        "sans-nom (2)",
        "b.xml",
        "passwd",
        "b (2).xml",
        "c_d.xml",
        "B (3).xml",
        "x" * 96 + ".xml",
    ]
    assert all(e.content == xml for e in entries)
