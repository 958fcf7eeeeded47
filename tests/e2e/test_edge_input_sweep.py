"""Every operation of the OpenAPI document, each parameter and body field in turn, given NUL,
a lone surrogate, a control character, huge numbers and a huge string: never a 5xx.

Each operation gets a plausible request built from its schema (every body field filled, ids
as fresh UUIDs), then one request per (field, bad value) with only that field changed, signed
in as a fresh user and from a client address of its own (the rate limits are not what is
tested). A bad string in a path, query or JSON field must be a 4xx, and when it is the 422
``STRING_INVALID`` it names the field; an out-of-range JSON number must be a 4xx; a huge
string may be accepted, but never answered with a server error. In a form field a lone
surrogate cannot travel (it has no UTF-8 form): its surrogate-escaped bytes are sent, which
must not give a server error either. The counts by status are printed.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
import pytest_asyncio
from e2e_support import Mailbox, activated_user, client_ip

HUGE_STRING_IN_BODY = 100_000
HUGE_STRING_IN_URL = 4_000
"""Characters of the huge string: a body field, or a path or query parameter (the URL must
stay within what the HTTP server reads of a request head)."""

BAD_STRINGS = {"nul": "a\x00b", "surrogate": "\ud800", "control": "\x07"}
HUGE_NUMBERS = {"float": "1e999999", "integer": "1" + "0" * 30, "nan": "NaN"}
MARKER = "\ue000sweep\ue000"
FILE_FIELDS = ("file", "attachments", "attachments[]")
CONNECTION_LOST = 599  # counted with the server errors


@dataclass
class Operation:
    method: str
    path: str
    parameters: list[dict[str, Any]]
    media_type: str | None
    body_schema: dict[str, Any] | None
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    operation: str
    where: str  # path, query, json or form
    target: str
    value: str
    status: int
    code: str
    fields: list[str]

    @property
    def must_be_refused(self) -> bool:
        """A bad string (but a lone surrogate in a form field, which cannot travel), or an
        out-of-range number in JSON."""
        if self.value in BAD_STRINGS:
            return not (self.where == "form" and self.value == "surrogate")
        return self.value in HUGE_NUMBERS and self.where == "json"


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$ref`` followed, ``allOf`` merged and a nullable ``anyOf`` reduced
    to its non-null branch."""
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = {
            **document["components"]["schemas"][name],
            **{k: v for k, v in schema.items() if k != "$ref"},
        }
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(resolve(part, document))
        schema = {**merged, **{k: v for k, v in schema.items() if k != "allOf"}}
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [b for b in schema[key] if b.get("type") != "null"]
            schema = {
                **resolve(branches[0], document),
                **{k: v for k, v in schema.items() if k != key},
            }
    return schema


