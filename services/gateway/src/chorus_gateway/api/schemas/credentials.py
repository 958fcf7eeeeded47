"""Credentials of the Chorus Pro-compatible API: API applications (the caller's) and a
structure's technical accounts. REST models and their mapping from ``chorus.identity.v1``.

Secrets (an application's ``client_secret``, a technical account's ``password``) appear only
in the answer that creates them (or renews the password): never in a list, never again.
"""

from __future__ import annotations

from datetime import datetime

from chorus.identity.v1 import identity_service_pb2 as pb
from pydantic import BaseModel, Field

from chorus_edge.conversions import RequestModel, timestamp
from chorus_edge.credentials import (
    TECHNICAL_ACCOUNT_STATUS,
    ConnectionUrls,
    TechnicalAccountStatus,
)


class ApiClientBody(RequestModel):
    name: str = Field(
        description="A name to recognise the application by (1 to 100 characters), e.g. "
        "`ERP comptabilité`.",
    )


class ApiClient(BaseModel):
    id: str = Field(description="The application's id (to revoke it).")
    client_id: str = Field(description="What the connector sends as `client_id` (a UUID).")
    name: str
    created_at: datetime | None
    revoked_at: datetime | None = Field(description="Set once revoked: no token any more.")
    last_used_at: datetime | None = Field(description="Last token issued (to the minute).")


class ConnectionInfo(BaseModel):
    token_url: str = Field(
        description="OAuth2 token endpoint (client credentials): `<portal>/api/oauth/token`."
    )
    api_base_url: str = Field(description="Base of the Chorus Pro-compatible API: `<portal>/cpro`.")


class CreatedApiClient(ApiClient, ConnectionInfo):
    client_secret: str = Field(
        description="The secret, shown this once (stored hashed): copy it into the connector."
    )


class ApiClientList(BaseModel):
    items: list[ApiClient]


def api_client(message: pb.ApiClient) -> ApiClient:
    return ApiClient(**_api_client_fields(message))


def _api_client_fields(message: pb.ApiClient) -> dict:
    return {
        "id": message.id,
        "client_id": message.client_id,
        "name": message.name,
        "created_at": timestamp(message, "created_at"),
        "revoked_at": timestamp(message, "revoked_at"),
        "last_used_at": timestamp(message, "last_used_at"),
    }


def created_api_client(
    response: pb.CreateApiClientResponse, urls: ConnectionUrls
) -> CreatedApiClient:
    return CreatedApiClient(
        **_api_client_fields(response.client),
        client_secret=response.client_secret,
        token_url=urls.token_url,
        api_base_url=urls.api_base_url,
    )


class TechnicalAccount(BaseModel):
    id: str = Field(description="The account's id (to renew or revoke it).")
    structure_id: str
    login: str = Field(
        description="What the connector sends as login, e.g. `TECH_12@cpro.chorus.local`."
    )
    status: TechnicalAccountStatus | None = Field(
        description="ACTIF, EXPIRE (renew it) or REVOQUE."
    )
    created_at: datetime | None
    created_by: str | None = Field(description="The manager who activated it.")
    expires_at: datetime | None = Field(description="When the current password expires.")
    revoked_at: datetime | None


class TechnicalAccountWithPassword(TechnicalAccount, ConnectionInfo):
    password: str = Field(
        description="The password, shown this once (stored hashed): the connector sends "
        "`cpro-account: base64(login:password)`."
    )


class TechnicalAccountList(BaseModel):
    items: list[TechnicalAccount]


def _technical_fields(message: pb.TechnicalAccount) -> dict:
    return {
        "id": message.id,
        "structure_id": message.structure_id,
        "login": message.login,
        "status": TECHNICAL_ACCOUNT_STATUS.to_rest(message.status),
        "created_at": timestamp(message, "created_at"),
        "created_by": message.created_by or None,
        "expires_at": timestamp(message, "expires_at"),
        "revoked_at": timestamp(message, "revoked_at"),
    }


def technical_account(message: pb.TechnicalAccount) -> TechnicalAccount:
    return TechnicalAccount(**_technical_fields(message))


def technical_account_with_password(
    message: pb.TechnicalAccount, password: str, urls: ConnectionUrls
) -> TechnicalAccountWithPassword:
    return TechnicalAccountWithPassword(
        **_technical_fields(message),
        password=password,
        token_url=urls.token_url,
        api_base_url=urls.api_base_url,
    )
