"""File names that are safe wherever they end up: a ZIP entry, a ``Content-Disposition``, a
folder on the user's disk once extracted (Linux, macOS or Windows).

Every name invoices keeps or hands out (deposited files, attachments, the entries of a
batch) goes through :func:`safe_filename`; a bundle of several files gets its names from
:func:`unique_filenames`. What the rules guarantee, whatever the supplier sent:

- one path component: no ``/`` nor ``\\`` (only the last component of a path is kept), never
  ``.`` or ``..`` nor a name made of dots and spaces only — so extracting can never climb out
  of the folder, nor write an absolute path (``/etc/passwd`` becomes ``passwd``);
- no NUL, no control or format character (C0, C1, DEL, bidirectional overrides that disguise
  an extension, ``U+FEFF``…), no character Windows refuses (``<>:"|?*``): each becomes ``_``;
- no leading or trailing space or dot (Windows drops them, and a leading dot hides a file);
  no Windows device name (``CON``, ``NUL``, ``COM1``…, with any extension): ``_`` is put
  before it;
- NFC-normalised, at most :data:`MAX_FILENAME` characters (the extension kept);
- never empty: the caller's fallback (``facture-F-2024-001.xml``) stands in.

Pure functions, no I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

MAX_FILENAME = 100
_WINDOWS_FORBIDDEN = frozenset('<>:"|?*')
_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CLOCK$", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in "0123456789¹²³"}
    | {f"LPT{i}" for i in "0123456789¹²³"}
)
_MAX_EXTENSION = 10


def safe_filename(raw: str, fallback: str = "fichier") -> str:
    """``raw`` as a safe single file name (see the module docstring), else ``fallback``
    (itself made safe; ``fichier`` if nothing of it is left either)."""
    name = _sanitised(raw)
    if name:
        return name
    return _sanitised(fallback) or "fichier"


def unique_filenames(names: Iterable[str], fallback: str = "fichier") -> list[str]:
    """Each name made safe, then made unique within the list — case-insensitively, as on
    Windows and macOS disks — by `` (2)``, `` (3)``… before the extension, in order."""
    taken: set[str] = set()
    unique = []
    for raw in names:
        candidate = safe_filename(raw, fallback)
        stem, extension = _split(candidate)
        n = 1
        while candidate.casefold() in taken:
            n += 1
            suffix = f" ({n})"
            candidate = stem[: MAX_FILENAME - len(suffix) - len(extension)] + suffix + extension
        taken.add(candidate.casefold())
        unique.append(candidate)
    return unique


def _sanitised(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join("_" if _unsafe(c) else c for c in name).strip(" .")
    if not name.strip("_. "):
        return ""  # nothing but dots, spaces and what was unsafe: no name at all
    stem, extension = _split(name)
    if stem.split(".")[0].rstrip(" ").upper() in _DEVICE_NAMES:
        stem, name = "_" + stem, "_" + name
    if len(name) > MAX_FILENAME:
        name = (stem[: MAX_FILENAME - len(extension)].rstrip(" .") or "_") + extension
    return name


def _unsafe(c: str) -> bool:
    return c in _WINDOWS_FORBIDDEN or (unicodedata.category(c)[0] in ("C", "Z") and c != " ")


def _split(name: str) -> tuple[str, str]:
    """(stem, extension with its dot); a short extension only, as file managers see one."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > _MAX_EXTENSION:
        return name, ""
    return stem, f".{extension}"
