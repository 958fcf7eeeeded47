"""Files chosen on a deposit form that survive the form shown again (a refusal, a directory
search, the "Vérifier" step): each is staged in the invoices service as soon as it arrives
(StageAttachment, checked there: ≤ 10 Mo, allowed extensions, names ≤ 50 characters) and the
re-rendered form carries its staged id and name in a hidden ``<name>_kept`` input ("id|name"),
shown as "Fichier conservé : name" with a way to remove or replace it. The service accepts a
staged file only from the user who staged it, for the supplier it was staged for, once."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_portal.web.invoices import forms as invoice_forms

_STAGED_ID = re.compile(r"[A-Za-z0-9_.-]{1,100}")
MAX_KEPT = 50


@dataclass(frozen=True)
class KeptFile:
    id: str
    name: str

    @property
    def value(self) -> str:
        return f"{self.id}|{self.name}"


def kept(form: FormData, name: str) -> list[KeptFile]:
    """The files a previous rendering kept for the input ``name`` (its ``<name>_kept``
    values), those the user removed (``<name>_drop``) left out; malformed values ignored."""
    dropped = set(form.getlist(f"{name}_drop"))
    found: list[KeptFile] = []
    for value in form.getlist(f"{name}_kept")[:MAX_KEPT]:
        if not isinstance(value, str) or "|" not in value:
            continue
        staged_id, _, filename = value.partition("|")
        if _STAGED_ID.fullmatch(staged_id) and staged_id not in dropped:
            found.append(KeptFile(staged_id, filename[:255]))
    return found


def chosen(form: FormData, name: str) -> list[UploadFile]:
    return [u for u in form.getlist(name) if isinstance(u, UploadFile) and u.filename]


async def stage_chosen(
    request: Request,
    clients: ServiceClients,
    caller: Caller,
    form: FormData,
    name: str,
    supplier_structure_id: str,
) -> list[KeptFile]:
    """Stages the files newly chosen in ``name`` for the supplier: their KeptFile, in order.
    ProblemError as :func:`~chorus_portal.web.invoices.forms.staged_uploads`."""
    uploads = chosen(form, name)
    if not uploads:
        return []
    ids = await invoice_forms.staged_uploads(
        request, clients, caller, form, name, supplier_structure_id=supplier_structure_id
    )
    return [KeptFile(i, u.filename or "") for i, u in zip(ids, uploads, strict=False)]
