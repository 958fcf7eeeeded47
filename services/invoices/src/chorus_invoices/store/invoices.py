"""Invoice repository: the ``invoices`` row with its lines and VAT breakdown, and the
invoice's EN 16931 model as a JSONB document (``document``, the codec's JSON) beside them."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from chorus_invoices.domain import en16931
from chorus_invoices.domain.en16931_codec import from_json, to_json
from chorus_invoices.domain.errors import InvoiceNumberDuplicate
from chorus_invoices.domain.invoice import (
    DepositMode,
    Framework,
    Invoice,
    InvoiceContent,
    InvoiceFilter,
    InvoiceType,
    Line,
    StructureRef,
    lines_of,
)
from chorus_invoices.domain.lifecycle import Status
from chorus_invoices.domain.listing import SortColumn
from chorus_invoices.domain.totals import Totals, VatAmount

_COLUMNS = (
    "id, number, supplier_structure_id, supplier_name, recipient_structure_id, recipient_name,"
    " service_code, engagement_number, framework, type, issue_date, currency, payment_terms,"
    " comment, net_total, vat_total, gross_total, amount_due, status, created_by, created_at,"
    " updated_at, deposited_by, deposited_at, preceding_invoice, vat_exemption_reason,"
    " type_code, line_total, allowance_total, charge_total, prepaid_amount, rounding_amount,"
    " deposit_mode, flow_number"
)
# What is read back: the stored columns and what the database or later steps add to the row.
_READ = _COLUMNS + ", rejection_acknowledged_at, cpp_id, recipient_downloaded_at"


async def insert(conn: asyncpg.Connection, invoice: Invoice) -> int:
    """Stores a new invoice and answers the integer id (``cpp_id``) the sequence gave it;
    InvoiceNumberDuplicate when its number is taken that year."""
    content = invoice.content
    try:
        async with conn.transaction():
            cpp_id = await conn.fetchval(
                f"INSERT INTO invoices ({_COLUMNS}, issue_year, document) VALUES ($1, $2, $3,"  # noqa: S608
                " $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,"
                " $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35,"
                " $36::jsonb)"
                " RETURNING cpp_id",
                *_row(invoice),
            )
    except asyncpg.UniqueViolationError:
        raise InvoiceNumberDuplicate(content.number, content.issue_date.year) from None
    await _insert_rows(conn, invoice)
    return cpp_id


def _row(invoice: Invoice) -> tuple:
    """The invoices row's values, in the order of ``_COLUMNS``, issue_year, document."""
    content, totals = invoice.content, invoice.totals
    return (
        invoice.id,
        content.number,
        invoice.supplier.structure_id,
        invoice.supplier.name,
        invoice.recipient.structure_id,
        invoice.recipient.name,
        content.service_code,
        content.engagement_number,
        content.framework.value,
        content.type.value,
        content.issue_date,
        content.currency,
        content.payment_terms,
        content.comment,
        totals.net_total,
        totals.vat_total,
        totals.gross_total,
        totals.amount_due,
        invoice.status.value,
        invoice.created_by,
        invoice.created_at,
        invoice.updated_at,
        invoice.deposited_by,
        invoice.deposited_at,
        content.preceding_invoice,
        content.vat_exemption_reason,
        content.invoice_type_code,
        totals.line_total if totals.line_total is not None else totals.net_total,
        totals.allowance_total,
        totals.charge_total,
        totals.prepaid,
        totals.rounding,
        invoice.deposit_mode.value,
        invoice.flow_number or None,
        content.issue_date.year,
        _document_json(content.document),
    )


async def _insert_rows(conn: asyncpg.Connection, invoice: Invoice) -> None:
    """The invoice's lines and VAT breakdown."""
    content, totals = invoice.content, invoice.totals
    await conn.executemany(
        "INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit,"
        " unit_price, vat_rate, net_amount, vat_category)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            (
                invoice.id,
                position,
                line.description,
                line.quantity,
                line.unit,
                line.unit_price,
                line.vat_rate,
                line.net_amount,
                line.category,
            )
            for position, line in enumerate(content.lines)
        ],
    )
    await conn.executemany(
        "INSERT INTO invoice_vat_breakdown (invoice_id, position, rate, base, amount, category,"
        " exemption_reason, exemption_reason_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            (
                invoice.id,
                position,
                v.rate,
                v.base,
                v.amount,
                v.category_code,
                v.exemption_reason,
                v.exemption_reason_code,
            )
            for position, v in enumerate(totals.vat_breakdown)
        ],
    )


