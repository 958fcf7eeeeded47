"""Authorization sweep: every operation of the gateway's OpenAPI document with an id in its
path, called by user B with user A's ids, is refused, and nothing of A's changes.

The operations come from the served document (``/api/v1/openapi.json``), so a new operation
is swept without anyone adding it here. What it needs is a way to get one of A's ids for each
path parameter: ``PATH_IDS`` maps every parameter name to the resource of A's it stands for,
made by ``world`` below. A parameter missing from that table fails
``test_every_path_parameter_has_a_fixture`` (and the sweep) until someone says how A's
resource is made.

What counts as refused: 404 always. 403 only on an operation whose path names a structure
(which any user may read by id), with a reason structures documents for a caller who is not a
member or not a manager of it (``NOT_A_MEMBER``, ``MANAGER_REQUIRED``,
``PRINCIPAL_MANAGER_REQUIRED``); an id that only its parties know (an invoice, a session, a
feed item, an attachment request, a subscription) must be 404 to anyone else, as if it did
not exist. A few operations are open to any user
by design (``OPEN_BY_DESIGN``, each with its reason): for those the documented success is
expected, and only what the table names may change.

Bodies: the smallest body the schema accepts (required fields, the first enum value), or,
where that would not even reach the authorization check or would try nothing harmful, a
realistic attack from ``BODIES`` (B renaming A's structure, adding itself as a manager…). A
422 is never an authorization answer: an operation whose generated body fails validation
needs an entry in ``BODIES``.

After each call, A's resources are read again as A (and B's memberships as B) and compared
with the state before the sweep: any difference fails, naming the operation.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from e2e_support import activated_user, random_siret
from test_invoice_documents import wait_status
from test_invoice_pdf_deposit import PLAIN_PDF, deposit_pdf, plain_metadata

pytestmark = pytest.mark.asyncio(loop_scope="session")

API_PREFIX = "/api/v1"
# The space whose subscriptions and opening the sweep aims at: open by default, closeable.
SPACE = "SOLLICITATIONS_EMISES"
DOCUMENTED_403 = {"NOT_A_MEMBER", "MANAGER_REQUIRED", "PRINCIPAL_MANAGER_REQUIRED"}


@dataclass
class World:
    """A's resources (and what B needs to aim at them), made through the API."""

    a: dict[str, str]
    b: dict[str, str]
    b_id: str
    b_email: str
    structure_id: str  # A's private structure (A is principal manager)
    service_id: str  # a service of it
    member_id: str  # U, a simple user of it
    subscription_id: str  # U's pending subscription to a space of it
    request_id: str  # A's pending request to join C's structure
    session_id: str  # A's session
    feed_item_id: str  # an item of A's feed
    invoice_id: str  # A's invoice, made available to its recipient
    document_id: str  # an attachment of that invoice
    api_client_id: str  # A's API application
    technical_account_id: str  # a technical account of A's structure
    sollicitation_id: str  # A's sollicitation to C's structure's managers
    sollicitation_attachment_id: str  # its attachment


# Every path parameter of the API -> which of A's resources stands in for it.
PATH_IDS: dict[str, Callable[[World], str]] = {
    "structure_id": lambda w: w.structure_id,
    "service_id": lambda w: w.service_id,
    "user_id": lambda w: w.member_id,
    "code": lambda w: SPACE,
    "subscription_id": lambda w: w.subscription_id,
    "request_id": lambda w: w.request_id,
    "session_id": lambda w: w.session_id,
    "item_id": lambda w: w.feed_item_id,
    "invoice_id": lambda w: w.invoice_id,
    "document_id": lambda w: w.document_id,
    "api_client_id": lambda w: w.api_client_id,
    "account_id": lambda w: w.technical_account_id,
    "sollicitation_id": lambda w: w.sollicitation_id,
    "attachment_id": lambda w: w.sollicitation_attachment_id,
}


@dataclass(frozen=True)
class Open:
    """An operation any signed-in user may call with another's id, and why."""

    status: int
    reason: str
    may_change: frozenset[str] = frozenset()


