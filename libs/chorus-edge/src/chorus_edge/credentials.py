"""The credentials of the Chorus Pro-compatible API as both fronts show them: where a
connector gets its token and calls the API (from the portal's public URL), and the status
table of technical accounts."""

from __future__ import annotations

from dataclasses import dataclass

from chorus.identity.v1 import identity_service_pb2 as pb

from chorus_edge.enums import ProtoEnum

TECHNICAL_ACCOUNT_STATUS = ProtoEnum(pb.TechnicalAccountStatus)
TechnicalAccountStatus = TECHNICAL_ACCOUNT_STATUS.rest

TOKEN_PATH = "/api/oauth/token"
"""The OAuth2 token endpoint of the Chorus Pro-compatible API (client credentials)."""
API_BASE_PATH = "/cpro"
"""Where the Chorus Pro-compatible API answers (``/cpro/factures/v1/...``)."""


@dataclass(frozen=True)
class ConnectionUrls:
    """What an integrator types into a connector instead of PISTE's and Chorus Pro's URLs."""

    token_url: str
    api_base_url: str


def connection_urls(portal_url: str) -> ConnectionUrls:
    """The two URLs under the portal's public address (``CHORUS_PORTAL_URL``)."""
    base = portal_url.rstrip("/")
    return ConnectionUrls(token_url=base + TOKEN_PATH, api_base_url=base + API_BASE_PATH)
