"""``import-directory``: loads a public-recipient directory file, idempotently.

The file is read and every row checked first (``domain/directory.py``); a file with bad rows
is refused as a whole, listing them, unless ``skip_invalid``. The good rows then go in one
transaction: COPY into a staging table and set-based upserts (``store/directory.py``).

Events: one ``DirectoryImported`` summary per import that changed something (counts, file
name) rather than a
``StructureCreated`` per structure: a national directory holds hundreds of thousands of
structures, which would flood the outbox and every consumer for facts nobody reacts to one by
one. Events about people (attachment requests, decisions...) carry the structure's name, so
consumers do not need a name per imported structure.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import asyncpg

from chorus_structures.domain.directory import DirectoryRow, RowInvalid, check_header, parse_row
from chorus_structures.events import outgoing
from chorus_structures.store import directory

log = logging.getLogger(__name__)

DEFAULT_DIRECTORY = "directory_default.csv"
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


async def import_directory(
    pool: asyncpg.Pool, path: Path, *, skip_invalid: bool = False, source: str | None = None
) -> ImportReport:
    """Imports the directory at ``path``; DirectoryFileInvalid when rows are bad (unless
    ``skip_invalid``: they are left out and listed in the report)."""
    report = ImportReport()
    with path.open(encoding="utf-8-sig", newline="") as lines:
        rows = read_rows(lines, report)
    if report.errors and not skip_invalid:
        raise DirectoryFileInvalid(report.errors)
    async with pool.acquire() as conn, conn.transaction():
        counts = await directory.import_rows(conn, rows)
        if counts.created or counts.updated or counts.services:
            await outgoing.directory_imported(
                conn,
                source=source or path.name,
                created=counts.created,
                updated=counts.updated,
                services=counts.services,
                at=datetime.now(UTC),
            )
    report.created, report.updated, report.services = (
        counts.created,
        counts.updated,
        counts.services,
    )
    log.info(
        "directory imported",
        extra={
            "source": source or path.name,
            "rows_read": report.read,
            "structures_created": report.created,
            "structures_updated": report.updated,
            "services_upserted": report.services,
            "rows_refused": len(report.errors),
        },
    )
    return report


async def import_default_directory(pool: asyncpg.Pool) -> ImportReport:
    """The small synthetic directory shipped in the package (loaded by ``seed-demo``)."""
    with resources.as_file(resources.files(__package__).joinpath(DEFAULT_DIRECTORY)) as path:
        return await import_directory(pool, path)
