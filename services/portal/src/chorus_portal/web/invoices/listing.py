"""Portal "Mes factures": the caller's invoices, issued or received, filtered (GET, straight
into ListInvoices), one keyset page at a time, with the other party's name."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb
from fastapi import APIRouter, Request
from fastapi.responses import Response

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.invoices import INVOICE_STATUS, LIST_SIDE
from chorus_portal.web import formats
from chorus_portal.web.invoices.display import NOTICES, status_name, structure_names
from chorus_portal.web.pages import render
from chorus_portal.web.paths import known_id
from chorus_portal.web.refusals import render_refusal
from chorus_portal.web.session import signed_in, to_login

router = APIRouter(include_in_schema=False)

FILTERS = (
    "status",
    "number",
    "issued_from",
    "issued_to",
    "deposited_from",
    "deposited_to",
    "min_amount",
    "max_amount",
    "counterparty_name",
    "service_code",
    "structure_id",
)

SIDES = {"issued": "Émises", "received": "Reçues"}


@router.get("/factures", response_model=None)
async def invoice_list(
    request: Request, clients: Clients, caller: AnonymousCaller, side: str = "issued"
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    side = side if side in SIDES else "issued"
    values = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    status = values["status"] if values["status"] in formats.STATUS_LABELS else ""
    page_token = request.query_params.get("page_token", "")
    list_request = pb.ListInvoicesRequest(
        side=LIST_SIDE.to_proto(side.upper()),
        status=INVOICE_STATUS.to_proto(status or None),
        number=values["number"],
        issued_from=values["issued_from"],
        issued_to=values["issued_to"],
        deposited_from=values["deposited_from"],
        deposited_to=values["deposited_to"],
        min_amount=formats.decimal_input(values["min_amount"]),
        max_amount=formats.decimal_input(values["max_amount"]),
        counterparty_name=values["counterparty_name"],
        service_code=values["service_code"],
        # One of the caller's structures (the home page's links); another lists nothing.
        structure_id=known_id(values["structure_id"]) or "",
        page_token=page_token,
    )
    context: dict[str, Any] = {
        "side": side,
        "sides": SIDES,
        "values": values,
        "statuses": formats.STATUS_LABELS,
        "rows": [],
        "filtered": any(values.values()),
        "notice": NOTICES.get(request.query_params.get("avis", "")),
        "first_page": not page_token,
    }
    try:
        found = await clients.invoices.list_invoices(list_request, me)
    except grpc.aio.AioRpcError as err:
        if err.code() == grpc.StatusCode.UNAUTHENTICATED:
            return to_login()
        return render_refusal(request, "factures.html", err, context)
    other = "recipient_structure_id" if side == "issued" else "supplier_structure_id"
    names = await structure_names(clients, me, {getattr(i, other) for i in found.invoices})
    context["rows"] = [
        {
            "id": invoice.id,
            "number": invoice.number,
            "issue_date": invoice.issue_date,
            "counterparty": names.get(getattr(invoice, other), ""),
            "gross_total": invoice.totals.gross_total,
            "currency": invoice.currency,
            "status": status_name(invoice.status),
        }
        for invoice in found.invoices
    ]
    query = {"side": side, **{k: v for k, v in values.items() if v}}
    context["first_url"] = "/factures?" + urlencode(query)
    if found.next_page_token:
        context["next_url"] = "/factures?" + urlencode(
            {**query, "page_token": found.next_page_token}
        )
    return render(request, "factures.html", context)
