"""Flow repository: ``flows`` (one row per deposit, its state, its lease while a worker holds
it) and ``flow_items`` (its report, one line per file)."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime

import asyncpg

from chorus_invoices.domain.flows import (
    PENDING,
    Flow,
    FlowError,
    FlowItem,
    FlowState,
    flow_number,
)
from chorus_invoices.domain.routing import Recipient

_FLOW_COLUMNS = (
    "id, number, supplier_structure_id, depositor, file_name, syntax, sha256, size, state,"
    " deposited_at, state_at, idempotency_key, notes::text AS notes, errors::text AS errors"
)
_PENDING = [state.value for state in PENDING]


async def next_number(conn: asyncpg.Connection) -> str:
    """A new flow number, ``CPP`` + 22 digits of the sequence (never reused)."""
    return flow_number(await conn.fetchval("SELECT nextval('flows_number_seq')"))


async def insert(
    conn: asyncpg.Connection,
    flow: Flow,
    *,
    content: bytes | None = None,
    supplier: Recipient | None = None,
) -> None:
    """Stores a flow; an archive waiting for the worker keeps its ``content`` and the
    ``supplier`` structure as the directory described it at deposit, until it is decided."""
    await conn.execute(
        "INSERT INTO flows (id, number, supplier_structure_id, depositor, file_name, syntax,"
        " sha256, size, state, deposited_at, state_at, idempotency_key, notes, errors, content,"
        " supplier) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
        " $13::jsonb, $14::jsonb, $15, $16::jsonb)",
        flow.id,
        flow.number,
        flow.supplier_structure_id,
        flow.depositor,
        flow.file_name,
        flow.syntax,
        flow.sha256,
        flow.size,
        flow.state.value,
        flow.deposited_at,
        flow.state_at,
        flow.idempotency_key,
        json.dumps(list(flow.notes), ensure_ascii=False),
        _errors_json(flow.errors),
        content,
        _supplier_json(supplier) if supplier is not None else None,
    )


async def insert_item(conn: asyncpg.Connection, flow_id: str, item: FlowItem) -> bool:
    """Adds a line to the report; False when the flow already has one for this file (another
    worker got there first): the line is never replaced."""
    done = await conn.fetchval(
        "INSERT INTO flow_items (flow_id, seq, file, invoice_number, supplier_identifier,"
        " recipient_identifier, invoice_id, invoice_cpp_id, errors)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)"
        " ON CONFLICT (flow_id, seq) DO NOTHING RETURNING true",
        flow_id,
        item.seq,
        item.file,
        item.invoice_number,
        item.supplier_identifier,
        item.recipient_identifier,
        item.invoice_id or None,
        item.invoice_cpp_id or None,
        _errors_json(item.errors),
    )
    return bool(done)


async def insert_item_strict(conn: asyncpg.Connection, flow_id: str, item: FlowItem) -> None:
    """Adds the line of a file deposited in this transaction: UniqueViolationError (rolling
    the deposit back with it) when the file already has one."""
    await conn.execute(
        "INSERT INTO flow_items (flow_id, seq, file, invoice_number, supplier_identifier,"
        " recipient_identifier, invoice_id, invoice_cpp_id, errors)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)",
        flow_id,
        item.seq,
        item.file,
        item.invoice_number,
        item.supplier_identifier,
        item.recipient_identifier,
        item.invoice_id or None,
        item.invoice_cpp_id or None,
        _errors_json(item.errors),
    )


async def by_number(conn: asyncpg.Connection, number: str) -> Flow | None:
    """The flow with its report, or None."""
    row = await conn.fetchrow(
        f"SELECT {_FLOW_COLUMNS} FROM flows WHERE number = $1",  # noqa: S608
        number,
    )
    if row is None:
        return None
    return _flow(row, await items(conn, str(row["id"])))


async def items(conn: asyncpg.Connection, flow_id: str) -> tuple[FlowItem, ...]:
    rows = await conn.fetch(
        "SELECT seq, file, invoice_number, supplier_identifier, recipient_identifier,"
        " invoice_id, invoice_cpp_id, errors::text AS errors FROM flow_items"
        " WHERE flow_id = $1 ORDER BY seq",
        flow_id,
    )
    return tuple(
        FlowItem(
            seq=r["seq"],
            file=r["file"],
            invoice_number=r["invoice_number"],
            supplier_identifier=r["supplier_identifier"],
            recipient_identifier=r["recipient_identifier"],
            invoice_id=str(r["invoice_id"]) if r["invoice_id"] else "",
            invoice_cpp_id=r["invoice_cpp_id"] or 0,
            errors=_errors(r["errors"]),
        )
        for r in rows
    )


@dataclass(frozen=True)
class Claim:
    """A pending flow a worker now holds, until ``lease_owner``'s lease runs out."""

    flow: Flow
    content: bytes
    supplier: Recipient | None
    """As recorded at deposit; None for a flow deposited before suppliers were recorded."""
    lease_owner: str
    attempts: int


