"""Accounts as both fronts write them: the profile change the REST API validates and the
portal fills, with its mapping to IdentityService's UpdateMe.

What only the REST API sends or answers is in :mod:`chorus_gateway.api.schemas.accounts`.
"""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb
from pydantic import Field

from chorus_edge.conversions import RequestModel


class UpdateMeBody(RequestModel):
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = Field(None, description="An empty string removes the phone number.")
    contact_email: str | None = Field(
        None,
        description="Starts a change of contact address (needs current_password): a "
        "verification link goes to it, the address changes once the link is confirmed.",
    )
    current_password: str | None = Field(
        None, description="Required with contact_email; ignored otherwise."
    )


def update_me_request(body: UpdateMeBody) -> pb.UpdateMeRequest:
    request = pb.UpdateMeRequest()
    for name in ("first_name", "last_name", "phone"):
        value = getattr(body, name)
        if value is not None:
            setattr(request, name, value)
    return request
