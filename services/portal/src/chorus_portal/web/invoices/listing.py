"""Portal "Mes factures": the caller's invoices, issued or received, filtered (GET, straight
into ListInvoices), with the other party's name; newest deposit first one keyset page at a
time, or sorted (``tri`` = date, numero, montant, statut; ``ordre`` = asc, desc: the invoices
service sorts, pages by number). The same criteria and order export the list
(:mod:`.exports`)."""

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
    "rejet",
)
# ``rejet=a-prendre-en-compte``: only the rejections the supplier has not acknowledged yet (the
# home page's "Rejets à prendre en compte"); any other value is ignored.
REJECTIONS_TO_ACKNOWLEDGE = "a-prendre-en-compte"

SIDES = {"issued": "Émises", "received": "Reçues"}

# ``tri`` in the URL -> the service's column.
SORTS = {
    "date": pb.LIST_ORDER_ISSUE_DATE,
    "numero": pb.LIST_ORDER_NUMBER,
    "montant": pb.LIST_ORDER_GROSS_TOTAL,
    "statut": pb.LIST_ORDER_STATUS,
}
PAGE_SIZE = 20
MAX_PAGE = 10_000


def read_list(request: Request) -> tuple[str, dict[str, str], str, str]:
    """The side, the filters typed in, and the order (``tri``, ``ordre``; "" for the default)
    of the list the URL asks for; unknown values are dropped."""
    side = request.query_params.get("side", "issued")
    side = side if side in SIDES else "issued"
    values = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    sort = request.query_params.get("tri", "")
    sort = sort if sort in SORTS else ""
    direction = request.query_params.get("ordre", "")
    direction = direction if direction in ("asc", "desc") and sort else ""
    return side, values, sort, direction or ("asc" if sort else "")


def list_request(
    side: str, values: dict[str, str], sort: str, direction: str
) -> pb.ListInvoicesRequest:
    """ListInvoices for these criteria and this order (paging left to the caller)."""
    status = values["status"] if values["status"] in formats.STATUS_LABELS else ""
    request = pb.ListInvoicesRequest(
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
        order_by=SORTS.get(sort, pb.LIST_ORDER_UNSPECIFIED),
        ascending=direction == "asc",
    )
    if values["rejet"] == REJECTIONS_TO_ACKNOWLEDGE:
        request.rejection_acknowledged = False
    return request


def query_of(side: str, values: dict[str, str], sort: str, direction: str) -> dict[str, str]:
    """The URL query of a list (what is set only)."""
    query = {"side": side, **{k: v for k, v in values.items() if v}}
    if sort:
        query.update(tri=sort, ordre=direction)
    return query


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_PAGE else 1


@router.get("/factures", response_model=None)
async def invoice_list(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    side, values, sort, direction = read_list(request)
    list_request_ = list_request(side, values, sort, direction)
    page_token = request.query_params.get("page_token", "") if not sort else ""
    page_number = _page_number(request) if sort else 0
    if sort:
        list_request_.page_number = page_number
        list_request_.page_size = PAGE_SIZE
    else:
        list_request_.page_token = page_token
    query = query_of(side, values, sort, direction)
    context: dict[str, Any] = {
        "side": side,
        "sides": SIDES,
        "values": values,
        "statuses": formats.STATUS_LABELS,
        "rows": [],
        "filtered": any(values.values()),
        "notice": NOTICES.get(request.query_params.get("avis", "")),
        "first_page": not page_token and page_number <= 1,
        "sort": sort,
        "direction": direction,
        "sort_urls": {
            key: "/factures?"
            + urlencode(
                {
                    **query_of(side, values, "", ""),
                    "tri": key,
                    "ordre": "desc" if key == sort and direction == "asc" else "asc",
                }
            )
            for key in SORTS
        },
        "export_query": urlencode(query),
        "export_cap": f"{EXPORT_CAP:,}".replace(",", "\u202f"),
    }
    try:
        found = await clients.invoices.list_invoices(list_request_, me)
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
    context["total"] = found.total_size
    context["first_url"] = "/factures?" + urlencode(query)
    if sort:
        if page_number * PAGE_SIZE < found.total_size:
            context["next_url"] = "/factures?" + urlencode({**query, "page": page_number + 1})
        if page_number > 1:
            context["previous_url"] = "/factures?" + urlencode({**query, "page": page_number - 1})
    elif found.next_page_token:
        context["next_url"] = "/factures?" + urlencode(
            {**query, "page_token": found.next_page_token}
        )
    return render(request, "factures.html", context)


# Rows an export holds at most (the first ones in the list's order); the page says so.
EXPORT_CAP = 10_000
