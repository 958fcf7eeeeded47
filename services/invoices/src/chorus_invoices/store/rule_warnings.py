"""EN 16931 warnings kept with an invoice deposited as a structured file."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from chorus_invoices.domain.rule_violations import RuleViolation, Severity


async def insert(
    conn: asyncpg.Connection, invoice_id: str, warnings: Sequence[RuleViolation]
) -> None:
    await conn.executemany(
        "INSERT INTO invoice_rule_warnings (invoice_id, position, rule_id, message, location)"
        " VALUES ($1, $2, $3, $4, $5)",
        [(invoice_id, i, w.rule_id, w.message, w.location) for i, w in enumerate(warnings)],
    )


async def of_invoice(conn: asyncpg.Connection, invoice_id: str) -> list[RuleViolation]:
    rows = await conn.fetch(
        "SELECT rule_id, message, location FROM invoice_rule_warnings WHERE invoice_id = $1"
        " ORDER BY position",
        invoice_id,
    )
    return [
        RuleViolation(r["rule_id"], r["message"], r["location"], Severity.WARNING) for r in rows
    ]