def sample(schema: dict[str, Any], document: dict[str, Any], name: str = "") -> Any:
    """A plausible value for ``schema``: every property filled, one item per array."""
    schema = resolve(schema, document)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            key: sample(sub, document, key) for key, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [sample(schema.get("items", {}), document, name)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    return sample_string(schema, name)


def sample_string(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format", "")
    if fmt == "uuid" or name.endswith("_id") or name == "id":
        return str(uuid.uuid4())
    if fmt == "email" or "email" in name:
        return f"sweep.{uuid.uuid4().hex[:8]}@exemple.fr"
    if fmt == "date":
        return "2026-01-15"
    if fmt == "date-time":
        return "2026-01-15T10:00:00Z"
    if fmt == "decimal":
        return "1.00"
    return "x"


def leaves(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """The path of every scalar in a sampled body."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path


def rest_path(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def replaced(body: Any, path: tuple, value: Any) -> Any:
    changed = copy.deepcopy(body)
    target = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return changed


def operations(document: dict[str, Any]) -> list[Operation]:
    found = []
    for path, item in document["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            media_type = next(iter(content), None)
            schema = content[media_type]["schema"] if media_type else None
            found.append(
                Operation(method.upper(), path, operation.get("parameters", []), media_type, schema)
            )
    for operation in found:
        if operation.body_schema is not None:
            operation.body = sample(operation.body_schema, document)
    return found


def encode(text: str) -> str:
    """Percent-encoded UTF-8, a lone surrogate as its surrogate-escaped bytes."""
    return quote_from_bytes(text.encode("utf-8", "surrogatepass"), safe="")


def url_of(operation: Operation, document: dict, target: str | None, value: str | None) -> str:
    path, query = operation.path, []
    for parameter in operation.parameters:
        name = parameter["name"]
        if name == target:
            text = value
        elif parameter["in"] == "path":
            text = sample(parameter.get("schema", {}), document, name)
        else:
            continue  # optional query parameters are left out of the baseline
        text = str(text)
        if parameter["in"] == "path":
            path = path.replace("{" + name + "}", encode(text))
        else:
            query.append(f"{encode(name)}={encode(text)}")
    return path + ("?" + "&".join(query) if query else "")


def json_request(body: Any, path: tuple, value: str, raw_number: bool) -> bytes:
    text = json.dumps(replaced(body, path, MARKER))  # ensure_ascii: "\ud800" stays escaped
    literal = value if raw_number else json.dumps(value)
    return text.replace(json.dumps(MARKER), literal).encode()


def form_request(body: dict, path: tuple, value: str) -> tuple[dict, dict]:
    data, files = {}, {}
    for key, item in body.items():
        text = value if (key,) == path[:1] else item
        if isinstance(text, list):
            text = text[0]
        if key in FILE_FIELDS:
            files[key] = ("facture.xml", b"<Invoice/>", "application/xml")
        else:
            data[key] = (
                text.encode("utf-8", "surrogatepass") if isinstance(text, str) else str(text)
            )
    return data, files


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sweep_auth(gateway_url, mail_api_url) -> dict[str, str]:
    async with (
        httpx.AsyncClient(
            base_url=f"{gateway_url}/api/v1", timeout=30, headers={"X-Forwarded-For": client_ip()}
        ) as api,
        httpx.AsyncClient(base_url=mail_api_url, timeout=10) as mail,
    ):
        _, _, auth = await activated_user(api, Mailbox(mail), "Sweep")
    return auth


async def test_bad_strings_and_numbers_in_every_field_give_4xx_never_5xx(gateway_url, sweep_auth):
    outcomes: list[Outcome] = []
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60) as client:
        document = (await client.get("/api/v1/openapi.json")).json()

        async def send(
            operation: Operation, where: str, target: str, label: str, **request
        ) -> None:
            headers = {**sweep_auth, "X-Forwarded-For": client_ip(), **request.pop("headers", {})}
            try:
                response = await client.request(operation.method, headers=headers, **request)
            except httpx.TransportError as error:  # the connection cut: as bad as a 5xx
                outcomes.append(
                    Outcome(
                        f"{operation.method} {operation.path}",
                        where,
                        target,
                        label,
                        CONNECTION_LOST,
                        repr(error),
                        [],
                    )
                )
                return
            problem = {}
            if response.headers.get("content-type", "").endswith("json"):
                try:
                    problem = response.json()
                except ValueError:
                    problem = {}
            problem = problem if isinstance(problem, dict) else {}
            outcomes.append(
                Outcome(
                    f"{operation.method} {operation.path}",
                    where,
                    target,
                    label,
                    response.status_code,
                    str(problem.get("code", "")),
                    [str(e.get("field")) for e in problem.get("errors", []) if isinstance(e, dict)],
                )
            )

        for operation in operations(document):
            plain_body = _plain_body(operation)
            for parameter in operation.parameters:
                name = parameter["name"]
                values = {**BAD_STRINGS, "huge": "x" * HUGE_STRING_IN_URL, **HUGE_NUMBERS}
                for label, value in values.items():
                    url = url_of(operation, document, name, value)
                    await send(operation, parameter["in"], name, label, url=url, **plain_body)
            if operation.media_type == "application/json":
                base_url = url_of(operation, document, None, None)
                for path in leaves(operation.body):
                    values = {**BAD_STRINGS, "huge": "x" * HUGE_STRING_IN_BODY}
                    for label, value in values.items():
                        content = json_request(operation.body, path, value, raw_number=False)
                        await send(
                            operation,
                            "json",
                            rest_path(path),
                            label,
                            url=base_url,
                            content=content,
                            headers={"Content-Type": "application/json"},
                        )
                    for label, literal in HUGE_NUMBERS.items():
                        content = json_request(operation.body, path, literal, raw_number=True)
                        await send(
                            operation,
                            "json",
                            rest_path(path),
                            label,
                            url=base_url,
                            content=content,
                            headers={"Content-Type": "application/json"},
                        )
            elif operation.media_type == "multipart/form-data":
                base_url = url_of(operation, document, None, None)
                for key in operation.body:
                    if key in FILE_FIELDS:
                        continue
                    values = {**BAD_STRINGS, "huge": "x" * HUGE_STRING_IN_BODY, **HUGE_NUMBERS}
                    for label, value in values.items():
                        data, files = form_request(operation.body, (key,), value)
                        await send(
                            operation, "form", key, label, url=base_url, data=data, files=files
                        )

    by_status = Counter(outcome.status for outcome in outcomes)
    print(f"\nsweep: {len(outcomes)} requests; by status {dict(sorted(by_status.items()))}")
    server_errors = [o for o in outcomes if o.status >= 500]
    assert not server_errors, "\n".join(map(str, server_errors[:40]))
    accepted = [o for o in outcomes if o.must_be_refused and not 400 <= o.status < 500]
    assert not accepted, "\n".join(map(str, accepted[:40]))
    unnamed = [o for o in outcomes if o.code == "STRING_INVALID" and o.target not in o.fields]
    assert not unnamed, "\n".join(map(str, unnamed[:40]))


def _plain_body(operation: Operation) -> dict[str, Any]:
    """The baseline body of an operation whose parameters are being swept."""
    if operation.media_type == "application/json":
        return {"json": operation.body}
    if operation.media_type == "multipart/form-data":
        data, files = form_request(operation.body, (), "")
        return {"data": data, "files": files}
    return {}
