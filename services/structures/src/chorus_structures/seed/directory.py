"""``import-directory``: loads a public-recipient directory file, idempotently.

Opens the file and hands its lines to the import use case (``usecases/directory_import.py``,
which says what an import does); ``import_default_directory`` loads the small synthetic
directory shipped beside this module (``seed-demo``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import asyncpg

from chorus_structures.domain.directory_file import ImportReport
from chorus_structures.seed import unit_of_work
from chorus_structures.usecases.directory_import import DirectoryImport

DEFAULT_DIRECTORY = "directory_default.csv"


async def import_directory(
    pool: asyncpg.Pool, path: Path, *, skip_invalid: bool = False, source: str | None = None
) -> ImportReport:
    """Imports the directory at ``path`` (named ``source``, by default the file's name);
    DirectoryFileInvalid when rows are bad (unless ``skip_invalid``: they are left out and
    listed in the report)."""
    with path.open(encoding="utf-8-sig", newline="") as lines:
        return await DirectoryImport(unit_of_work(pool)).run(
            lines, source=source or path.name, skip_invalid=skip_invalid
        )


async def import_default_directory(pool: asyncpg.Pool) -> ImportReport:
    """The small synthetic directory shipped in the package (loaded by ``seed-demo``)."""
    with resources.as_file(resources.files(__package__).joinpath(DEFAULT_DIRECTORY)) as path:
        return await import_directory(pool, path)
