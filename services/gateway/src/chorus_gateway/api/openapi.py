"""The OpenAPI document, with error responses declared as ``application/problem+json``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from chorus_edge.problems import PROBLEM_MEDIA_TYPE, TITLES, Problem

_PROBLEM_REF = "#/components/schemas/Problem"

PROBLEM_RESPONSES: dict[int | str, dict] = {
    status: {"model": Problem, "description": TITLES[status]}
    for status in (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)
}
"""Error responses documented on every API operation (served as problem+json)."""


def install_openapi(app: FastAPI) -> None:
    """Replaces ``app.openapi`` so problem responses carry their real media type."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for operation in _operations(schema):
                for response in operation.get("responses", {}).values():
                    content = response.get("content", {})
                    json_body = content.get("application/json", {})
                    if json_body.get("schema", {}).get("$ref") == _PROBLEM_REF:
                        content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(schema: dict[str, Any]):
    for path_item in schema.get("paths", {}).values():
        yield from path_item.values()
