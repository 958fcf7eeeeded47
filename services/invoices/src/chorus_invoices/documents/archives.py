"""The files of a batch archive (ZIP or tar.gz), read in memory without trusting it.

Nothing is ever extracted to disk, so a name like ``../../etc/passwd`` or ``/abs/path`` only
names an entry: it is made safe (:mod:`chorus_invoices.domain.filenames`: no directory part,
never ``..``, no control character) and unique within the archive (``a (2).xml``), so the
batch report names each file once. Against bombs the reading stops at
``max_entries`` files and at ``max_total_bytes`` of uncompressed content (counted as it is
read, not as the archive claims); one entry larger than ``max_entry_bytes`` is refused alone.
Archives inside the archive, links and special files are refused alone too, never opened.

Whole-archive refusals are InvalidArgument: ``ARCHIVE_REQUIRED``, ``ARCHIVE_UNSUPPORTED``
(neither ZIP nor gzip'd tar), ``ARCHIVE_MALFORMED``, ``ARCHIVE_TOO_MANY_ENTRIES``,
``ARCHIVE_TOO_LARGE``, ``ARCHIVE_EMPTY``.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, replace

from chorus_invoices.domain.errors import invalid
from chorus_invoices.domain.filenames import safe_filename, unique_filenames

ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"
NESTED_SUFFIXES = (".zip", ".tar", ".tgz", ".gz", ".tar.gz", ".7z", ".rar", ".bz2", ".xz")
NESTED_MAGICS = (ZIP_MAGIC, GZIP_MAGIC, b"7z\xbc\xaf", b"Rar!", b"BZh", b"\xfd7zXZ")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int = 200
    max_entry_bytes: int = 10 * 1024 * 1024
    max_total_bytes: int = 100 * 1024 * 1024


@dataclass(frozen=True)
class ArchiveEntry:
    """One file of the archive: its content, or why it was refused (reason, French message)."""

    name: str
    content: bytes = b""
    refusal: tuple[str, str] | None = None


def read_archive(data: bytes, limits: ArchiveLimits | None = None) -> list[ArchiveEntry]:
    """The regular files of a ZIP or tar.gz archive, in archive order."""
    limits = limits or ArchiveLimits()
    if not data:
        raise invalid("ARCHIVE_REQUIRED", "file", "Joignez l'archive (ZIP ou tar.gz).")
    if data.startswith(ZIP_MAGIC) or data.startswith(b"PK\x05\x06"):
        entries = _zip_entries(data, limits)
    elif data.startswith(GZIP_MAGIC):
        entries = _tar_entries(data, limits)
    else:
        raise invalid(
            "ARCHIVE_UNSUPPORTED", "file", "L'archive doit être un fichier ZIP ou tar.gz."
        )
    if not entries:
        raise invalid("ARCHIVE_EMPTY", "file", "L'archive ne contient aucun fichier.")
    names = unique_filenames(entry.name for entry in entries)
    return [replace(entry, name=name) for entry, name in zip(entries, names, strict=True)]


class _Budget:
    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.entries = 0
        self.total = 0

    def count_entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise invalid(
                "ARCHIVE_TOO_MANY_ENTRIES",
                "file",
                f"L'archive contient plus de {self.limits.max_entries} fichiers :"
                " déposez-la en plusieurs fois.",
            )

    def read(self, stream: io.BufferedIOBase | io.RawIOBase) -> bytes | None:
        """The entry's content, or None when it exceeds the per-entry limit."""
        chunks, size = [], 0
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            self.total += len(chunk)
            if self.total > self.limits.max_total_bytes:
                raise invalid(
                    "ARCHIVE_TOO_LARGE",
                    "file",
                    "Le contenu décompressé de l'archive dépasse"
                    f" {self.limits.max_total_bytes // 1024**2} Mo.",
                )
            if size > self.limits.max_entry_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)


def _zip_entries(data: bytes, limits: ArchiveLimits) -> list[ArchiveEntry]:
    budget = _Budget(limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = []
        for info in archive.infolist():
            if info.is_dir():
                continue
            budget.count_entry()
            name = _entry_name(info.filename)
            if refusal := _refused_by_name(name):
                entries.append(ArchiveEntry(name, refusal=refusal))
                continue
            with archive.open(info) as stream:
                content = budget.read(stream)
            entries.append(_entry(name, content, limits))
        return entries
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise invalid(
            "ARCHIVE_MALFORMED", "file", "L'archive ZIP est illisible ou chiffrée."
        ) from exc


def _tar_entries(data: bytes, limits: ArchiveLimits) -> list[ArchiveEntry]:
    budget = _Budget(limits)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            entries = []
            for member in archive:
                if member.isdir():
                    continue
                budget.count_entry()
                name = _entry_name(member.name)
                if not member.isfile():
                    entries.append(
                        ArchiveEntry(
                            name,
                            refusal=(
                                "ARCHIVE_ENTRY_NOT_A_FILE",
                                "Les liens et fichiers spéciaux ne sont pas acceptés.",
                            ),
                        )
                    )
                    continue
                if refusal := _refused_by_name(name):
                    entries.append(ArchiveEntry(name, refusal=refusal))
                    continue
                stream = archive.extractfile(member)
                content = budget.read(stream) if stream is not None else b""
                entries.append(_entry(name, content, limits))
            return entries
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError, OSError) as exc:
        raise invalid("ARCHIVE_MALFORMED", "file", "L'archive tar.gz est illisible.") from exc


def _entry(name: str, content: bytes | None, limits: ArchiveLimits) -> ArchiveEntry:
    if content is None:
        return ArchiveEntry(
            name,
            refusal=(
                "FILE_TOO_LARGE",
                f"Le fichier dépasse {limits.max_entry_bytes // 1024**2} Mo.",
            ),
        )
    if content.startswith(NESTED_MAGICS):
        return ArchiveEntry(name, refusal=_NESTED)
    return ArchiveEntry(name, content)


_NESTED = ("ARCHIVE_NESTED", "Les archives imbriquées ne sont pas acceptées.")


def _refused_by_name(name: str) -> tuple[str, str] | None:
    return _NESTED if name.lower().endswith(NESTED_SUFFIXES) else None


def _entry_name(raw: str) -> str:
    """The entry's own name made safe (:func:`domain.filenames.safe_filename`: no directory
    part, never ``..``, no control character)."""
    return safe_filename(raw, "sans-nom")
