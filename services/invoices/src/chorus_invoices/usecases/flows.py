"""Flows (Chorus Pro ``deposer/flux``): deposit, report, and the worker that processes
archives.

Every file of a flow goes through :class:`StructuredDeposits` — the reading and checks of
``DepositStructuredInvoice`` (XSD, EN 16931 schematron, Chorus' rules) and the deposit of
:meth:`Deposits.create_valid` (access, recipient, routing, duplicates) — with deposit mode
FLOW and the flow's number on the invoice; its report line is written in the invoice's own
transaction (``within``), so a file is deposited and reported together, or neither.

- **One file** is decided before :meth:`Flows.deposit` answers: the flow is stored with its
  final state, IN_INTEGRE (with the invoice) or IN_REJETE (with the file's errors).
- **An archive** (ZIP, tar.gz) is stored IN_EN_ATTENTE_TRAITEMENT_CPP with its content and the
  supplier structure as the directory described it, and :class:`FlowWorker` takes it: a lease
  claimed with FOR UPDATE SKIP LOCKED, renewed before each file; each file without a report
  line is read and deposited; then IN_INTEGRE, IN_INTEGRE_PARTIEL or IN_REJETE, content and
  supplier forgotten. A worker that
  dies mid-flow leaves IN_EN_COURS_TRAITEMENT_CPP and its lease to run out; the next claim
  resumes with the files not reported yet, never depositing one twice (the report line and
  the invoice commit together; a second line for a file is refused by its key, rolling the
  second invoice back). A transient failure (structures or the database unreachable, the
  document workers starting) gives the flow back to be taken again a little later.

The depositor's right (MODIFICATION on the supplier's FACTURES_EMISES) is decided once, by
:meth:`Flows.deposit`; an archive records that decision (:class:`~.deposit.Issuer`: the
depositor and the supplier as the directory described it) rather than the depositor's access
token, which would expire with files still waiting. The worker deposits each file for that
issuer (the depositor as the invoice's actor) through :class:`~.deposit.PreAuthorizedDeposits`
— every check of the file as for any deposit, the right not asked again, recipients looked up
without a token in the public directory (a recipient must be a public structure) — so a flow
is processed however long it waited, and no token is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from chorus_platform.errors import DomainError, PermissionDenied, Unauthenticated, Unavailable
from chorus_platform.transient_errors import classify
from chorus_platform.unit_of_work import Transaction, UnitOfWork

from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.documents.archives import ArchiveEntry, ArchiveLimits, read_archive
from chorus_invoices.documents.intake import DocumentIntake
from chorus_invoices.documents.workers import DocumentWorkers, documents_duration, mark_retrieved
from chorus_invoices.domain import filenames
from chorus_invoices.domain.flows import (
    Flow,
    FlowError,
    FlowItem,
    FlowNotFound,
    FlowState,
    Format,
    check_deposit,
    errors_of,
    final_state,
    mislabel_note,
    parse_flow_number,
    sniff,
)
from chorus_invoices.domain.invoice import DepositMode, Invoice
from chorus_invoices.domain.validation import buyer_siret, seller_siret
from chorus_invoices.store import flows
from chorus_invoices.usecases import deposit_metrics
from chorus_invoices.usecases.access import CONSULTATION, SUPPLIER_SPACE
from chorus_invoices.usecases.deposit import Deposits, Issuer, PreAuthorizedDeposits
from chorus_invoices.usecases.structured_deposit import StructuredDeposits

log = logging.getLogger(__name__)

FLOW_ARCHIVE_LIMITS = ArchiveLimits(max_entries=1000, max_total_bytes=100 * 1024 * 1024)
"""An archive flow holds up to 1,000 files (a deposit batch of the portal, 200)."""
DEFAULT_FILE_NAME = "flux"


def _caller_error(error: DomainError) -> bool:
    """Errors that are the call's or the infrastructure's, not the file's: raised as they
    are instead of being reported as the file's refusal."""
    return isinstance(error, (Unavailable, PermissionDenied, Unauthenticated))


