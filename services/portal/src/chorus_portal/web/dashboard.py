"""The signed-in home page ("Accueil"): what waits on the user, per structure, with links to
the lists that show it, and the latest items of their event feed.

Every count comes from the service that owns it, for the caller only: invoices
(SummarizeInvoices: per structure, side and status, what waits on each side), structures
(SummarizePendingRequests: requests awaiting a manager's decision, per managed structure;
ListMyMemberships: the structures' names and the caller's role) and notifications (the
latest feed items and the unread count). The calls are made together; one that fails leaves
its part of the page saying it is unavailable for now, the rest is shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as ipb
from chorus.structures.v1 import structures_service_pb2 as spb

from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_portal.web import formats
from chorus_portal.web.feed import FeedEntry, feed_entries
from chorus_portal.web.invoices.listing import REJECTIONS_TO_ACKNOWLEDGE

LATEST_FEED_ITEMS = 5

# What the supplier side is asked to do about an invoice in each status it waits on.
SUPPLIER_TASKS = {
    "BROUILLON": ("Brouillon à déposer", "Brouillons à déposer"),
    "SUSPENDUE": ("Facture suspendue à compléter", "Factures suspendues à compléter"),
    "A_RECYCLER": ("Facture à recycler", "Factures à recycler"),
}


class SessionExpired(Exception):
    """A service said the session is no longer valid (the home then shows the public page)."""


_EXPIRED = object()


@dataclass(frozen=True)
class Task:
    """One line of the home page: how many things wait, what they are, where they are."""

    count: int
    label: str
    url: str


@dataclass
class StructureTasks:
    structure_id: str
    name: str
    manager: bool
    tasks: list[Task] = field(default_factory=list)


@dataclass
class Dashboard:
    structures: list[StructureTasks] | None
    """None when the memberships could not be read."""
    invoices_unavailable: bool
    requests_unavailable: bool
    has_invoices: bool
    feed: list[FeedEntry] | None
    unread: int | None


async def _answer(call: Awaitable[Any]) -> Any:
    """The call's answer; None when the service refused or could not answer (the page shows
    that part as unavailable); ``_EXPIRED`` when it found the session no longer valid."""
    try:
        return await call
    except grpc.aio.AioRpcError as err:
        if err.code() == grpc.StatusCode.UNAUTHENTICATED:
            return _EXPIRED
        return None


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def invoice_list_url(side: str, status: str, structure_id: str, **more: str) -> str:
    """``/factures`` filtered on one side, status and structure (and ``more`` filters)."""
    query = {"side": side, "status": status, "structure_id": structure_id, **more}
    return "/factures?" + urlencode(query)


def invoice_tasks(summary: ipb.InvoiceSummary) -> list[Task]:
    """What waits on the caller among one structure's invoices of one side: received, each
    status waiting on the recipient ("à traiter"); issued, drafts, suspended invoices, those
    to recycle, and rejections not yet acknowledged."""
    tasks = []
    received = summary.side == ipb.LIST_SIDE_RECEIVED
    side = "received" if received else "issued"
    for counted in summary.statuses:
        status = ipb.InvoiceStatus.Name(counted.status).removeprefix("INVOICE_STATUS_")
        if not counted.waiting or not counted.count:
            continue
        if received:
            label = _plural(counted.count, "Facture reçue à traiter", "Factures reçues à traiter")
            label += f" — {formats.status(status)}"
        elif status in SUPPLIER_TASKS:
            label = _plural(counted.count, *SUPPLIER_TASKS[status])
        else:
            label = f"Factures émises — {formats.status(status)}"
        url = invoice_list_url(side, status, summary.structure_id)
        tasks.append(Task(counted.count, label, url))
    if summary.rejections_to_acknowledge:
        count = summary.rejections_to_acknowledge
        label = _plural(count, "Rejet à prendre en compte", "Rejets à prendre en compte")
        unacknowledged = {"rejet": REJECTIONS_TO_ACKNOWLEDGE}
        url = invoice_list_url(side, "REJETEE", summary.structure_id, **unacknowledged)
        tasks.append(Task(count, label, url))
    return tasks


def request_tasks(pending: spb.PendingRequestsSummary) -> list[Task]:
    """A manager's pending decisions for one structure, linking to their sections."""
    page = f"/structures/{pending.structure_id}"
    tasks = []
    if pending.attachment_requests:
        count = pending.attachment_requests
        label = _plural(count, "Demande de rattachement", "Demandes de rattachement")
        tasks.append(Task(count, f"{label} à examiner", f"{page}#pending-title"))
    if pending.subscriptions:
        count = pending.subscriptions
        label = _plural(count, "Demande d'abonnement", "Demandes d'abonnement")
        tasks.append(Task(count, f"{label} à un espace à examiner", f"{page}#subscriptions-title"))
    return tasks


async def dashboard(clients: ServiceClients, me: Caller) -> Dashboard:
    """The signed-in home page's content for ``me``; SessionExpired when a service found the
    session no longer valid."""
    answers = await asyncio.gather(
        _answer(clients.structures.list_my_memberships(me)),
        _answer(clients.structures.summarize_pending_requests(me)),
        _answer(clients.invoices.summarize_invoices(me)),
        _answer(feed_entries(clients, me, LATEST_FEED_ITEMS)),
        _answer(clients.notifications.count_unread_feed_items(me)),
    )
    if any(answer is _EXPIRED for answer in answers):
        raise SessionExpired()
    memberships, pending, summaries, feed, unread = answers
    structures = None
    if memberships is not None:
        structures = [
            StructureTasks(
                m.structure.id,
                m.structure.raison_sociale,
                m.role in (spb.ROLE_GESTIONNAIRE_PRINCIPAL, spb.ROLE_GESTIONNAIRE_SECONDAIRE),
            )
            for m in memberships
        ]
        by_id = {s.structure_id: s for s in structures}
        for p in pending or []:
            if p.structure_id in by_id:
                by_id[p.structure_id].tasks.extend(request_tasks(p))
        for summary in summaries or []:
            if summary.structure_id in by_id:
                by_id[summary.structure_id].tasks.extend(invoice_tasks(summary))
    return Dashboard(
        structures=structures,
        invoices_unavailable=summaries is None,
        requests_unavailable=pending is None,
        has_invoices=bool(summaries),
        feed=feed[0] if feed is not None else None,
        unread=unread,
    )
