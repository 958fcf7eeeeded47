"""Portal: a structure's spaces: a member asks to subscribe to one in a mode; managers open
and close spaces and decide pending subscriptions. Run by
:func:`~chorus_portal.web.structures.detail.run_action`.
"""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients.caller import Caller
from chorus_edge.structures import ACCESS_MODE, SPACE
from chorus_portal.web.forms import text
from chorus_portal.web.paths import path_id
from chorus_portal.web.structures.detail import run_action
from chorus_portal.web.structures.labels import MODE_LABELS, SPACE_LABELS

router = APIRouter(include_in_schema=False)


def _form_mode(form: FormData) -> int:
    mode = text(form, "mode")
    return ACCESS_MODE.to_proto(mode if mode in MODE_LABELS else None)


def _space_number(code: str) -> int:
    return SPACE.to_proto(code if code in SPACE_LABELS else None)


@router.post("/structures/{structure_id}/espaces/{code}/abonnement", response_model=None)
async def request_subscription(
    request: Request, structure_id: str, code: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def subscribe(known: str, me: Caller, form: FormData) -> str:
        asked = await clients.structures.request_subscription(
            pb.RequestSubscriptionRequest(
                structure_id=known, space=_space_number(code), mode=_form_mode(form)
            ),
            me,
        )
        # Some spaces validate a subscription at once (self-subscription): say so.
        accepted = asked.status == pb.SUBSCRIPTION_STATUS_VALIDEE
        return "abonnement-accepte" if accepted else "abonnement"

    return await run_action(
        request, clients, caller, structure_id, "subscribe", subscribe,
        notice="abonnement", values=("mode",),
    )  # fmt: skip


@router.post("/structures/{structure_id}/espaces/{code}/ouverture", response_model=None)
async def open_space(
    request: Request, structure_id: str, code: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def open_it(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.open_space(known, _space_number(code), me)

    return await run_action(
        request, clients, caller, structure_id, "space", open_it, notice="ouvert"
    )


@router.post("/structures/{structure_id}/espaces/{code}/fermeture", response_model=None)
async def close_space(
    request: Request, structure_id: str, code: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def close_it(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.close_space(known, _space_number(code), me)

    return await run_action(
        request, clients, caller, structure_id, "space", close_it, notice="ferme"
    )


@router.post(
    "/structures/{structure_id}/abonnements/{subscription_id}/decision", response_model=None
)
async def decide_subscription(
    request: Request,
    structure_id: str,
    subscription_id: str,
    clients: Clients,
    caller: AnonymousCaller,
) -> Response:
    async def decide(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.decide_subscription(
            pb.DecideSubscriptionRequest(
                subscription_id=path_id(subscription_id),
                decision=pb.DECISION_VALIDEE
                if text(form, "decision") == "VALIDEE"
                else pb.DECISION_REFUSEE,
                comment=text(form, "comment"),
            ),
            me,
        )

    return await run_action(
        request, clients, caller, structure_id, "subscription", decide,
        notice="abonnement-decide", values=("comment",),
    )  # fmt: skip