async def claim(conn: asyncpg.Connection, lease_seconds: float) -> Claim | None:
    """Takes the oldest flow not decided yet whose lease is free or has run out (a worker
    that died): IN_EN_COURS_TRAITEMENT_CPP, leased ``lease_seconds`` to a new owner. Rows
    other workers are claiming at the same time are skipped (FOR UPDATE SKIP LOCKED)."""
    owner = str(uuid.uuid4())
    row = await conn.fetchrow(
        f"UPDATE flows SET state = $2, lease_owner = $3,"  # noqa: S608
        " lease_until = now() + make_interval(secs => $4), attempts = attempts + 1,"
        " state_at = CASE WHEN state = $2 THEN state_at ELSE now() END"
        " WHERE id = (SELECT id FROM flows WHERE state = ANY($1::text[])"
        "   AND (lease_until IS NULL OR lease_until < now())"
        "   ORDER BY deposited_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
        f" RETURNING {_FLOW_COLUMNS}, content, supplier::text AS supplier, attempts",
        _PENDING,
        FlowState.IN_EN_COURS_TRAITEMENT_CPP.value,
        owner,
        lease_seconds,
    )
    if row is None:
        return None
    return Claim(
        _flow(row, ()),
        bytes(row["content"] or b""),
        _supplier(row["supplier"]),
        owner,
        row["attempts"],
    )


async def renew(conn: asyncpg.Connection, claim: Claim, lease_seconds: float) -> bool:
    """Extends the lease; False when this worker no longer holds it."""
    renewed = await conn.fetchval(
        "UPDATE flows SET lease_until = now() + make_interval(secs => $3)"
        " WHERE id = $1 AND lease_owner = $2 RETURNING true",
        claim.flow.id,
        claim.lease_owner,
        lease_seconds,
    )
    return bool(renewed)


async def release(conn: asyncpg.Connection, claim: Claim, retry_seconds: float) -> None:
    """Gives the flow back, to be taken again in ``retry_seconds`` (a transient failure)."""
    await conn.execute(
        "UPDATE flows SET lease_owner = NULL, lease_until = now() + make_interval(secs => $3)"
        " WHERE id = $1 AND lease_owner = $2",
        claim.flow.id,
        claim.lease_owner,
        retry_seconds,
    )


async def decide(
    conn: asyncpg.Connection,
    claim: Claim,
    state: FlowState,
    *,
    notes: tuple[str, ...],
    errors: tuple[FlowError, ...],
    at: datetime,
) -> bool:
    """Writes the flow's final state and forgets its content, recorded supplier and lease;
    False when this worker no longer holds it (the one that does will decide)."""
    decided = await conn.fetchval(
        "UPDATE flows SET state = $3, state_at = $4, notes = $5::jsonb, errors = $6::jsonb,"
        " content = NULL, supplier = NULL, lease_owner = NULL, lease_until = NULL"
        " WHERE id = $1 AND lease_owner = $2 RETURNING true",
        claim.flow.id,
        claim.lease_owner,
        state.value,
        at,
        json.dumps(list(notes), ensure_ascii=False),
        _errors_json(errors),
    )
    return bool(decided)


def _flow(row: asyncpg.Record, found_items: tuple[FlowItem, ...]) -> Flow:
    return Flow(
        id=str(row["id"]),
        number=row["number"],
        supplier_structure_id=row["supplier_structure_id"],
        depositor=row["depositor"],
        file_name=row["file_name"],
        syntax=row["syntax"],
        sha256=row["sha256"],
        size=row["size"],
        state=FlowState(row["state"]),
        deposited_at=row["deposited_at"],
        state_at=row["state_at"],
        idempotency_key=row["idempotency_key"],
        notes=tuple(json.loads(row["notes"])),
        errors=_errors(row["errors"]),
        items=found_items,
    )


def _supplier_json(supplier: Recipient) -> str:
    """The supplier as the worker needs it (a supplier's own services play no part)."""
    return json.dumps(asdict(replace(supplier, services=())), ensure_ascii=False)


_SUPPLIER_FIELDS = {f.name for f in fields(Recipient)} - {"services"}


def _supplier(raw: str | None) -> Recipient | None:
    if raw is None:
        return None
    found = {k: v for k, v in json.loads(raw).items() if k in _SUPPLIER_FIELDS}
    return Recipient(**{**found, "address": tuple(found.get("address", ("",) * 5))})


def _errors_json(errors: tuple[FlowError, ...]) -> str:
    return json.dumps(
        [
            {"rule": e.rule, "xpath": e.xpath, "message": e.message, "reason": e.reason}
            for e in errors
        ],
        ensure_ascii=False,
    )


def _errors(raw: str) -> tuple[FlowError, ...]:
    return tuple(
        FlowError(e["rule"], e["xpath"], e["message"], e["reason"]) for e in json.loads(raw)
    )