async def update_draft(conn: asyncpg.Connection, invoice: Invoice) -> None:
    """Replaces the stored content of a draft (same id, ``cpp_id``, creation and history):
    every column, its lines and VAT breakdown. InvoiceNumberDuplicate when its new number is
    taken that year. The caller holds the row locked and has checked it is a draft."""
    content = invoice.content
    placeholders = ", ".join(f"${i}" for i in range(2, 36)) + ", $36::jsonb"
    try:
        async with conn.transaction():
            await conn.execute(
                f"UPDATE invoices SET ({_COLUMNS}, issue_year, document) = ROW($1, {placeholders})"  # noqa: S608
                " WHERE id = $1",
                *_row(invoice),
            )
    except asyncpg.UniqueViolationError:
        raise InvoiceNumberDuplicate(content.number, content.issue_date.year) from None
    await conn.execute("DELETE FROM invoice_lines WHERE invoice_id = $1", invoice.id)
    await conn.execute("DELETE FROM invoice_vat_breakdown WHERE invoice_id = $1", invoice.id)
    await _insert_rows(conn, invoice)


def _document_json(document: en16931.Invoice | None) -> str | None:
    return None if document is None else json.dumps(to_json(document), ensure_ascii=False)


async def get(
    conn: asyncpg.Connection, invoice_id: str, *, lock: bool = False, details: bool = True
) -> Invoice | None:
    """The invoice, or None. ``lock`` takes its row lock (inside a transaction) for a change;
    ``details=False`` skips lines and VAT breakdown."""
    query = f"SELECT {_READ}, document::text AS document FROM invoices WHERE id = $1"  # noqa: S608
    row = await conn.fetchrow(query + (" FOR UPDATE" if lock else ""), invoice_id)
    if row is None:
        return None
    if not details:
        return _invoice(row, (), ())
    lines = await conn.fetch(
        "SELECT description, quantity, unit, unit_price, vat_rate, net_amount, vat_category"
        " FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
        invoice_id,
    )
    vat = await conn.fetch(
        "SELECT rate, base, amount, category, exemption_reason, exemption_reason_code"
        " FROM invoice_vat_breakdown WHERE invoice_id = $1 ORDER BY position",
        invoice_id,
    )
    return _invoice(row, lines, vat, row["document"])


async def id_of(conn: asyncpg.Connection, cpp_id: int) -> str | None:
    """The UUID of the invoice whose integer id is ``cpp_id``, or None."""
    found = await conn.fetchval("SELECT id FROM invoices WHERE cpp_id = $1", cpp_id)
    return str(found) if found is not None else None


async def save_status(conn: asyncpg.Connection, invoice: Invoice) -> None:
    """Writes the invoice's status, update time and depositor (the row must be locked)."""
    await conn.execute(
        "UPDATE invoices SET status = $2, updated_at = $3, deposited_by = $4, deposited_at = $5"
        " WHERE id = $1",
        invoice.id,
        invoice.status.value,
        invoice.updated_at,
        invoice.deposited_by,
        invoice.deposited_at,
    )


async def save_routing(conn: asyncpg.Connection, invoice: Invoice) -> None:
    """Writes the invoice's recipient, service code and engagement (row locked): recycling;
    the model too when it follows (a portal invoice's buyer, BT-10, BT-13)."""
    await conn.execute(
        "UPDATE invoices SET recipient_structure_id = $2, recipient_name = $3, service_code = $4,"
        " engagement_number = $5, document = coalesce($6::jsonb, document) WHERE id = $1",
        invoice.id,
        invoice.recipient.structure_id,
        invoice.recipient.name,
        invoice.content.service_code,
        invoice.content.engagement_number,
        _document_json(invoice.content.document),
    )


