"""Errors as RFC 9457 ``application/problem+json``: the one place the gateway maps them.

Services report failures as gRPC statuses carrying an ``ErrorInfo`` reason, a French message
and ``BadRequest`` field violations; this module turns them, and the gateway's own refusals
(missing token, malformed body, unknown route), into problem documents.

A service that cannot answer now (UNAVAILABLE: down, unreachable, its database gone;
DEADLINE_EXCEEDED) is 503 with ``Retry-After``: the service's ``ErrorInfo`` metadata
``retry_after_seconds`` when it gives one, else :data:`DEFAULT_RETRY_AFTER_SECONDS`. Anything
unexpected is 500 ``INTERNAL`` with nothing revealed but a ``correlation_id``: the request's
trace id, also in the log line that tells what happened.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import grpc
from chorus_platform.rpc_status import from_rpc_error
from fastapi.responses import JSONResponse
from opentelemetry import trace
from pydantic import BaseModel, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://chorus.example/problems/"

TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Action non autorisée",
    404: "Ressource introuvable",
    405: "Méthode non autorisée",
    409: "Conflit",
    413: "Contenu trop volumineux",
    415: "Type de contenu non pris en charge",
    422: "Données invalides",
    423: "Compte verrouillé",
    429: "Trop de requêtes",
    500: "Erreur interne",
    503: "Service indisponible",
}

# INVALID_ARGUMENT reasons meaning "this request cannot be understood" rather than "these
# values break a rule": they answer 400 instead of 422.
BAD_REQUEST_REASONS = frozenset(
    {
        "ACTIVATION_TOKEN_INVALID",
        "RESET_TOKEN_INVALID",
        "EMAIL_CHANGE_TOKEN_INVALID",
        "PAGE_TOKEN_INVALID",
        "INVALID_PAGE_TOKEN",
        "MALFORMED_REQUEST",
    }
)

# Reasons whose HTTP status is more precise than their gRPC code's.
STATUS_BY_REASON = {"ACCOUNT_LOCKED": 423}

_STATUS_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}

INTERNAL_DETAIL = "Erreur interne, réessayez plus tard."
UNAVAILABLE_DETAIL = "Service momentanément indisponible, réessayez dans quelques instants."

DEFAULT_RETRY_AFTER_SECONDS = 2
"""``Retry-After`` of a 503 when the service did not say (``retry_after_seconds``)."""
MAX_RETRY_AFTER_SECONDS = 3600


class FieldError(BaseModel):
    field: str = Field(description="Path of the offending field, e.g. `lines[0].quantity`.")
    message: str = Field(description="What is wrong and how to fix it (French).")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="`https://chorus.example/problems/<code>` or `about:blank`.")
    title: str
    status: int
    detail: str = Field(description="Human explanation, in French.")
    code: str = Field(description="Stable machine reason, e.g. `PASSWORD_TOO_WEAK`.")
    errors: list[FieldError] = Field(default_factory=list)
    correlation_id: str | None = Field(
        None,
        description="500 only: the reference of the failure in the gateway's logs (trace id).",
    )


class ProblemResponse(JSONResponse):
    """``application/problem+json``; a character that has no UTF-8 form (a lone surrogate
    echoed in a message) is replaced rather than failing the answer."""

    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", "replace")


def correlation_id() -> str:
    """The current trace id (32 hex digits), or a random id of the same shape without one."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else uuid.uuid4().hex


