"""The identity service as structures needs it: finding an account by login e-mail (direct
attachment) and showing members' names (best effort).

Calls forward the caller's token (identity decides what the caller may see) and carry the
channel's deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from uuid import UUID

import grpc
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus.identity.v1 import identity_service_pb2_grpc as pb_grpc
from chorus_platform.auth import current_principal
from chorus_platform.errors import FailedPrecondition, NotFound, Unavailable

from chorus_structures.domain.people import Account, Profile

log = logging.getLogger(__name__)

_BATCH_MAX = 100


def _profile(user: pb.User) -> Profile:
    return Profile(
        first_name=user.first_name,
        last_name=user.last_name,
        email=user.contact_email or user.login_email,
    )


class IdentityDirectory:
    """Look-ups in identity on behalf of the calling user."""

    def __init__(self, channel: grpc.aio.Channel | None) -> None:
        self._stub = pb_grpc.IdentityServiceStub(channel) if channel is not None else None

    async def find_by_login_email(self, login_email: str) -> Account:
        """The account with this login e-mail.

        NotFound USER_NOT_FOUND when there is none; FailedPrecondition USER_NOT_ACTIVE for an
        account not activated (or deactivated); Unavailable IDENTITY_UNAVAILABLE.
        """
        if self._stub is None:
            raise _unavailable()
        try:
            response = await self._stub.FindUserByLoginEmail(
                pb.FindUserByLoginEmailRequest(login_email=login_email.strip()),
                metadata=current_principal().metadata(),
            )
        except grpc.aio.AioRpcError as err:
            if err.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise NotFound(
                    "USER_NOT_FOUND",
                    "Aucun compte n'utilise cette adresse de connexion : l'utilisateur doit "
                    "d'abord créer son compte.",
                ) from None
            raise _unavailable() from err
        user = response.user
        if user.status != pb.USER_STATUS_ACTIF:
            raise FailedPrecondition(
                "USER_NOT_ACTIVE",
                "Ce compte n'est pas actif : l'utilisateur doit d'abord l'activer.",
            )
        return Account(user_id=UUID(user.id), active=True, profile=_profile(user))

    async def profiles(self, user_ids: Iterable[UUID]) -> dict[UUID, Profile]:
        """Names and contact e-mails of these users; empty (ids only shown) when identity
        does not answer, which must not make a members list fail."""
        wanted = list(dict.fromkeys(user_ids))
        if self._stub is None or not wanted:
            return {}
        found: dict[UUID, Profile] = {}
        try:
            for start in range(0, len(wanted), _BATCH_MAX):
                response = await self._stub.BatchGetUsers(
                    pb.BatchGetUsersRequest(
                        user_ids=[str(u) for u in wanted[start : start + _BATCH_MAX]]
                    ),
                    metadata=current_principal().metadata(),
                )
                found.update({UUID(user.id): _profile(user) for user in response.users})
        except grpc.aio.AioRpcError as err:
            log.warning("identity profiles unavailable", extra={"grpc_code": err.code().name})
        return found


def _unavailable() -> Unavailable:
    return Unavailable(
        "IDENTITY_UNAVAILABLE",
        "Le service des comptes ne répond pas : réessayez dans un instant.",
    )