class Flows:
    def __init__(
        self,
        uow: UnitOfWork,
        structures: StructuresClient,
        deposits: Deposits,
        structured: StructuredDeposits,
        *,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        """``wake`` tells the flow worker an archive is waiting (it also polls)."""
        self._uow = uow
        self._structures = structures
        self._deposits = deposits
        self._structured = structured
        self._wake = wake

    async def deposit(
        self,
        user_id: str,
        supplier_structure_id: str,
        file_name: str,
        syntax: str,
        content: bytes,
        *,
        idempotency_key: str = "",
    ) -> Flow:
        """A new flow: decided already for one file, waiting for the worker for an archive.

        Refused only when the call is malformed (InvalidArgument FIELD_REQUIRED,
        FLOW_SYNTAX_UNKNOWN, FILE_REQUIRED, FLOW_TOO_LARGE) or the caller may not issue
        invoices for the supplier (AccessDenied); a file that fails its checks is a flow
        IN_REJETE. Unavailable when structures or the document workers do not answer
        (nothing stored then). An archive keeps the decision on the depositor's right with it
        (:meth:`Deposits.authorize`) for the worker."""
        supplier = supplier_structure_id.strip()
        syntax = syntax.strip()
        check_deposit(supplier, syntax, content)
        fmt = sniff(content)
        issuer = None
        if fmt.archive:
            issuer = await self._deposits.authorize(user_id, supplier)
        else:
            await self._deposits.check_issuer(user_id, supplier)
        now = datetime.now(UTC)
        async with self._uow.reading() as conn:
            number = await flows.next_number(conn)
        flow = Flow(
            id=str(uuid.uuid4()),
            number=number,
            supplier_structure_id=supplier,
            depositor=user_id,
            file_name=filenames.safe_filename(file_name, DEFAULT_FILE_NAME),
            syntax=syntax,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            state=FlowState.IN_EN_ATTENTE_TRAITEMENT_CPP,
            deposited_at=now,
            state_at=now,
            idempotency_key=idempotency_key,
        )
        if issuer is not None:
            async with self._uow.transaction() as tx:
                await flows.insert(tx.conn, flow, content=content, supplier=issuer.supplier)
            self._wake()
            return flow
        return await self._single(flow, content, fmt)

    async def _single(self, flow: Flow, content: bytes, fmt: Format) -> Flow:
        """One file, read and deposited now; the flow stored decided."""
        user, supplier = flow.depositor, flow.supplier_structure_id
        flow = replace(flow, notes=mislabel_note(flow.syntax, [fmt]))
        item = FlowItem(seq=0, file=flow.file_name)
        try:
            intake = await self._structured.read(user, supplier, flow.file_name, content)
        except DomainError as error:
            if _caller_error(error):
                raise
            item = await _refused(self._structured, item, content, error, fmt)
            return await self._rejected(flow, item)
        item = _identified(item, intake.invoice)
        decided = replace(flow, state=FlowState.IN_INTEGRE, state_at=datetime.now(UTC))

        async def record(tx: Transaction, invoice: Invoice) -> None:
            nonlocal item
            item = replace(item, invoice_id=invoice.id, invoice_cpp_id=invoice.cpp_id)
            await flows.insert(tx.conn, decided)
            await flows.insert_item_strict(tx.conn, decided.id, item)

        try:
            await self._structured.deposit_read(
                user,
                supplier,
                flow.file_name,
                content,
                intake,
                mode=DepositMode.FLOW,
                flow_number=flow.number,
                within=record,
            )
        except DomainError as error:
            if _caller_error(error):
                raise
            item = await _refused(self._structured, item, content, error, fmt)
            return await self._rejected(flow, item)
        return replace(decided, items=(item,))

    async def _rejected(self, flow: Flow, item: FlowItem) -> Flow:
        rejected = replace(
            flow, state=FlowState.IN_REJETE, state_at=datetime.now(UTC), items=(item,)
        )
        async with self._uow.transaction() as tx:
            await flows.insert(tx.conn, rejected)
            await flows.insert_item(tx.conn, rejected.id, item)
        return rejected

    async def get(self, user_id: str, number: str) -> Flow:
        """The flow with its report, for whoever may consult the supplier's FACTURES_EMISES;
        FlowNotFound otherwise (malformed numbers included)."""
        number = parse_flow_number(number)
        async with self._uow.reading() as conn:
            flow = await flows.by_number(conn, number)
        if flow is None or not await self._structures.may(
            user_id, flow.supplier_structure_id, SUPPLIER_SPACE, CONSULTATION
        ):
            raise FlowNotFound()
        return flow


async def _refused(
    structured: StructuredDeposits, item: FlowItem, content: bytes, error: DomainError, fmt: Format
) -> FlowItem:
    """The report line of a refused file: its errors, and the invoice number and parties it
    states even when its checks failed before they were read."""
    if not item.invoice_number:
        identity = await structured.identify(content)
        item = replace(
            item,
            invoice_number=identity.number,
            supplier_identifier=identity.seller_siret,
            recipient_identifier=identity.buyer_siret,
        )
    return replace(item, errors=errors_of(error, fmt))


def _identified(item: FlowItem, model) -> FlowItem:
    """The item with the invoice number and the parties' SIRET the file states."""
    return replace(
        item,
        invoice_number=model.number,
        supplier_identifier=seller_siret(model),
        recipient_identifier=buyer_siret(model),
    )


class _Stop(Exception):
    """The worker lets go of the flow (lease lost, or given back after a transient failure)."""


class FlowWorker:
    """Processes the archive flows waiting, one at a time, oldest first (a background job).

    Holds no caller: each file is deposited for the flow's recorded issuer through
    :class:`PreAuthorizedDeposits` (``structured`` reads and checks it, ``deposits`` stores it),
    and nothing it asks of structures carries a token."""

    def __init__(
        self,
        uow: UnitOfWork,
        structured: StructuredDeposits,
        deposits: Deposits,
        workers: DocumentWorkers,
        *,
        poll_seconds: float,
        lease_seconds: float,
        retry_seconds: float = 5.0,
        max_attempts: int = 20,
        archive_limits: ArchiveLimits = FLOW_ARCHIVE_LIMITS,
    ) -> None:
        self._uow = uow
        self._structured = structured
        self._deposits = deposits
        self._workers = workers
        self._poll = poll_seconds
        self._lease = lease_seconds
        self._retry = retry_seconds
        self._max_attempts = max_attempts
        self._limits = archive_limits
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """An archive was deposited: look now rather than at the next poll."""
        self._woken.set()

    async def run(self) -> None:
        while True:
            self._woken.clear()  # a wake-up from now on is for a flow this step may miss
            try:
                worked = await self.process_next()
            except Exception as error:  # the loop outlives any one flow
                transient = classify(error) is not None
                log.warning(
                    "flow worker step failed",
                    exc_info=not transient,
                    extra={"error_type": type(error).__name__},
                )
                worked = False
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), self._poll)

    async def process_next(self) -> bool:
        """Claims and processes one waiting flow; False when there is none."""
        async with self._uow.transaction() as tx:
            claim = await flows.claim(tx.conn, self._lease)
        if claim is None:
            return False
        started = time.monotonic()
        with contextlib.suppress(_Stop):
            await self._process(claim)
        documents_duration.record(time.monotonic() - started, {"task": "flow"})
        return True

    async def _process(self, claim: flows.Claim) -> None:
        flow = claim.flow
        try:
            entries = await self._workers.run(read_archive, claim.content, self._limits)
        except DomainError as error:
            if _caller_error(error):
                await self._give_back(claim)
            await self._decide(claim, flow_errors=errors_of(error))
            return
        files = None
        if claim.supplier is not None:
            issuer = Issuer(flow.depositor, flow.supplier_structure_id, claim.supplier)
            files = self._structured.through(PreAuthorizedDeposits(self._deposits, issuer))
        async with self._uow.reading() as conn:
            done = {item.seq for item in await flows.items(conn, flow.id)}
        todo = [(seq, entry) for seq, entry in enumerate(entries) if seq not in done]
        # The next files, one per document worker, are read (XSD, schematron: the workers)
        # while this one is deposited (the database): the two overlap instead of taking turns.
        reads: dict[int, asyncio.Future[DocumentIntake]] = {}
        ahead = max(1, self._workers.processes)

        def read_ahead(index: int) -> None:
            if index >= len(todo) or files is None or claim.attempts > self._max_attempts:
                return
            seq, entry = todo[index]
            if entry.refusal is None and seq not in reads:
                user, supplier = flow.depositor, flow.supplier_structure_id
                read = asyncio.ensure_future(files.read(user, supplier, entry.name, entry.content))
                read.add_done_callback(mark_retrieved)
                reads[seq] = read

        try:
            for index, (seq, entry) in enumerate(todo):
                for later in range(index, index + ahead + 1):
                    read_ahead(later)
                # Renewed before each file, so the lease covers the file's whole processing.
                async with self._uow.transaction() as tx:
                    if not await flows.renew(tx.conn, claim, self._lease):
                        raise _Stop()
                await self._file(claim, files, seq, entry, reads.pop(seq, None))
        finally:
            for read in reads.values():
                read.cancel()
        formats = [sniff(entry.content) for entry in entries if entry.refusal is None]
        await self._decide(claim, notes=mislabel_note(flow.syntax, formats))

    async def _file(
        self,
        claim: flows.Claim,
        files: StructuredDeposits | None,
        seq: int,
        entry: ArchiveEntry,
        read: asyncio.Future[DocumentIntake] | None = None,
    ) -> None:
        """Deposits one file of the flow through ``files`` (None: the flow recorded no
        supplier, deposited before they were) and reports it, or reports why not; ``read``:
        its reading, started ahead."""
        flow = claim.flow
        user, supplier = flow.depositor, flow.supplier_structure_id
        item = FlowItem(seq=seq, file=entry.name)
        if entry.refusal is not None:
            reason, message = entry.refusal
            await self._report(flow, item, (FlowError(reason, "/", message, reason),))
            return
        if files is None:
            await self._report(flow, item, _stopped("FLOW_PROCESSING_FAILED", _UNRECORDED))
            return
        if claim.attempts > self._max_attempts:
            await self._report(flow, item, _stopped("FLOW_PROCESSING_FAILED", _GAVE_UP))
            return
        fmt = sniff(entry.content)
        try:
            intake = await (
                read if read is not None else files.read(user, supplier, entry.name, entry.content)
            )
            item = _identified(item, intake.invoice)

            async def record(tx: Transaction, invoice: Invoice) -> None:
                deposited = replace(item, invoice_id=invoice.id, invoice_cpp_id=invoice.cpp_id)
                await flows.insert_item_strict(tx.conn, flow.id, deposited)

            await files.deposit_read(
                user,
                supplier,
                entry.name,
                entry.content,
                intake,
                mode=DepositMode.FLOW,
                flow_number=flow.number,
                within=record,
            )
            deposit_metrics.count("flow", "accepted")
        except DomainError as error:
            if isinstance(error, Unavailable):
                await self._give_back(claim)
            refused = await _refused(self._structured, item, entry.content, error, fmt)
            await self._report(flow, refused, refused.errors)
            deposit_metrics.count("flow", "refused")
        except Exception as error:
            if classify(error) is not None:
                await self._give_back(claim)
            log.exception("flow file failed", extra={"flow": flow.number, "file_seq": seq})
            await self._report(flow, item, _stopped("FLOW_FILE_FAILED", _FAILED))

    async def _report(self, flow: Flow, item: FlowItem, errors: tuple[FlowError, ...]) -> None:
        async with self._uow.transaction() as tx:
            await flows.insert_item(tx.conn, flow.id, replace(item, errors=errors))

    async def _give_back(self, claim: flows.Claim) -> None:
        """A transient failure: the flow is taken again in ``retry_seconds``."""
        async with self._uow.transaction() as tx:
            await flows.release(tx.conn, claim, self._retry)
        log.info("flow given back after a transient failure", extra={"flow": claim.flow.number})
        raise _Stop()

    async def _decide(
        self,
        claim: flows.Claim,
        *,
        notes: tuple[str, ...] = (),
        flow_errors: tuple[FlowError, ...] = (),
    ) -> None:
        async with self._uow.transaction() as tx:
            reported = await flows.items(tx.conn, claim.flow.id)
            state = final_state(reported, flow_errors)
            decided = await flows.decide(
                tx.conn, claim, state, notes=notes, errors=flow_errors, at=datetime.now(UTC)
            )
        if decided:
            deposited = sum(1 for item in reported if item.deposited)
            log.info(
                "flow decided",
                extra={
                    "flow": claim.flow.number,
                    "state": state.value,
                    "files": len(reported),
                    "deposited": deposited,
                },
            )


_UNRECORDED = (
    "Ce flux a été déposé avant une mise à jour de Chorus et n'a pas pu être repris : déposez"
    " ce fichier à nouveau dans un autre flux."
)
_GAVE_UP = (
    "Ce fichier n'a pas pu être traité après plusieurs tentatives : déposez-le à nouveau"
    " dans un autre flux."
)
_FAILED = "Ce fichier n'a pas pu être traité : déposez-le à nouveau dans un autre flux."


def _stopped(reason: str, message: str) -> tuple[FlowError, ...]:
    return (FlowError(reason, "/", message, reason),)