async def mark_downloaded_by_recipient(conn: asyncpg.Connection, invoice_id: str) -> None:
    """Records the first download of the invoice's document by the recipient side (later
    ones change nothing; the status and its time stay as they are)."""
    await conn.execute(
        "UPDATE invoices SET recipient_downloaded_at = now()"
        " WHERE id = $1 AND recipient_downloaded_at IS NULL",
        invoice_id,
    )


async def save_rejection_acknowledgement(
    conn: asyncpg.Connection, invoice_id: str, by: str, at: datetime
) -> None:
    """Records that the supplier acknowledged the rejection (the row must be locked)."""
    await conn.execute(
        "UPDATE invoices SET rejection_acknowledged_at = $2, rejection_acknowledged_by = $3"
        " WHERE id = $1",
        invoice_id,
        at,
        by,
    )


async def delete(conn: asyncpg.Connection, invoice_id: str) -> None:
    """Removes the invoice with its lines, history and documents (cascade)."""
    await conn.execute("DELETE FROM invoices WHERE id = $1", invoice_id)


class _Args:
    """The parameters of a query being written: ``args(value)`` keeps the value and answers
    its placeholder (``$3``). Values only ever travel as parameters."""

    def __init__(self) -> None:
        self.values: list = []

    def __call__(self, value) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _conditions(wanted: InvoiceFilter, args: _Args) -> list[str]:
    """The WHERE conditions of a list (without the keyset position), one per criterion given.
    Each side uses its own (structure, created_at, id) index; ``other`` is the column prefix of
    the counterparty (the recipient of issued invoices, the supplier of received ones)."""
    c = wanted.criteria
    other = "supplier" if wanted.received else "recipient"
    structures = args(list(wanted.structure_ids))
    if wanted.received:
        # A user limited to some services sees only those services' invoices.
        limited_structures = args([s for s, _ in wanted.service_limited])
        limited_codes = args([code for _, code in wanted.service_limited])
        scope = (
            f"(recipient_structure_id = ANY({structures}::text[]) OR EXISTS (SELECT 1 FROM"  # noqa: S608
            f" unnest({limited_structures}::text[], {limited_codes}::text[])"
            " AS l (structure_id, service_code)"
            " WHERE l.structure_id = invoices.recipient_structure_id"
            " AND lower(l.service_code) = lower(invoices.service_code)))"
        )
    else:
        scope = f"supplier_structure_id = ANY({structures}::text[])"
    where = [scope, f"status = ANY({args([s.value for s in wanted.statuses])}::text[])"]
    if wanted.number_prefix:
        where.append(f"starts_with(lower(number), lower({args(wanted.number_prefix)}))")
    paris_day = "(deposited_at AT TIME ZONE 'Europe/Paris')::date"
    for column, operator, value, cast in (
        ("issue_date", ">=", c.issued_from, "date"),
        ("issue_date", "<=", c.issued_to, "date"),
        (paris_day, ">=", c.deposited_from, "date"),
        (paris_day, "<=", c.deposited_to, "date"),
        ("gross_total", ">=", c.min_amount, "numeric"),
        ("gross_total", "<=", c.max_amount, "numeric"),
        ("net_total", ">=", c.min_net_amount, "numeric"),
        ("net_total", "<=", c.max_net_amount, "numeric"),
        ("amount_due", ">=", c.min_amount_due, "numeric"),
        ("amount_due", "<=", c.max_amount_due, "numeric"),
        ("updated_at", ">=", c.status_changed_from, "timestamptz"),
        ("updated_at", "<=", c.status_changed_to, "timestamptz"),
    ):
        if value is not None:
            where.append(f"{column} {operator} {args(value)}::{cast}")
    if c.counterparty_ids:
        where.append(f"{other}_structure_id = ANY({args(list(c.counterparty_ids))}::text[])")
    if c.counterparty_name:
        # Every word typed must appear in the name, in any order.
        where.append(
            "NOT EXISTS (SELECT 1 FROM"  # noqa: S608 - placeholders and column names only
            f" regexp_split_to_table(invoices_fold({args(c.counterparty_name)}), '\\s+')"
            f" AS w (word) WHERE w.word <> '' AND strpos(invoices_fold({other}_name), w.word) = 0)"
        )
    if c.service_code:
        where.append(f"lower(service_code) = lower({args(c.service_code)})")
    if c.flow_number:
        where.append(f"flow_number = {args(c.flow_number)}")
    if c.type:
        where.append(f"type = {args(c.type)}")
    if c.downloaded is not None:
        where.append("recipient_downloaded_at IS " + ("NOT NULL" if c.downloaded else "NULL"))
    if c.framework is not None:
        where.append(f"framework = {args(c.framework.value)}")
    if c.deposit_modes:
        where.append(f"deposit_mode = ANY({args([m.value for m in c.deposit_modes])}::text[])")
    if c.rejection_acknowledged is not None:
        where.append(
            "rejection_acknowledged_at IS " + ("NOT NULL" if c.rejection_acknowledged else "NULL")
        )
    return where


