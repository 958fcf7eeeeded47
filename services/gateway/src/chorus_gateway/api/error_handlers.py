"""Exception handlers: every error the app raises answers as problem+json.

The one exception is a browser asking for an unknown portal page, which gets a French HTML
page (``html_not_found``) instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from chorus_gateway.api.validation import problem_from_validation_error
from chorus_gateway.edge.problems import (
    INTERNAL_DETAIL,
    ProblemError,
    http_problem,
    problem_from_rpc_error,
)

log = logging.getLogger(__name__)


def install_error_handlers(
    app: FastAPI, html_not_found: Callable[[Request], Response | None]
) -> None:
    """Maps ProblemError, gRPC errors, validation and routing errors, and the unexpected."""

    async def on_problem(request: Request, exc: ProblemError) -> Response:
        return exc.response()

    async def on_rpc_error(request: Request, exc: grpc.aio.AioRpcError) -> Response:
        problem = problem_from_rpc_error(exc)
        if problem.status >= 500:
            log.warning(
                "downstream call failed",
                extra={"grpc_code": exc.code().name, "path": request.url.path},
            )
        return problem.response()

    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        return problem_from_validation_error(exc.errors()).response()

    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        page = html_not_found(request) if exc.status_code == 404 else None
        return page or http_problem(exc.status_code, exc.headers).response()

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
        return ProblemError(500, "INTERNAL", INTERNAL_DETAIL, typed=False).response()

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(grpc.aio.AioRpcError, on_rpc_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
