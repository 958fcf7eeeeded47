"""Credentials of the Chorus Pro-compatible API over IdentityService: the caller's API
applications (``/api-clients``) and a structure's technical accounts
(``/structures/{id}/technical-accounts``, managers only — identity asks structures).

The answers that carry a secret are the creating ones (and the password renewal), with
``Cache-Control: no-store`` (as every API answer) and ``Pragma: no-cache``; they also say
where a connector gets its token and calls the API (``CHORUS_PORTAL_URL``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from chorus_edge.callers import Clients
from chorus_edge.credentials import connection_urls
from chorus_gateway.api.paths import StructureId, known_id
from chorus_gateway.api.schemas import credentials as schemas
from chorus_gateway.api.security import AuthenticatedCaller

router = APIRouter(tags=["Accès à l'API Chorus Pro"])

SECRET_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _api_client_id(
    api_client_id: Annotated[str, Path(description="API application id (UUID).")],
) -> str:
    return known_id(api_client_id, "Application API")


def _account_id(
    account_id: Annotated[str, Path(description="Technical account id (UUID).")],
) -> str:
    return known_id(account_id, "Compte technique")


ApiClientId = Annotated[str, Depends(_api_client_id)]
AccountId = Annotated[str, Depends(_account_id)]


def _urls(request: Request):
    return connection_urls(request.app.state.settings.portal_url)


def _no_store(response: Response) -> None:
    response.headers.update(SECRET_HEADERS)


@router.post(
    "/api-clients",
    status_code=201,
    summary="Create an API application: client_id and secret (shown once) for /api/oauth/token",
)
async def create_api_client(
    body: schemas.ApiClientBody,
    request: Request,
    response: Response,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.CreatedApiClient:
    created = await clients.identity.create_api_client(body.name, caller)
    _no_store(response)
    return schemas.created_api_client(created, _urls(request))


@router.get("/api-clients", summary="My API applications, newest first (never their secrets)")
async def list_api_clients(clients: Clients, caller: AuthenticatedCaller) -> schemas.ApiClientList:
    found = await clients.identity.list_api_clients(caller)
    return schemas.ApiClientList(items=[schemas.api_client(c) for c in found])


@router.delete(
    "/api-clients/{api_client_id}",
    status_code=204,
    response_class=Response,
    summary="Revoke one of my API applications: its tokens are refused at once (idempotent)",
)
async def revoke_api_client(
    api_client_id: ApiClientId, clients: Clients, caller: AuthenticatedCaller
) -> Response:
    await clients.identity.revoke_api_client(api_client_id, caller)
    return Response(status_code=204)


@router.post(
    "/structures/{structure_id}/technical-accounts",
    status_code=201,
    summary="Activate a technical account for the structure: login and password (shown once) "
    "for the cpro-account header (managers)",
)
async def create_technical_account(
    structure_id: StructureId,
    request: Request,
    response: Response,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.TechnicalAccountWithPassword:
    created = await clients.identity.create_technical_account(structure_id, caller)
    _no_store(response)
    return schemas.technical_account_with_password(
        created.account, created.password, _urls(request)
    )


@router.get(
    "/structures/{structure_id}/technical-accounts",
    summary="The structure's technical accounts with their status and expiry (managers)",
)
async def list_technical_accounts(
    structure_id: StructureId, clients: Clients, caller: AuthenticatedCaller
) -> schemas.TechnicalAccountList:
    found = await clients.identity.list_technical_accounts(structure_id, caller)
    return schemas.TechnicalAccountList(items=[schemas.technical_account(a) for a in found])


@router.post(
    "/structures/{structure_id}/technical-accounts/{account_id}/rotate",
    summary="Renew a technical account's password (also once expired): the new one is shown "
    "once, the previous one and its tokens stop working at once (managers)",
)
async def rotate_technical_account_password(
    structure_id: StructureId,
    account_id: AccountId,
    request: Request,
    response: Response,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.TechnicalAccountWithPassword:
    renewed = await clients.identity.rotate_technical_account_password(
        structure_id, account_id, caller
    )
    _no_store(response)
    return schemas.technical_account_with_password(
        renewed.account, renewed.password, _urls(request)
    )


@router.delete(
    "/structures/{structure_id}/technical-accounts/{account_id}",
    status_code=204,
    response_class=Response,
    summary="Revoke a technical account for good (managers; idempotent)",
)
async def revoke_technical_account(
    structure_id: StructureId, account_id: AccountId, clients: Clients, caller: AuthenticatedCaller
) -> Response:
    await clients.identity.revoke_technical_account(structure_id, account_id, caller)
    return Response(status_code=204)