# The sort columns as SQL expressions: a fixed list, never text from a request.
_SORT_EXPRESSIONS = {
    SortColumn.DEPOSITED_AT: "created_at",
    SortColumn.NUMBER: "number",
    SortColumn.ISSUE_DATE: "issue_date",
    SortColumn.NET_TOTAL: "net_total",
    SortColumn.GROSS_TOTAL: "gross_total",
    SortColumn.AMOUNT_DUE: "amount_due",
    SortColumn.STATUS: "status",
    SortColumn.TYPE: "type",
    SortColumn.CURRENCY: "currency",
    SortColumn.SERVICE_CODE: "lower(nullif(service_code, ''))",
    SortColumn.ENGAGEMENT_NUMBER: "nullif(engagement_number, '')",
    SortColumn.FLOW_NUMBER: "flow_number",
    SortColumn.COUNTERPARTY_NAME: "lower({other}_name)",
    SortColumn.PRECEDING_INVOICE_NUMBER: "nullif(preceding_invoice, '')",
    SortColumn.DOWNLOADED_BY_RECIPIENT: "(recipient_downloaded_at IS NOT NULL)",
}


def _order_by(wanted: InvoiceFilter) -> str:
    """ORDER BY of a page: the asked column (empty values last), then deposit time newest
    first, then id (a total order, so pages by number neither repeat nor skip)."""
    order = wanted.order
    if order.is_default:
        return "created_at DESC, id DESC"
    other = "supplier" if wanted.received else "recipient"
    expression = _SORT_EXPRESSIONS[order.column].format(other=other)
    direction = "ASC" if order.ascending else "DESC"
    return f"{expression} {direction} NULLS LAST, created_at DESC, id DESC"


async def page(conn: asyncpg.Connection, wanted: InvoiceFilter) -> list[Invoice]:
    """One page of invoices (without lines), newest first: after ``wanted.after`` (keyset),
    or past ``wanted.offset`` of them (paging by number)."""
    args = _Args()
    where = _conditions(wanted, args)
    if wanted.after is not None:
        after_at, after_id = wanted.after
        where.append(f"(created_at, id) < ({args(after_at)}::timestamptz, {args(after_id)}::uuid)")
    query = (
        f"SELECT {_READ} FROM invoices WHERE {' AND '.join(where)}"  # noqa: S608
        f" ORDER BY {_order_by(wanted)} LIMIT {args(wanted.limit)}"
    )
    if wanted.offset is not None:
        query += f" OFFSET {args(wanted.offset)}"
    rows = await conn.fetch(query, *args.values)
    return [_invoice(row, (), ()) for row in rows]


async def count(conn: asyncpg.Connection, wanted: InvoiceFilter) -> int:
    """How many invoices match ``wanted``'s criteria, every page together."""
    args = _Args()
    where = _conditions(wanted, args)
    query = f"SELECT count(*) FROM invoices WHERE {' AND '.join(where)}"  # noqa: S608
    return await conn.fetchval(query, *args.values)


