"""Every answer in the envelope: refusals raised by the routes, gRPC errors of the services,
routing errors (unknown path, wrong method) and, for a bug, 500 with a reference only."""

from __future__ import annotations

import logging

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chorus_cpro_api.edge.envelope import (
    METHOD_NOT_ALLOWED,
    REQUEST_INVALID,
    ROUTE_NOT_FOUND,
    CproError,
    correlation_id,
    from_rpc_error,
    internal_error,
)
from chorus_cpro_api.edge.oauth import OAuthError

log = logging.getLogger(__name__)

ROUTE_NOT_FOUND_MESSAGE = (
    "Aucune opération à cette adresse : l'API est sous /cpro (par exemple "
    "/cpro/factures/v1/deposer/flux) et le jeton s'obtient par POST /api/oauth/token."
)
METHOD_NOT_ALLOWED_MESSAGE = (
    "Méthode HTTP non acceptée à cette adresse : les opérations sont en POST avec un corps "
    "JSON, sauf GET /cpro/transverses/v1/health-check."
)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CproError)
    async def cpro_error(request: Request, error: CproError) -> JSONResponse:
        return error.response()

    @app.exception_handler(OAuthError)
    async def oauth_error(request: Request, error: OAuthError) -> JSONResponse:
        return error.response()

    @app.exception_handler(grpc.RpcError)
    async def rpc_error(request: Request, error: grpc.RpcError) -> JSONResponse:
        refusal = from_rpc_error(error)
        if (refusal.erreur or {}).get("credential") == "cpro-account":
            authenticator = getattr(request.app.state, "authenticator", None)
            if authenticator is not None and refusal.kind.status == 401:
                authenticator.forget(getattr(request.state, "cpro_account_header", None))
        if refusal.kind.status >= 500 and refusal.kind.status != 503:
            log.error("unexpected gRPC error", exc_info=error, extra={"path": request.url.path})
        return refusal.response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        if error.status_code == 405:
            return CproError(
                METHOD_NOT_ALLOWED, METHOD_NOT_ALLOWED_MESSAGE, "METHODE_NON_AUTORISEE",
                headers=headers,
            ).response()  # fmt: skip
        if error.status_code == 404:
            return CproError(
                ROUTE_NOT_FOUND, ROUTE_NOT_FOUND_MESSAGE, "OPERATION_INCONNUE", headers=headers
            ).response()
        return CproError(
            REQUEST_INVALID, "Requête invalide.", "REQUETE_INVALIDE", headers=headers
        ).response()

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        return CproError(REQUEST_INVALID, "Requête invalide.", "REQUETE_INVALIDE").response()

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        reference = correlation_id()
        log.error(
            "unexpected error",
            exc_info=error,
            extra={"path": request.url.path, "correlation_id": reference},
        )
        return internal_error(reference).response()
