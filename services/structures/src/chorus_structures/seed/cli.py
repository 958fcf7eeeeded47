"""``chorus-structures import-directory FILE`` and ``generate-directory --count N --out FILE``.

These take arguments, which the shared command line (``chorus_platform.cli``) does not pass
on, so ``main`` hands them to :func:`run` before it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from chorus_platform.db import create_pool
from chorus_platform.logging import configure_logging

from chorus_structures.config import StructuresSettings
from chorus_structures.domain.directory_file import DirectoryFileInvalid
from chorus_structures.seed.directory import import_directory
from chorus_structures.seed.generator import generate_file

COMMANDS = ("import-directory", "generate-directory")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chorus-structures")
    commands = parser.add_subparsers(dest="command", required=True)
    importing = commands.add_parser(
        "import-directory", help="import a public-recipient directory CSV file (idempotent)"
    )
    importing.add_argument("file", type=Path, help="the directory CSV file")
    importing.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid rows and list the others, instead of refusing the file",
    )
    generating = commands.add_parser(
        "generate-directory", help="write a realistic synthetic directory CSV file"
    )
    generating.add_argument("--count", type=int, required=True, help="number of structures")
    generating.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    generating.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    return parser


async def _import(settings: StructuresSettings, file: Path, skip_invalid: bool) -> int:
    pool = await create_pool(settings.database_dsn, max_size=2)
    try:
        report = await import_directory(pool, file, skip_invalid=skip_invalid)
    except DirectoryFileInvalid as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        await pool.close()
    print(
        f"{report.read} lignes lues : {report.created} structures créées, "
        f"{report.updated} mises à jour, {report.services} services créés ou mis à jour"
        + (f", {len(report.errors)} lignes écartées" if report.errors else "")
    )
    for line, message in report.errors[:20]:
        print(f"ligne {line} : {message}", file=sys.stderr)
    return 0


def run(settings: StructuresSettings, argv: list[str]) -> int:
    """Runs one directory command; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.command == "generate-directory":
        generate_file(args.out, args.count, args.seed)
        print(f"{args.count} structures écrites dans {args.out}")
        return 0
    if not args.file.is_file():
        print(f"Fichier introuvable : {args.file}", file=sys.stderr)
        return 2
    configure_logging(settings.service_name, settings.log_level)
    return asyncio.run(_import(settings, args.file, args.skip_invalid))
