"""Sustained throughput (issue #16), what waits where: the backlog of each stage of the stack
and the CPU each part uses.

:class:`Backlogs` reads, on demand: unpublished outbox rows of each service's database,
invoices still ``DEPOSEE``, each consumer group's lag (end offsets minus committed offsets, from
the broker), e-mails due and not sent, any document queue table found in the invoices database
(discovered by name and columns, so that the harness works before and after the queues are
added), flows not decided yet. :class:`CpuMeter` adds up the CPU time of each service (its
workers apart), PostgreSQL, the broker and the bench process.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence

import asyncpg
from chorus_platform.settings import with_database


def database_url(stack, service: str) -> str:
    """The DSN of a service's own database on the stack's server (``chorus_<svc>``)."""
    return with_database(stack.env["CHORUS_DATABASE_URL"], f"chorus_{service}")


# -- backlogs -----------------------------------------------------------------------------------

#: Tables of the invoices database whose name says "work queue" are counted as one: with a
#: status-like column, the rows in these states; with a completion timestamp, the rows without
#: it; with ``failed_at`` (rows deleted when done, kept when given up, as
#: ``facturx_renderings``), the rows not failed; with ``queued_at`` or a lease, every row.
QUEUE_NAME_HINTS = ("render", "queue", "job", "task", "pending", "work", "document_")
PENDING_STATES = ("PENDING", "QUEUED", "WAITING", "NEW", "RUNNING", "CLAIMED", "IN_PROGRESS")
DONE_COLUMNS = ("done_at", "rendered_at", "completed_at", "finished_at", "processed_at")
KNOWN_TABLES = frozenset(
    {
        "invoices",
        "invoice_lines",
        "invoice_vat_breakdown",
        "invoice_history",
        "outbox",
        "inbox",
        "idempotency_keys",
        "outbox_high_water",
        "dead_letters",
        "schema_migrations",
        "documents",
        "invoice_rule_warnings",
        "staged_attachments",
        "flows",
        "flow_items",
    }
)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _processes() -> Iterable[tuple[int, int, int, float]]:
    """(pid, parent pid, session id, CPU seconds) of every process, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                text = stat.read()
        except OSError:  # gone meanwhile
            continue
        fields = text[text.rindex(")") + 2 :].split()
        # state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
        yield (
            int(entry.name),
            int(fields[1]),
            int(fields[3]),
            (int(fields[11]) + int(fields[12])) / ticks,
        )


def _command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class CpuMeter:
    """CPU seconds used so far by each part of the stack: each service and, apart, its workers
    (the other processes of its session), PostgreSQL (the postmaster and its backends), the
    broker, and this process (the load generator, the sampler and the in-process SMTP
    catcher). Processes that have exited no longer count: a reading covers the living ones."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.postmaster: int | None = None
        self.broker: int | None = None

    async def start(self, conn: asyncpg.Connection) -> None:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        self.postmaster = next((ppid for pid, ppid, _, _ in _processes() if pid == backend), None)
        port = self.stack.env["CHORUS_KAFKA_BOOTSTRAP"].rsplit(":", 1)[1]
        for pid, _, _, _ in _processes():
            line = _command_line(pid)
            if "tansu" in line and f":{port}" in line:
                self.broker = pid
                break

    def read(self) -> dict[str, float]:
        services = {pid: name for name, pid in self.stack.service_pids().items()}
        me = os.getpid()
        totals: dict[str, float] = dict.fromkeys([*services.values(), "postgres", "broker"], 0.0)
        totals["bench process"] = 0.0
        for pid, ppid, session, seconds in _processes():
            if session in services:
                # The service's own process, and its workers (document, flow) apart.
                name = services[session] if pid == session else f"{services[session]} workers"
                totals[name] = totals.get(name, 0.0) + seconds
            elif self.postmaster is not None and self.postmaster in (pid, ppid):
                totals["postgres"] += seconds
            elif pid == self.broker:
                totals["broker"] += seconds
            elif pid == me:
                totals["bench process"] += seconds
        return totals


def cpu_shares(before: dict[str, float], after: dict[str, float], seconds: float) -> dict:
    """Each part's CPU between two readings, as a share of one core."""
    return {
        name: max(0.0, after[name] - before.get(name, 0.0)) / seconds
        for name in after
        if seconds > 0
    }


