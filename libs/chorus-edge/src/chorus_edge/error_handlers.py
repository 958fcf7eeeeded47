"""Exception handlers: every error the app raises answers as problem+json, or, for a portal
page, as the portal's French error page (``html_page``, which the portal passes; the
gateway, API only, passes none).

Nothing a client sends gives a 500: an exception nobody expected is logged with a
correlation id (the trace id) and answers 500 ``INTERNAL`` carrying only that id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from chorus_edge.problems import (
    ProblemError,
    correlation_id,
    http_problem,
    internal_problem,
    problem_from_rpc_error,
)
from chorus_edge.validation import problem_from_validation_error

log = logging.getLogger(__name__)

HtmlPage = Callable[[Request, ProblemError], Response | None]
"""The portal's page for a problem, or ``None`` when the request is not the portal's."""


def install_error_handlers(app: FastAPI, html_page: HtmlPage | None = None) -> None:
    """Maps ProblemError, gRPC errors, validation and routing errors, and the unexpected."""

    def answer(request: Request, problem: ProblemError) -> Response:
        page = html_page(request, problem) if html_page is not None else None
        return page or problem.response()

    async def on_problem(request: Request, exc: ProblemError) -> Response:
        return answer(request, exc)

    async def on_rpc_error(request: Request, exc: grpc.aio.AioRpcError) -> Response:
        problem = problem_from_rpc_error(exc)
        if problem.status >= 500:
            log.warning(
                "downstream call failed",
                extra={
                    "grpc_code": exc.code().name,
                    "path": request.url.path,
                    "correlation_id": problem.correlation_id,
                },
            )
        return answer(request, problem)

    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        return answer(request, problem_from_validation_error(exc.errors()))

    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return answer(request, http_problem(exc.status_code, exc.headers))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        reference = correlation_id()
        log.error(
            "unhandled error",
            exc_info=exc,
            extra={"path": request.url.path, "correlation_id": reference},
        )
        return answer(request, internal_problem(reference))

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(grpc.aio.AioRpcError, on_rpc_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
