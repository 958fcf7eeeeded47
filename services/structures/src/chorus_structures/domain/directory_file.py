"""Reading a directory file: every row checked (``directory.py``), the good ones kept once
per SIRET, the others listed with their line numbers; and the report of an import.

Works on lines already read (any iterator of text lines), so it does no I/O itself.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field

from chorus_structures.domain.directory import DirectoryRow, RowInvalid, check_header, parse_row

ERRORS_SHOWN = 20


@dataclass
class ImportReport:
    read: int = 0
    created: int = 0
    updated: int = 0
    services: int = 0
    # (line number, message) of the rows refused.
    errors: list[tuple[int, str]] = field(default_factory=list)


class DirectoryFileInvalid(Exception):
    """The file cannot be imported; ``str()`` lists the first problems (French)."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        lines = [f"ligne {line} : {message}" for line, message in errors[:ERRORS_SHOWN]]
        if len(errors) > ERRORS_SHOWN:
            lines.append(f"… et {len(errors) - ERRORS_SHOWN} autres erreurs")
        super().__init__("Annuaire refusé :\n" + "\n".join(lines))
        self.errors = errors


def read_rows(lines: Iterator[str], report: ImportReport) -> list[DirectoryRow]:
    """The file's valid rows, distinct by SIRET; problems go to ``report.errors``."""
    reader = csv.reader(lines)
    header = [name.strip() for name in next(reader, [])]
    try:
        check_header(header)
    except RowInvalid as error:
        raise DirectoryFileInvalid([(1, str(error))]) from None
    rows: dict[str, DirectoryRow] = {}
    for values in reader:
        report.read += 1
        line = reader.line_num
        try:
            row = parse_row(dict(zip(header, values, strict=False)))
        except RowInvalid as error:
            report.errors.append((line, str(error)))
            continue
        if row.siret in rows:
            report.errors.append((line, f"SIRET {row.siret} déjà présent plus haut"))
            continue
        rows[row.siret] = row
    return list(rows.values())
