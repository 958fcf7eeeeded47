"""Portal: a structure's members, on its page: leaving it; to its managers, deciding a pending
attachment request, attaching a user by login e-mail, changing a member's role and services,
detaching a member and transferring the principal role. Run by
:func:`~chorus_portal.web.structures.detail.run_action`.
"""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients.caller import Caller
from chorus_edge.structures import ROLE, UpdateMemberBody, update_member_request
from chorus_portal.web.forms import text
from chorus_portal.web.paths import path_id
from chorus_portal.web.structures.detail import run_action
from chorus_portal.web.structures.labels import ROLE_LABELS

router = APIRouter(include_in_schema=False)


def _form_role(form: FormData) -> int:
    role = text(form, "role")
    return ROLE.to_proto(role if role in ROLE_LABELS else None)


def _ids(form: FormData, name: str) -> list[str]:
    return [str(v) for v in form.getlist(name) if isinstance(v, str) and v]


@router.post("/structures/{structure_id}/depart", response_model=None)
async def leave(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def leave_it(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.leave_structure(known, me)

    return await run_action(
        request, clients, caller, structure_id, "leave", leave_it,
        notice="quittee", done_url="/structures",
    )  # fmt: skip


@router.post("/structures/{structure_id}/demandes/{request_id}/decision", response_model=None)
async def decide_attachment(
    request: Request,
    structure_id: str,
    request_id: str,
    clients: Clients,
    caller: AnonymousCaller,
) -> Response:
    form = await request.form()
    accepted = text(form, "decision") == "VALIDEE"

    async def decide(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.decide_attachment_request(
            pb.DecideAttachmentRequestRequest(
                request_id=path_id(request_id),
                decision=pb.DECISION_VALIDEE if accepted else pb.DECISION_REFUSEE,
                role=_form_role(form) if accepted else 0,
                comment=text(form, "comment"),
            ),
            me,
        )

    return await run_action(
        request, clients, caller, structure_id, "decide", decide,
        notice="acceptee" if accepted else "refusee", values=("role", "comment"),
    )  # fmt: skip


@router.post("/structures/{structure_id}/membres", response_model=None)
async def attach_member(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def attach(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.attach_member_by_email(
            pb.AttachMemberByEmailRequest(
                structure_id=known,
                login_email=text(form, "login_email"),
                role=_form_role(form),
                service_ids=_ids(form, "service_ids"),
            ),
            me,
        )

    return await run_action(
        request, clients, caller, structure_id, "attach_member", attach,
        notice="rattache", values=("login_email", "role"),
    )  # fmt: skip


@router.post("/structures/{structure_id}/membres/{user_id}", response_model=None)
async def update_member(
    request: Request, structure_id: str, user_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def update(known: str, me: Caller, form: FormData) -> None:
        body = UpdateMemberBody.model_construct(
            role=text(form, "role") if text(form, "role") in ROLE_LABELS else None,
            service_ids=_ids(form, "service_ids"),
        )
        request_pb = update_member_request(known, path_id(user_id), body)
        await clients.structures.update_member(request_pb, me)

    return await run_action(
        request, clients, caller, structure_id, "member", update, notice="membre",
        values=("role",),
    )  # fmt: skip


@router.post("/structures/{structure_id}/membres/{user_id}/detachement", response_model=None)
async def detach_member(
    request: Request, structure_id: str, user_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def detach(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.detach_member(known, path_id(user_id), me)

    return await run_action(
        request, clients, caller, structure_id, "detach", detach, notice="detache"
    )


@router.post("/structures/{structure_id}/gestionnaire-principal", response_model=None)
async def transfer_principal(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def transfer(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.transfer_principal_role(known, text(form, "user_id"), me)

    return await run_action(
        request, clients, caller, structure_id, "transfer", transfer,
        notice="transfert", values=("user_id",),
    )  # fmt: skip
