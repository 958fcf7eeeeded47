"""Retention of technical records: ``chorus-<svc> purge-records`` (docs/design/production.md).

Some tables only grow: published outbox rows, inbox (dedupe) rows, idempotency keys, replayed
dead letters, and each service's own technical rows (sessions, feed items, e-mails…). A
:class:`PurgeRule` names one such set of rows — a table, the column that dates a row, an
extra condition, and how long rows are kept — and :func:`purge` deletes the rows past their
retention. Business records (invoices and their history, structures, accounts) never get a
rule.

How :func:`purge` deletes, so that a running service is never held up:

* **In batches**, each its own short transaction: ``DELETE … WHERE ctid = ANY(ARRAY(SELECT
  ctid … LIMIT n FOR UPDATE SKIP LOCKED))``. A row the service has locked (an e-mail being
  claimed, a key of a call in flight) is skipped, never waited for; the next run takes it.
  ``lock_timeout`` bounds the wait for the table lock (a migration running).
* **One clock**: every cutoff is computed once, from the database's ``now()`` at the start,
  so rows that age during the run wait for the next one and the run always ends.
* **Idempotent**: a second run right after the first deletes nothing. A table that does not
  exist (yet) is skipped.
* **Dry run** counts the rows each rule would delete and changes nothing. Rules are counted
  one by one: a row two rules reach (a refresh token of an ended session, which the real run
  deletes with its session) is counted by both.

The platform's own rules (:func:`platform_rules`) depend on the outbox relay's replay
(:mod:`chorus_platform.outbox`): when the broker lost events it had acknowledged, the relay
marks every row published within ``CHORUS_OUTBOX_REPLAY_SECONDS`` unpublished and sends it
again. So a published row is never purged inside that window, whatever
``CHORUS_RETENTION_OUTBOX_DAYS`` says; and the consumers' inbox rows must outlive it (plus
the consumers' lag), or a replayed copy whose inbox row is gone would be handled twice —
:func:`platform_rules` refuses such settings (:class:`RetentionSettingsError`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import asyncpg

from chorus_platform.settings import ChorusSettings

log = logging.getLogger(__name__)

COMMAND = "purge-records"
DRY_RUN = "--dry-run"
IDEMPOTENCY_KEYS_KEPT = timedelta(hours=24)
"""Idempotency keys are answered for 24 h (``IdempotencyInterceptor``'s retention, which no
service changes); older ones are dead rows."""
# Each batch's own: the wait for a table lock (a migration running), and the batch itself.
_TIMEOUTS = "SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '60s'"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")

S = TypeVar("S", bound=ChorusSettings)


class RetentionSettingsError(ValueError):
    """The retention settings would break a guarantee (say which and how to fix it)."""


@dataclass(frozen=True)
class PurgeRule:
    """Rows of ``table`` whose ``age_column`` is older than ``max(retention, floor)`` and that
    match ``condition`` (SQL over the table's columns; ``$1`` is the cutoff).

    ``floor`` is a bound no setting may go under (the outbox's replay window); ``name`` is what
    the counts call the rule (the table's name by default; two rules on one table need two).
    Table and column names come from code, never from input: they are checked to be plain
    identifiers since they are written into the SQL.
    """

    table: str
    age_column: str
    retention: timedelta
    condition: str = "true"
    floor: timedelta = timedelta(0)
    batch_size: int = 1000
    name: str = ""
    what: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for identifier in (self.table, self.age_column):
            if not _IDENTIFIER.match(identifier):
                raise ValueError(f"not a plain SQL identifier: {identifier!r}")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if not self.name:
            object.__setattr__(self, "name", self.table)

    @property
    def kept(self) -> timedelta:
        """How long rows are kept: the retention, never less than the floor."""
        return max(self.retention, self.floor)

    def _where(self) -> str:
        return f"{self.age_column} < $1 AND ({self.condition})"

    def count_sql(self) -> str:
        return f"SELECT count(*) FROM {self.table} WHERE {self._where()}"  # noqa: S608 - code-defined identifiers

    def delete_sql(self) -> str:
        return (
            f"DELETE FROM {self.table} WHERE ctid = ANY(ARRAY("  # noqa: S608 - code-defined identifiers
            f"SELECT ctid FROM {self.table} WHERE {self._where()}"
            " LIMIT $2 FOR UPDATE SKIP LOCKED))"
        )


@dataclass(frozen=True)
class PurgeResult:
    """What one rule deleted (or, in a dry run, would delete)."""

    name: str
    table: str
    cutoff: datetime
    rows: int
    batches: int = 0
    what: str = ""
    skipped: bool = False
    """The table does not exist in this database."""


def days(n: float) -> timedelta:
    return timedelta(days=n)


def _duration(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    if hours >= 24 and hours % 24 == 0:
        return f"{hours / 24:g} days"
    return f"{hours:g} h"


def platform_rules(settings: ChorusSettings) -> list[PurgeRule]:
    """The rules of the platform's tables, present in every service's database: published
    outbox rows, inbox rows, idempotency keys, replayed dead letters.

    Raises :class:`RetentionSettingsError` when the inbox would forget events the relay may
    still publish again."""
    replay = timedelta(seconds=settings.outbox_replay_seconds)
    inbox = days(settings.retention_inbox_days)
    if inbox <= replay:
        raise RetentionSettingsError(
            f"CHORUS_RETENTION_INBOX_DAYS={settings.retention_inbox_days} keeps inbox rows"
            f" {_duration(inbox)}, no longer than the outbox replay window"
            f" (CHORUS_OUTBOX_REPLAY_SECONDS={settings.outbox_replay_seconds:g}:"
            f" {_duration(replay)}):"
            " an event published again after a broker loss would find its inbox row gone and"
            " be handled twice. Keep inbox rows longer than the replay window plus the longest"
            " consumer lag (and the topics' retention, in case offsets are reset)."
        )
    batch = settings.retention_batch_size
    return [
        PurgeRule(
            "outbox",
            "published_at",
            days(settings.retention_outbox_days),
            condition="published_at IS NOT NULL",
            floor=replay,
            batch_size=batch,
            what="published rows (never one still inside the relay's replay window)",
        ),
        PurgeRule(
            "inbox",
            "handled_at",
            inbox,
            batch_size=batch,
            what="consumers' dedupe rows",
        ),
        PurgeRule(
            "idempotency_keys",
            "created_at",
            IDEMPOTENCY_KEYS_KEPT,
            batch_size=batch,
            what="expired Idempotency-Key answers",
        ),
        PurgeRule(
            "dead_letters",
            "replayed_at",
            days(settings.retention_dead_letters_days),
            condition="replayed_at IS NOT NULL",
            batch_size=batch,
            what="dead letters already replayed (pending ones are kept)",
        ),
    ]


async def purge(
    conn: asyncpg.Connection,
    rules: Sequence[PurgeRule],
    *,
    dry_run: bool = False,
    pause_seconds: float = 0.0,
) -> list[PurgeResult]:
    """Applies ``rules`` in order on ``conn`` (which must not be in a transaction); returns
    one result per rule. ``pause_seconds`` between batches lets replicas and vacuum keep up."""
    if conn.is_in_transaction():
        raise RuntimeError("purge runs its own short transactions, one per batch")
    now: datetime = await conn.fetchval("SELECT now()")
    results = []
    for rule in rules:
        cutoff = now - rule.kept
        if await conn.fetchval("SELECT to_regclass($1)", rule.table) is None:
            results.append(
                PurgeResult(rule.name, rule.table, cutoff, 0, what=rule.what, skipped=True)
            )
            continue
        if dry_run:
            async with conn.transaction(readonly=True):
                await conn.execute(_TIMEOUTS)
                rows = await conn.fetchval(rule.count_sql(), cutoff)
            results.append(PurgeResult(rule.name, rule.table, cutoff, rows, what=rule.what))
            continue
        rows = batches = 0
        while True:
            async with conn.transaction():
                await conn.execute(_TIMEOUTS)
                status = await conn.execute(rule.delete_sql(), cutoff, rule.batch_size)
            deleted = int(status.rsplit(" ", 1)[1])
            rows += deleted
            batches += 1
            # Fewer than a batch: nothing left but rows the service holds locked, if any.
            if deleted < rule.batch_size:
                break
            if pause_seconds:
                await asyncio.sleep(pause_seconds)
        results.append(PurgeResult(rule.name, rule.table, cutoff, rows, batches, rule.what))
    return results


async def purge_database(
    settings: ChorusSettings, rules: Sequence[PurgeRule], *, dry_run: bool = False
) -> list[PurgeResult]:
    """:func:`purge` on the service's own database, over one connection of its own."""
    conn = await asyncpg.connect(
        settings.database_dsn,
        server_settings={"application_name": f"chorus-{settings.service_name}-purge"},
    )
    try:
        return await purge(conn, rules, dry_run=dry_run)
    finally:
        await conn.close()


def report(service: str, results: Sequence[PurgeResult], *, dry_run: bool) -> str:
    """The command's output: one line per rule, then the total."""
    verb = "would delete" if dry_run else "deleted"
    width = max((len(result.name) for result in results), default=0)
    lines = [f"chorus-{service} {COMMAND}{' (dry run)' if dry_run else ''}:"]
    for result in results:
        if result.skipped:
            lines.append(f"  {result.name:<{width}}  (no such table)")
            continue
        cutoff = result.cutoff.isoformat(timespec="seconds")
        what = f": {result.what}" if result.what else ""
        lines.append(
            f"  {result.name:<{width}}  {result.rows:>9} {verb}, older than {cutoff}{what}"
        )
    total = sum(result.rows for result in results)
    lines.append(f"  {'total':<{width}}  {total:>9} {verb}")
    return "\n".join(lines)


def purge_records_command(
    rules_of: Callable[[S], Sequence[PurgeRule]], argv: Sequence[str] | None = None
) -> tuple[list[str], dict[str, tuple[str, Callable[[S], Awaitable[None]]]]]:
    """``purge-records [--dry-run]`` for a service's ``run_cli``: returns the command line with
    ``--dry-run`` taken off (the shared CLI has no per-command options) and the ``extra``
    entry. ``rules_of`` gives the service's rules (the platform's included) from its settings.

    The command prints the counts per rule; settings that would break a guarantee make it
    print why on stderr and exit with status 2, deleting nothing."""
    args = list(sys.argv[1:] if argv is None else argv)
    dry_run = args[:1] == [COMMAND] and DRY_RUN in args[1:]
    if dry_run:
        args.remove(DRY_RUN)

    async def purge_records(settings: S) -> None:
        try:
            rules = rules_of(settings)
        except RetentionSettingsError as error:
            print(f"chorus-{settings.service_name} {COMMAND}: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        results = await purge_database(settings, rules, dry_run=dry_run)
        log.info(
            "records purged" if not dry_run else "records counted (dry run)",
            extra={"dry_run": dry_run, "rows": {result.name: result.rows for result in results}},
        )
        print(report(settings.service_name, results, dry_run=dry_run), flush=True)

    help_text = f"delete technical records past their retention ({DRY_RUN}: count only)"
    return args, {COMMAND: (help_text, purge_records)}
