"""How a portal page shows a refusal: the service's French message, each field's error beside
the field, the HTTP status the REST API would answer (see :mod:`chorus_edge.problems`).
"""

from __future__ import annotations

from typing import Any

import grpc
from fastapi import Request
from fastapi.responses import HTMLResponse

from chorus_edge.problems import ProblemError, problem_from_rpc_error
from chorus_portal.web.pages import render

CSRF_EXPIRED = "Votre formulaire a expiré. Rechargez la page puis réessayez."


def csrf_refused() -> ProblemError:
    return ProblemError(403, "CSRF_TOKEN_INVALID", CSRF_EXPIRED)


def field_errors(problem: ProblemError) -> dict[str, str]:
    return {e.field: e.message for e in problem.errors}


def render_refusal(
    request: Request,
    template: str,
    err: grpc.aio.AioRpcError,
    context: dict[str, Any] | None = None,
    *,
    status: int | None = None,
    flags: dict[str, str] | None = None,
) -> HTMLResponse:
    """Re-renders ``template`` for a refused call: the message, per-field errors, the reason
    code, and each of ``flags`` (context name -> reason) true when the refusal has that reason.
    The HTTP status is the API's for the same refusal unless ``status`` is given."""
    problem = problem_from_rpc_error(err)
    refusal = {
        "error": problem.detail,
        "errors": {e.field: e.message for e in problem.errors},
        "code": problem.code,
    }
    marks = {name: problem.code == reason for name, reason in (flags or {}).items()}
    response = render(
        request, template, {**(context or {}), **refusal, **marks}, status or problem.status
    )
    if "Retry-After" in problem.headers:  # a service unavailable for now, or a lockout
        response.headers["Retry-After"] = problem.headers["Retry-After"]
    return response
