"""The directory read model: the structures invoices deposits for and to, kept locally so
that a deposit does not ask structures over gRPC for data that changes rarely (issue 16).

Two writers keep it:

* the consumer of structures' events (events/directory.py) applies StructureCreated,
  StructureUpdated, ServiceCreated and ServiceUpdated in their time order (``ce_time``): an
  event older than the state held is dropped, so a late or redelivered event never brings an
  older state back; DirectoryImported (an import changed structures without one event each)
  marks every entry stale;
* :class:`Directory`, for :class:`~chorus_invoices.clients.structures.StructuresClient`: on a
  miss (no entry, a stale one, or one not confirmed for ``max_age``) the client asks
  structures and :meth:`Directory.remember` stores the answer as the state of a moment a
  little before it was asked (``ANSWER_MARGIN``: an update in flight then, whose event comes
  later, still applies after it).

Who may see what is not decided here: entries say whether they are public and the client
answers an anonymous look-up with public structures only, as structures does.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from chorus_platform.unit_of_work import Transaction, UnitOfWork
from opentelemetry import metrics

from chorus_invoices.domain.directory import DirectoryEntry
from chorus_invoices.store import directory as store

log = logging.getLogger(__name__)

COUNTER_NAME = "chorus.invoices.directory.lookups"

ANSWER_MARGIN = timedelta(seconds=5)
"""An answer of structures stands for the state this long before it was asked: longer than
a structures transaction plus the clock difference between the two services."""


def _uuid(structure_id: str) -> UUID | None:
    try:
        return UUID(structure_id)
    except ValueError:
        return None


class Directory:
    """Reads of the read model for the structures client, and the storing of its answers.

    ``max_age``: how long an entry is used without news (events or answers) before it is
    asked again — a bound on how long anything the events missed can last. Look-ups are
    counted (``chorus.invoices.directory.lookups``) by what they found: ``fresh`` (answered
    here), ``stale`` or ``absent`` (asked of structures).
    """

    def __init__(
        self, uow: UnitOfWork, *, max_age: timedelta, meter: metrics.Meter | None = None
    ) -> None:
        self._uow = uow
        self._max_age = max_age
        self._writes: set[asyncio.Task] = set()
        meter = meter or metrics.get_meter("chorus_invoices")
        self._lookups = meter.create_counter(
            COUNTER_NAME,
            unit="{lookup}",
            description="Structure look-ups of the directory read model, by what they found.",
        )

    async def cached(self, structure_id: str) -> DirectoryEntry | None:
        """The fresh entry of ``structure_id``, or None (to be asked of structures)."""
        key = _uuid(structure_id)
        if key is None:  # structures' answer (INVALID_ARGUMENT) is left to structures
            return None
        async with self._uow.reading() as conn:
            found = await store.by_id(conn, key, self._max_age)
        return self._counted([found] if found is not None else [])

    async def cached_by_identifier(
        self, identifier_type: str, identifier: str
    ) -> DirectoryEntry | None:
        """The one fresh entry registered under (``identifier_type``, ``identifier``) as
        structures normalised it, or None (to be asked of structures)."""
        async with self._uow.reading() as conn:
            found = await store.by_identifier(conn, identifier_type, identifier, self._max_age)
        return self._counted(found)

    def _counted(self, found: list[tuple[DirectoryEntry, bool]]) -> DirectoryEntry | None:
        """The one fresh entry found, or None (none, a stale one, or two: one of them is out
        of date); counted."""
        if not found:
            self._lookups.add(1, {"found": "absent"})
            return None
        if len(found) > 1 or not found[0][1]:
            self._lookups.add(1, {"found": "stale"})
            return None
        self._lookups.add(1, {"found": "fresh"})
        return found[0][0]

    def remember(self, entry: DirectoryEntry, asked_at: datetime) -> None:
        """Stores structures' answer, asked at ``asked_at``, in the background: outside the
        RPC's transaction (which may roll back, or hold the row while other deposits wait)
        and without making the deposit wait for it."""
        task = asyncio.create_task(self._save(entry, asked_at), context=contextvars.Context())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def settled(self) -> None:
        """Waits for the answers being stored (tests, shutdown)."""
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def _save(self, entry: DirectoryEntry, asked_at: datetime) -> None:
        try:
            async with self._uow.transaction() as tx:
                await store.save_answer(
                    tx.conn, entry, version=asked_at - ANSWER_MARGIN, asked_at=asked_at
                )
        except Exception:  # a cache write: the next look-up asks structures again
            log.warning(
                "directory answer not stored",
                exc_info=True,
                extra={"structure_id": entry.structure_id},
            )


async def structure_described(tx: Transaction, entry: DirectoryEntry, at: datetime | None) -> None:
    """StructureCreated / StructureUpdated of time ``at``: the whole structure as it then
    was, stored unless the entry holds a newer state. Without a time the entry is only marked
    to be asked again."""
    if at is None:
        await _mark_stale(tx, entry.structure_id)
        return
    if not await store.save_event_state(tx.conn, entry, at):
        log.info(
            "older structure state dropped",
            extra={"structure_id": entry.structure_id, "at": at.isoformat()},
        )


async def service_changed(
    tx: Transaction,
    structure_id: str,
    at: datetime | None,
    revise: Callable[[bytes], bytes],
) -> None:
    """ServiceCreated / ServiceUpdated of time ``at``: ``revise`` puts the service into the
    entry's payload, unless the entry holds a newer state. A structure without an entry is
    left to be asked of structures when it is first used."""
    key = _uuid(structure_id)
    if key is None:
        log.warning("service event without a valid structure id", extra={"id": structure_id})
        return
    if at is None:
        await _mark_stale(tx, structure_id)
        return
    held = await store.lock(tx.conn, key)
    if held is None:
        return
    payload, version = held
    if version > at:
        log.info(
            "older service state dropped",
            extra={"structure_id": structure_id, "at": at.isoformat()},
        )
        return
    await store.replace_payload(tx.conn, key, revise(payload), at)


async def directory_imported(tx: Transaction) -> None:
    """DirectoryImported: structures changed without one event each, so every entry is asked
    again before its next use."""
    marked = await store.mark_stale(tx.conn)
    log.info("directory import: entries marked stale", extra={"entries": marked})


async def _mark_stale(tx: Transaction, structure_id: str) -> None:
    key = _uuid(structure_id)
    if key is not None:
        await store.mark_stale(tx.conn, key)