class ProblemError(Exception):
    """Raised anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        *,
        typed: bool = True,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}
        self.typed = typed
        self.correlation_id = correlation_id

    def problem(self) -> Problem:
        return Problem(
            type=PROBLEM_TYPE_BASE + kebab(self.code) if self.typed else "about:blank",
            title=TITLES.get(self.status, "Erreur"),
            status=self.status,
            detail=self.detail,
            code=self.code,
            errors=self.errors,
            correlation_id=self.correlation_id,
        )

    def response(self) -> JSONResponse:
        return ProblemResponse(
            self.problem().model_dump(exclude_none=True),
            status_code=self.status,
            headers=self.headers,
        )


def internal_problem(reference: str) -> ProblemError:
    """500 INTERNAL: nothing revealed but the reference of the log line."""
    return ProblemError(500, "INTERNAL", INTERNAL_DETAIL, typed=False, correlation_id=reference)


def retry_after_seconds(metadata: dict[str, str]) -> int:
    """The service's ``retry_after_seconds`` (bounded), else the default."""
    value = metadata.get("retry_after_seconds", "")
    if value.isdigit() and len(value) <= 6:
        return min(max(int(value), 1), MAX_RETRY_AFTER_SECONDS)
    return DEFAULT_RETRY_AFTER_SECONDS


def kebab(code: str) -> str:
    """``PASSWORD_TOO_WEAK`` -> ``password-too-weak``."""
    return code.lower().replace("_", "-")


_INDEX = re.compile(r"\.(\d+)(?=\.|$)")


def field_path(path: str) -> str:
    """A field path in REST notation: ``lines.0.quantity`` -> ``lines[0].quantity``."""
    return _INDEX.sub(r"[\1]", path)


def problem_from_rpc_error(err: grpc.RpcError) -> ProblemError:
    """The problem answering a failed gRPC call (reason, French message, field violations)."""
    remote = from_rpc_error(err)
    status = STATUS_BY_REASON.get(remote.reason) or _STATUS_BY_CODE.get(remote.code, 500)
    if status == 422 and remote.reason in BAD_REQUEST_REASONS:
        status = 400
    if status == 503:
        retry = {"Retry-After": str(retry_after_seconds(remote.metadata))}
        # A service's own UNAVAILABLE reason (e.g. DATABASE_UNAVAILABLE) is kept.
        if remote.reason and remote.message:
            return ProblemError(503, remote.reason, remote.message, headers=retry)
        return ProblemError(503, "SERVICE_UNAVAILABLE", UNAVAILABLE_DETAIL, headers=retry)
    if remote.code == grpc.StatusCode.DATA_LOSS and remote.reason and remote.message:
        # A stored document that no longer matches its checksum: the service's own reason and
        # French message (the operator restores it), still a 500, under a log reference.
        return ProblemError(500, remote.reason, remote.message, correlation_id=correlation_id())
    if status == 500:
        return internal_problem(correlation_id())
    errors = [
        FieldError(field=field_path(v.field), message=v.description) for v in remote.violations
    ]
    headers: dict[str, str] = {}
    if status == 401:
        invalid_token = remote.reason == "TOKEN_INVALID"
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"' if invalid_token else "Bearer"
    if status in (423, 429) and remote.metadata.get("retry_after_seconds", "").isdigit():
        headers["Retry-After"] = remote.metadata["retry_after_seconds"]
    return ProblemError(
        status,
        remote.reason or remote.code.name,
        remote.message or TITLES[status],
        errors,
        headers,
        typed=bool(remote.reason),
    )


_HTTP_DETAILS = {
    400: (
        "MALFORMED_BODY",
        "Le corps de la requête est illisible (JSON ou formulaire mal formé, ou texte qui "
        "n'est pas en UTF-8).",
    ),
    404: ("NOT_FOUND", "Aucune ressource à cette adresse ; vérifiez le chemin (API sous /api/v1)."),
    405: ("METHOD_NOT_ALLOWED", "Cette méthode HTTP n'est pas acceptée à cette adresse."),
}


def http_problem(status: int, headers: dict[str, str] | None = None) -> ProblemError:
    """The problem for a plain HTTP error raised by routing (unknown path, wrong method)."""
    code, detail = _HTTP_DETAILS.get(status, ("HTTP_ERROR", TITLES.get(status, "Erreur")))
    return ProblemError(status, code, detail, headers=dict(headers or {}), typed=False)