class Backlogs:
    """Reads, on demand, what waits at each stage (see the module docstring). Stages whose
    table does not exist are left out, so it works before and after the services change."""

    def __init__(
        self,
        stack,
        services: Sequence[str] = ("identity", "structures", "invoices", "notifications"),
    ) -> None:
        self.stack = stack
        self.services = tuple(services)
        self.conns: dict[str, asyncpg.Connection] = {}
        self.queries: list[tuple[str, str, str]] = []  # (stage, service, SQL)
        self.groups: list[str] = []  # consumer groups
        self.topics: list[str] = []
        self.committed_readers: dict = {}  # consumer group -> a consumer of that group id
        self.admin = None
        self.offsets_reader = None
        self.cpu = CpuMeter(stack)

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.admin import AIOKafkaAdminClient

        for service in self.services:
            self.conns[service] = await asyncpg.connect(database_url(self.stack, service))
        for service, conn in self.conns.items():
            if await conn.fetchval("SELECT to_regclass('outbox') IS NOT NULL"):
                self.queries.append(
                    (
                        f"outbox unpublished ({service})",
                        service,
                        "SELECT count(*) FROM outbox WHERE published_at IS NULL",
                    )
                )
        if "invoices" in self.conns:
            self.queries.append(
                (
                    "invoices DEPOSEE (not routed)",
                    "invoices",
                    "SELECT count(*) FROM invoices WHERE status = 'DEPOSEE'",
                )
            )
            self.queries += await self._document_queues(self.conns["invoices"])
            self.queries.append(
                (
                    "flows not decided",
                    "invoices",
                    "SELECT count(*) FROM flows WHERE state IN "
                    "('IN_EN_ATTENTE_TRAITEMENT_CPP', 'IN_EN_COURS_TRAITEMENT_CPP')",
                )
            )
        if "notifications" in self.conns:
            self.queries.append(
                (
                    "e-mails due, not sent (notifications)",
                    "notifications",
                    "SELECT count(*) FROM emails WHERE status = 'SENDING'"
                    " OR (status = 'PENDING' AND next_attempt_at <= now())",
                )
            )
        await self.cpu.start(next(iter(self.conns.values())))
        bootstrap = self.stack.env["CHORUS_KAFKA_BOOTSTRAP"]
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await self.admin.start()
        self.offsets_reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        await self.offsets_reader.start()
        await self.discover_groups()

    async def _document_queues(self, conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
        rows = await conn.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        )
        tables: dict[str, dict[str, str]] = {}
        for row in rows:
            tables.setdefault(row["table_name"], {})[row["column_name"]] = row["data_type"]
        found = []
        for table, columns in tables.items():
            if table in KNOWN_TABLES or not any(h in table for h in QUEUE_NAME_HINTS):
                continue
            status = next((c for c in ("status", "state") if c in columns), None)
            done = next((c for c in DONE_COLUMNS if c in columns), None)
            count = f"SELECT count(*) FROM {_ident(table)}"
            if status is not None:
                states = ", ".join(f"'{s}'" for s in PENDING_STATES)
                sql = f"{count} WHERE upper({_ident(status)}::text) IN ({states})"
            elif done is not None:
                sql = f"{count} WHERE {_ident(done)} IS NULL"
            elif "failed_at" in columns:
                # A queue whose rows go when done, and stay with failed_at when given up.
                sql = f"{count} WHERE failed_at IS NULL"
            elif "queued_at" in columns or "lease_until" in columns:
                sql = count
            else:
                continue
            found.append((f"{table} pending (invoices)", "invoices", sql))
        return found

    async def discover_groups(self) -> None:
        """The consumer groups the broker knows (the services' consumers have joined by now) and
        the events topics. A group's committed offsets are read with a consumer of that group
        id that never subscribes (the embedded broker does not answer the admin client's
        OffsetFetch); a topic counts for a group once it has committed on it."""
        from aiokafka import AIOKafkaConsumer

        with contextlib.suppress(Exception):  # a broker without ListGroups: the known ones
            self.groups = sorted({entry[0] for entry in await self.admin.list_consumer_groups()})
        for group in ("invoices-routing", "notifications"):
            if group not in self.groups:
                self.groups.append(group)
        self.topics = sorted(
            t
            for t in await self.admin.list_topics()
            if t.startswith("chorus.") and not t.endswith(".dlq")
        )
        bootstrap = self.stack.env["CHORUS_KAFKA_BOOTSTRAP"]
        for group in self.groups:
            reader = AIOKafkaConsumer(
                bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
            )
            await reader.start()
            self.committed_readers[group] = reader

    async def sample(self) -> dict[str, float]:
        """Each stage's backlog now."""
        values: dict[str, float] = {}
        for stage, service, sql in self.queries:
            values[stage] = float(await self.conns[service].fetchval(sql))
        values.update(await self._lags())
        return values

    async def _lags(self) -> dict[str, float]:
        from aiokafka import TopicPartition

        partitions = [
            TopicPartition(topic, p)
            for topic in self.topics
            for p in sorted(self.offsets_reader.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            await self.offsets_reader.force_metadata_update()
            return {}
        ends = await self.offsets_reader.end_offsets(partitions)
        lags: dict[str, float] = {}
        for group, reader in self.committed_readers.items():
            lag, consumed = 0, False
            for tp in partitions:
                done = await reader.committed(tp)
                if done is not None and done >= 0:
                    consumed = True
                    lag += max(0, ends[tp] - done)
            if consumed:
                lags[f"consumer lag ({group})"] = float(lag)
        return lags

    async def stop(self) -> None:
        for conn in self.conns.values():
            await conn.close()
        if self.admin is not None:
            await self.admin.close()
        if self.offsets_reader is not None:
            await self.offsets_reader.stop()
        for reader in self.committed_readers.values():
            await reader.stop()