def _invoice(row: asyncpg.Record, lines, vat, document: str | None = None) -> Invoice:
    model = from_json(json.loads(document)) if document else None
    content = InvoiceContent(
        service_code=row["service_code"],
        engagement_number=row["engagement_number"],
        framework=Framework(row["framework"]),
        type=InvoiceType(row["type"]),
        number=row["number"],
        issue_date=row["issue_date"],
        currency=row["currency"],
        payment_terms=row["payment_terms"],
        comment=row["comment"],
        preceding_invoice=row["preceding_invoice"],
        vat_exemption_reason=row["vat_exemption_reason"],
        type_code=row["type_code"],
        document=model,
        lines=lines_of(model)
        if model is not None and model.lines
        else tuple(
            Line(
                r["description"],
                r["quantity"],
                r["unit"],
                r["unit_price"],
                r["vat_rate"],
                vat_category=r["vat_category"],
                net=r["net_amount"],
            )
            for r in lines
        ),
    )
    totals = Totals(
        net_total=row["net_total"],
        vat_total=row["vat_total"],
        gross_total=row["gross_total"],
        amount_due=row["amount_due"],
        vat_breakdown=tuple(
            VatAmount(
                r["rate"],
                r["base"],
                r["amount"],
                r["category"],
                r["exemption_reason"],
                r["exemption_reason_code"],
            )
            for r in vat
        ),
        line_total=row["line_total"],
        allowance_total=row["allowance_total"],
        charge_total=row["charge_total"],
        prepaid=row["prepaid_amount"],
        rounding=row["rounding_amount"],
    )
    return Invoice(
        id=str(row["id"]),
        content=content,
        supplier=StructureRef(row["supplier_structure_id"], row["supplier_name"]),
        recipient=StructureRef(row["recipient_structure_id"], row["recipient_name"]),
        totals=totals,
        status=Status(row["status"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deposited_by=row["deposited_by"],
        deposited_at=row["deposited_at"],
        rejection_acknowledged_at=row["rejection_acknowledged_at"],
        cpp_id=row["cpp_id"],
        deposit_mode=DepositMode(row["deposit_mode"]),
        flow_number=row["flow_number"] or "",
        recipient_downloaded_at=row["recipient_downloaded_at"],
    )


def cursor_of(invoice: Invoice) -> tuple[datetime, str]:
    """The keyset position of ``invoice`` in a list."""
    return invoice.created_at, invoice.id


async def latest_by_number(
    conn: asyncpg.Connection, supplier_structure_id: str, number: str
) -> Invoice | None:
    """The supplier's most recent invoice with this number (numbers repeat across years)."""
    row = await conn.fetchrow(
        f"SELECT {_READ} FROM invoices WHERE supplier_structure_id = $1 AND number = $2"  # noqa: S608
        " ORDER BY issue_date DESC, created_at DESC LIMIT 1",
        supplier_structure_id,
        number,
    )
    return _invoice(row, (), ()) if row else None


async def waiting_for_routing(
    conn: asyncpg.Connection,
    older_than_seconds: float,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> list[tuple[str, datetime, float]]:
    """Invoices still ``DEPOSEE`` whose deposit (their last status change) is older than
    ``older_than_seconds`` by the database's clock, oldest first, from past the keyset
    position ``after``: (id, deposited at, seconds since)."""
    rows = await conn.fetch(
        "SELECT id, updated_at, extract(epoch FROM now() - updated_at)::float8 AS waiting"
        " FROM invoices"
        " WHERE status = 'DEPOSEE' AND updated_at < now() - make_interval(secs => $1)"
        " AND ($3::timestamptz IS NULL OR (updated_at, id) > ($3, $4::uuid))"
        " ORDER BY updated_at, id LIMIT $2",
        older_than_seconds,
        limit,
        after[0] if after else None,
        after[1] if after else None,
    )
    return [(str(row["id"]), row["updated_at"], row["waiting"]) for row in rows]


async def counts_by_status(
    conn: asyncpg.Connection, wanted: InvoiceFilter
) -> list[tuple[str, Status, int, int]]:
    """How many invoices match ``wanted``, per structure of that side and status: (structure
    id, status, count, how many of them have no acknowledged rejection)."""
    args = _Args()
    where = _conditions(wanted, args)
    column = "recipient_structure_id" if wanted.received else "supplier_structure_id"
    rows = await conn.fetch(
        f"SELECT {column} AS structure_id, status, count(*) AS n,"  # noqa: S608
        " count(*) FILTER (WHERE rejection_acknowledged_at IS NULL) AS unacknowledged"
        f" FROM invoices WHERE {' AND '.join(where)} GROUP BY 1, 2",
        *args.values,
    )
    return [
        (row["structure_id"], Status(row["status"]), row["n"], row["unacknowledged"])
        for row in rows
    ]