OPEN_BY_DESIGN: dict[tuple[str, str], Open] = {
    ("GET", "/structures/{structure_id}"): Open(
        200,
        "directory read: structure ids are random UUIDs that reach a user only through a "
        "membership, an invoice or an exact identifier look-up, and an invoice's counterparty "
        "must read the other party's details (structures README, 'Who finds what')",
    ),
    ("GET", "/structures/{structure_id}/services"): Open(
        200, "the services of a structure, read like the structure (same RPC, GetStructure)"
    ),
    ("POST", "/structures/{structure_id}/attachment-requests"): Open(
        201,
        "asking to join is what a non-member does; the request is B's, pending A's decision",
        may_change=frozenset({"structure_requests"}),
    ),
}

# Realistic attacks where the generated body would try nothing or not pass validation.
BODIES: dict[tuple[str, str], Callable[[World], dict[str, Any]]] = {
    ("PATCH", "/structures/{structure_id}"): lambda w: {"raison_sociale": "Détournée par B"},
    ("POST", "/structures/{structure_id}/services"): lambda w: {
        "code": "PIRATE",
        "name": "Service de B",
    },
    ("PATCH", "/structures/{structure_id}/services/{service_id}"): lambda w: {
        "name": "Renommé par B",
        "active": False,
    },
    ("POST", "/structures/{structure_id}/attachment-requests"): lambda w: {"comment": "B"},
    ("POST", "/structures/{structure_id}/attachment-requests/decisions"): lambda w: {
        "decision": "VALIDEE",
        "request_ids": [w.request_id],
    },
    ("POST", "/attachment-requests/{request_id}/decision"): lambda w: {
        "decision": "VALIDEE",
        "role": "GESTIONNAIRE_SECONDAIRE",
    },
    ("POST", "/structures/{structure_id}/members"): lambda w: {
        "login_email": w.b_email,
        "role": "GESTIONNAIRE_SECONDAIRE",
    },
    ("PATCH", "/structures/{structure_id}/members/{user_id}"): lambda w: {
        "role": "GESTIONNAIRE_SECONDAIRE"
    },
    ("POST", "/structures/{structure_id}/principal-manager"): lambda w: {"user_id": w.b_id},
    ("POST", "/structures/{structure_id}/spaces/{code}/subscriptions"): lambda w: {
        "mode": "MODIFICATION"
    },
    ("POST", "/subscriptions/{subscription_id}/decision"): lambda w: {"decision": "VALIDEE"},
    ("POST", "/invoices/{invoice_id}/status"): lambda w: {"status": "PRISE_EN_COMPTE_DESTINATAIRE"},
    ("POST", "/invoices/{invoice_id}/completion"): lambda w: {"comment": "Complété par B"},
    ("POST", "/invoices/{invoice_id}/recycling"): lambda w: {"service_code": "SERV-TECH"},
}


# --- the operations, from the served document ---------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # without the /api/v1 prefix, placeholders kept
    spec: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def path_parameters(self) -> list[str]:
        return [p["name"] for p in self.spec.get("parameters", []) if p["in"] == "path"]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def operations_with_path_ids(document: dict[str, Any]) -> list[Operation]:
    found = []
    for path, item in document["paths"].items():
        for method, spec in item.items():
            if method in {"parameters", "summary", "description"}:
                continue
            operation = Operation(method.upper(), path.removeprefix(API_PREFIX), spec)
            if operation.path_parameters:
                found.append(operation)
    return found


@pytest.fixture
async def document(api) -> dict[str, Any]:
    response = await api.get("/openapi.json")
    assert response.status_code == 200, response.text
    return response.json()


def uncovered(operations: list[Operation]) -> list[str]:
    return [
        f"{operation}: no fixture for {{{name}}}"
        for operation in operations
        for name in operation.path_parameters
        if name not in PATH_IDS
    ]


async def test_every_path_parameter_has_a_fixture(document):
    operations = operations_with_path_ids(document)
    assert len(operations) >= 30  # the walk does find the operations
    assert uncovered(operations) == [], "add the missing parameters to PATH_IDS"
    stale = set(OPEN_BY_DESIGN) | set(BODIES)
    assert stale <= {operation.key for operation in operations}, (
        "table entries without an operation"
    )


