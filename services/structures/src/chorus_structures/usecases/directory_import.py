"""Importing a public-recipient directory, idempotently.

Every row is checked first (``domain/directory_file.py``); a file with bad rows is refused as
a whole, listing them, unless ``skip_invalid``. The good rows then go in one transaction:
COPY into staging tables and set-based upserts (``store/directory.py``).

Events: one ``DirectoryImported`` summary per import that changed something (counts, file
name) rather than a ``StructureCreated`` per structure: a national directory holds hundreds
of thousands of structures, which would flood the outbox and every consumer for facts nobody
reacts to one by one. Events about people (attachment requests, decisions...) carry the
structure's name, so consumers do not need a name per imported structure.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from chorus_platform.unit_of_work import UnitOfWork

from chorus_structures.domain.directory_file import DirectoryFileInvalid, ImportReport, read_rows
from chorus_structures.domain.events import DirectoryImported
from chorus_structures.store import directory

log = logging.getLogger(__name__)


class DirectoryImport:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def run(
        self, lines: Iterator[str], *, source: str, skip_invalid: bool = False
    ) -> ImportReport:
        """Imports the directory file whose text ``lines`` are, named ``source`` in the
        event and the log; DirectoryFileInvalid when rows are bad (unless ``skip_invalid``:
        they are left out and listed in the report)."""
        report = ImportReport()
        rows = read_rows(lines, report)
        if report.errors and not skip_invalid:
            raise DirectoryFileInvalid(report.errors)
        async with self._uow.transaction() as tx:
            counts = await directory.import_rows(tx.conn, rows)
            if counts.created or counts.updated or counts.services:
                tx.emit(
                    DirectoryImported(
                        source=source,
                        created=counts.created,
                        updated=counts.updated,
                        services=counts.services,
                        at=datetime.now(UTC),
                    )
                )
        report.created, report.updated, report.services = (
            counts.created,
            counts.updated,
            counts.services,
        )
        log.info(
            "directory imported",
            extra={
                "source": source,
                "rows_read": report.read,
                "structures_created": report.created,
                "structures_updated": report.updated,
                "services_upserted": report.services,
                "rows_refused": len(report.errors),
            },
        )
        return report
