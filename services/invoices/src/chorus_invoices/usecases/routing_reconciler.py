"""The routing reconciler: every accepted deposit gets routed, whatever became of its event.

Routing normally follows the deposit's ``InvoiceSubmitted`` through the outbox, the broker and
the ``invoices-routing`` consumer, within milliseconds. Each link can fail in a way nobody
retries: the broker acknowledged the event and then lost it (a restart of an in-memory
broker: the outbox row is marked published, nothing will send it again), the event sits in a
dead-letter topic, the relay cannot reach the broker for long. The invoice then stays
``DEPOSEE``.

A background job (:meth:`RoutingReconciler.run`, wired in ``main.py``) therefore looks every
``interval`` seconds for invoices still ``DEPOSEE`` more than ``after`` seconds after their
deposit (their last status change, by the database's clock) and routes each through the same
use case as the consumer (:func:`chorus_invoices.usecases.routing.route`), in its own
transaction. That use case locks the invoice and routes it only if it is still ``DEPOSEE``, so
the reconciler and a late event never both route it: exactly one routing per deposit, one
history entry and one ``InvoiceStatusChanged`` per step. An invoice already routed is left
alone. Each invoice the reconciler routes is logged (``invoice routed by the reconciler``,
with its id and how long it had waited) and counted
(``chorus.invoices.routing.reconciled``, an OpenTelemetry counter: a no-op until a meter
provider exports it), so a broker that loses events shows up.
"""

from __future__ import annotations

import asyncio
import logging

from chorus_platform.unit_of_work import UnitOfWork
from opentelemetry import metrics

from chorus_invoices.store import invoices
from chorus_invoices.usecases import routing

log = logging.getLogger(__name__)

COUNTER_NAME = "chorus.invoices.routing.reconciled"
BATCH = 100


class RoutingReconciler:
    def __init__(
        self,
        uow: UnitOfWork,
        *,
        after_seconds: float,
        interval_seconds: float,
        meter: metrics.Meter | None = None,
    ) -> None:
        self._uow = uow
        self._after = after_seconds
        self._interval = interval_seconds
        meter = meter or metrics.get_meter("chorus_invoices")
        self._reconciled = meter.create_counter(
            COUNTER_NAME,
            unit="{invoice}",
            description="Deposited invoices routed by the reconciler, not by their event.",
        )

    async def run(self) -> None:
        """Reconciles every ``interval`` seconds until cancelled; a failed pass (database
        down) is logged and the next one tries again."""
        while True:
            try:
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("routing reconciliation failed; trying again", exc_info=True)
            await asyncio.sleep(self._interval)

    async def reconcile(self) -> list[str]:
        """One pass over every invoice waiting past the deadline: routes each; returns the
        ids it routed (not those a concurrent consumer routed first). An invoice that fails
        to route is logged and left for the next pass; it never holds up the others."""
        routed: list[str] = []
        position = None
        while True:
            async with self._uow.reading() as conn:
                waiting = await invoices.waiting_for_routing(
                    conn, self._after, BATCH, after=position
                )
            for invoice_id, deposited_at, seconds in waiting:
                position = (deposited_at, invoice_id)
                try:
                    async with self._uow.transaction() as tx:
                        invoice = await routing.route(tx, invoice_id)
                except Exception:
                    log.error(
                        "reconciler could not route invoice",
                        extra={"invoice_id": invoice_id},
                        exc_info=True,
                    )
                    continue
                if invoice is None:
                    continue
                routed.append(invoice_id)
                self._reconciled.add(1)
                log.warning(
                    "invoice routed by the reconciler",
                    extra={"invoice_id": invoice_id, "waited_seconds": round(seconds, 1)},
                )
            if len(waiting) < BATCH:
                return routed