# --- request bodies -------------------------------------------------------------------------


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def sample(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """The smallest value ``schema`` accepts, as a generic client would send."""
    schema = resolve(document, schema)
    if "anyOf" in schema:
        usable = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return sample(document, usable[0]) if usable else None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: sample(document, properties[name]) for name in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    return "B"


def request_body(document: dict[str, Any], operation: Operation, world: World) -> dict | None:
    content = operation.spec.get("requestBody", {}).get("content", {})
    if not content:
        return None
    if operation.key in BODIES:
        return {"json": BODIES[operation.key](world)}
    if "application/json" in content:
        return {"json": sample(document, content["application/json"]["schema"])}
    form = sample(document, next(iter(content.values()))["schema"])
    return {"data": {k: v for k, v in form.items() if isinstance(v, str)}}


# --- A's world --------------------------------------------------------------------------------


async def ok(response, status=200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json() if response.content else None


async def private_structure(api, auth, name: str) -> dict[str, Any]:
    body = {
        "identifier_type": "SIRET",
        "identifier": random_siret(),
        "raison_sociale": name,
        "address": {
            "line1": "3 rue des Lilas",
            "postal_code": "69003",
            "city": "Lyon",
            "country": "FR",
        },
    }
    return await ok(await api.post("/structures", headers=auth, json=body), 201)


@pytest.fixture
async def world(api, mailbox) -> World:
    (_, _, a), (b_id, b_email, b) = await asyncio.gather(
        activated_user(api, mailbox, "Alice", "Annuaire"),
        activated_user(api, mailbox, "Bruno", "Balade"),
    )
    (u_id, u_email, u), (_, _, c) = await asyncio.gather(
        activated_user(api, mailbox, "Ursule", "Usager"),
        activated_user(api, mailbox, "Cyril", "Concurrent"),
    )
    structure = await private_structure(api, a, "Atelier d'Alice SARL")
    sid = structure["id"]
    service = await ok(
        await api.post(
            f"/structures/{sid}/services", headers=a, json={"code": "COMPTA", "name": "Compta"}
        ),
        201,
    )
    await ok(
        await api.post(
            f"/structures/{sid}/members",
            headers=a,
            json={"login_email": u_email, "role": "UTILISATEUR"},
        ),
        201,
    )
    subscription = await ok(
        await api.post(
            f"/structures/{sid}/spaces/{SPACE}/subscriptions",
            headers=u,
            json={"mode": "CONSULTATION"},
        ),
        201,
    )
    assert subscription["status"] == "EN_COURS_DE_VALIDATION", subscription
    other = await private_structure(api, c, "Concurrent de Cyril SAS")
    request = await ok(
        await api.post(
            f"/structures/{other['id']}/attachment-requests", headers=a, json={"comment": "A"}
        ),
        201,
    )
    sessions = await ok(await api.get("/me/sessions", headers=a))
    [session_id] = [s["id"] for s in sessions["items"] if s["current"]]

    # A's invoice to Ville de Démoville, with an attachment, made available (then stable).
    supplier = {"id": sid, **structure}
    deposited = await deposit_pdf(
        api, a, PLAIN_PDF, plain_metadata(supplier), attachments=[("bon.csv", b"ref;qte\n")]
    )
    invoice = await ok(deposited, 201)
    available = await wait_status(api, a, invoice["id"], "MISE_A_DISPOSITION")
    [document_id] = [d["id"] for d in available["documents"] if d["role"] == "ATTACHMENT"]
    feed_item_id = await first_feed_item(api, a)
    api_client = await ok(await api.post("/api-clients", headers=a, json={"name": "ERP"}), 201)
    technical = await ok(await api.post(f"/structures/{sid}/technical-accounts", headers=a), 201)
    sollicitation = await ok(
        await api.post(
            "/sollicitations",
            headers=a,
            data={
                "subject": "Question d'Alice",
                "body": "Bonjour",
                "addressee_structure_id": other["id"],
            },
            files=[("attachments[]", ("note.txt", b"A", "text/plain"))],
        ),
        201,
    )
    return World(
        a=a,
        b=b,
        b_id=b_id,
        b_email=b_email,
        structure_id=sid,
        service_id=service["id"],
        member_id=u_id,
        subscription_id=subscription["id"],
        request_id=request["id"],
        session_id=session_id,
        feed_item_id=feed_item_id,
        invoice_id=invoice["id"],
        document_id=document_id,
        api_client_id=api_client["id"],
        technical_account_id=technical["id"],
        sollicitation_id=sollicitation["id"],
        sollicitation_attachment_id=sollicitation["messages"][0]["attachments"][0]["id"],
    )


async def first_feed_item(api, auth) -> str:
    async with asyncio.timeout(60):
        while True:
            items = (await ok(await api.get("/feed", headers=auth)))["items"]
            if items:
                return items[-1]["id"]
            await asyncio.sleep(0.3)


# --- what must not change -----------------------------------------------------------------


async def state(api, world: World) -> dict[str, Any]:
    """A's resources as A reads them, and B's memberships as B reads them."""
    a, sid = world.a, world.structure_id
    reads = {
        "structure": f"/structures/{sid}",
        "members": f"/structures/{sid}/members",
        "services": f"/structures/{sid}/services",
        "spaces": f"/structures/{sid}/spaces",
        "subscriptions": f"/structures/{sid}/subscriptions",
        "structure_requests": f"/structures/{sid}/attachment-requests",
        "history": f"/structures/{sid}/history",
        "my_requests": "/me/attachment-requests",
        "my_structures": "/me/structures",
        "invoice": f"/invoices/{world.invoice_id}",
        "invoice_history": f"/invoices/{world.invoice_id}/history",
        "api_clients": "/api-clients",
        "technical_accounts": f"/structures/{sid}/technical-accounts",
        "sollicitation": f"/sollicitations/{world.sollicitation_id}",
    }
    answers = await asyncio.gather(*(api.get(path, headers=a) for path in reads.values()))
    found = {name: await ok(answer) for name, answer in zip(reads, answers, strict=True)}
    sessions = await ok(await api.get("/me/sessions", headers=a))
    found["sessions"] = sorted(s["id"] for s in sessions["items"])
    feed = await ok(await api.get("/feed", headers=a, params={"page_size": 100}))
    found["feed_item"] = [i["read"] for i in feed["items"] if i["id"] == world.feed_item_id]
    found["b_structures"] = await ok(await api.get("/me/structures", headers=world.b))
    return found


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


# --- the sweep ----------------------------------------------------------------------------------


def problem_code(response) -> str:
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        return response.json().get("code", "")
    return ""


def verdict(operation: Operation, response) -> str | None:
    """Why ``response`` is not an acceptable answer to B, or None."""
    status, code = response.status_code, problem_code(response)
    expected = OPEN_BY_DESIGN.get(operation.key)
    if expected is not None:
        return None if status == expected.status else f"{status} {code}, open by design"
    names_a_structure = "{structure_id}" in operation.path
    if status == 404 or (status == 403 and names_a_structure and code in DOCUMENTED_403):
        return None
    return f"{status} {code or response.text[:120]}"


async def test_user_b_gets_nothing_of_user_a_through_any_operation(api, document, world):
    operations = operations_with_path_ids(document)
    assert uncovered(operations) == []
    baseline = await state(api, world)
    failures, table = [], []
    for operation in operations:
        path = operation.path
        for name in operation.path_parameters:
            path = path.replace(f"{{{name}}}", PATH_IDS[name](world))
        body = request_body(document, operation, world) or {}
        response = await api.request(operation.method, path, headers=world.b, **body)
        problem = verdict(operation, response)
        after = await state(api, world)
        allowed = OPEN_BY_DESIGN.get(operation.key, Open(0, "")).may_change
        changed = [name for name in differences(baseline, after) if name not in allowed]
        table.append(f"  {response.status_code} {problem_code(response):28} {operation}")
        if problem:
            failures.append(f"{operation}: answered {problem}")
        if changed:
            failures.append(f"{operation}: changed A's {', '.join(changed)}")
        baseline = after  # a change is reported once, by the operation that made it
    print(f"\nauthorization sweep, {len(operations)} operations (B with A's ids):")
    print("\n".join(table))
    assert failures == [], "\n".join(failures)


async def test_the_tables_name_real_parameters():
    """PATH_IDS keys look like path parameters, and BODIES produce JSON."""
    assert all(re.fullmatch(r"[a-z_]+", name) for name in PATH_IDS)
    blank = World(**{field: "x" for field in World.__dataclass_fields__})
    for make in BODIES.values():
        json.dumps(make(blank))
