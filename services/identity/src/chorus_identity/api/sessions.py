"""Handlers of logging in (password, second factor), refreshing and revoking sessions, the
caller's own sessions, and what other services verify access tokens with: the public keys
and the sessions revoked meanwhile."""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.auth import current_principal

from chorus_identity.api.client_context import client_context
from chorus_identity.api.mapping import (
    optional_moment,
    public_key_to_proto,
    revoked_session_to_proto,
    session_to_proto,
    timestamp,
    tokens_to_proto,
)
from chorus_identity.usecases.logins import Logins
from chorus_identity.usecases.revocations import RevokedSessions
from chorus_identity.usecases.sessions import Sessions
from chorus_identity.usecases.signing_keys import KeyRing


class SessionHandlers:
    """CreateSession, CompleteMfaChallenge, RefreshSession, RevokeSession, GetPublicKeys,
    ListMySessions, RevokeMySession, ListRevokedSessions."""

    _logins: Logins
    _sessions: Sessions
    _keys: KeyRing
    _revoked: RevokedSessions

    async def CreateSession(self, request, context) -> pb.CreateSessionResponse:
        """Logs in: opens a session and returns an access token (EdDSA JWT, kid header) and a
        refresh token; for an account with two-factor authentication, returns instead
        ``mfa_required`` and a challenge to complete with CompleteMfaChallenge.

        Errors: UNAUTHENTICATED INVALID_CREDENTIALS, identical for an unknown e-mail, a wrong
        password and an account that is not active; FAILED_PRECONDITION ACCOUNT_LOCKED after
        ``login_max_failures`` consecutive failures on the address, until ``locked_until``
        (metadata ``locked_until``, ``retry_after_seconds``).
        """
        result = await self._logins.login(
            login_email=request.login_email,
            password=request.password,
            client=client_context(context, request.client),
        )
        if result.tokens is None:
            assert result.challenge_expires_at is not None
            return pb.CreateSessionResponse(
                mfa_required=True,
                mfa_challenge_id=result.challenge_id,
                mfa_challenge_expires_at=timestamp(result.challenge_expires_at),
            )
        return pb.CreateSessionResponse(tokens=tokens_to_proto(result.tokens))

    async def CompleteMfaChallenge(self, request, context) -> pb.CompleteMfaChallengeResponse:
        """Completes a two-factor login with a TOTP code (usable once per time step) or a
        recovery code (single use).

        Errors: UNAUTHENTICATED MFA_CHALLENGE_INVALID (unknown, expired, completed, or 5 wrong
        codes), MFA_CODE_INVALID (counts towards the lockout); FAILED_PRECONDITION
        ACCOUNT_LOCKED.
        """
        pair = await self._logins.complete_mfa(
            challenge_id=request.challenge_id,
            code=request.code,
            client=client_context(context, request.client),
        )
        return pb.CompleteMfaChallengeResponse(tokens=tokens_to_proto(pair))

    async def RefreshSession(self, request, context) -> pb.RefreshSessionResponse:
        """Spends the refresh token and returns a new pair in the same session.

        Presenting an already spent token revokes the whole session. Errors: UNAUTHENTICATED
        REFRESH_TOKEN_INVALID (unknown, expired, spent, revoked, or account not active).
        """
        pair = await self._sessions.refresh(
            refresh_token=request.refresh_token, client=client_context(context, request.client)
        )
        return pb.RefreshSessionResponse(tokens=tokens_to_proto(pair))

    async def RevokeSession(self, request, context) -> pb.RevokeSessionResponse:
        """Logs out: revokes the session of the refresh token. Idempotent; an unknown token is
        not an error."""
        await self._sessions.revoke(
            refresh_token=request.refresh_token, client=client_context(context)
        )
        return pb.RevokeSessionResponse()

    async def GetPublicKeys(self, request, context) -> pb.GetPublicKeysResponse:
        """Every key whose tokens may still be valid: the signing key (no ``not_after``) and
        retired keys until ``retired_at`` + the longest token lifetime (an API application's
        token, 1 hour by default, outlives a user's). No errors."""
        keys = await self._keys.verification_keys()
        ttl = self._keys.verification_ttl
        return pb.GetPublicKeysResponse(keys=[public_key_to_proto(k, ttl) for k in keys])

    async def ListMySessions(self, request, context) -> pb.ListMySessionsResponse:
        """The caller's sessions that can still be refreshed, most recently used first, the
        caller's own marked ``current``. Errors: UNAUTHENTICATED."""
        mine = await self._sessions.list_mine(current_principal())
        return pb.ListMySessionsResponse(sessions=[session_to_proto(s) for s in mine])

    async def RevokeMySession(self, request, context) -> pb.RevokeMySessionResponse:
        """Revokes one of the caller's sessions (its refresh token stops working; its access
        tokens stop working at identity at once). Errors: UNAUTHENTICATED; NOT_FOUND
        SESSION_NOT_FOUND (not the caller's, or already revoked)."""
        await self._sessions.revoke_mine(
            current_principal(), session_id=request.session_id, client=client_context(context)
        )
        return pb.RevokeMySessionResponse()

    async def ListRevokedSessions(self, request, context) -> pb.ListRevokedSessionsResponse:
        """Sessions revoked less than one access-token lifetime ago (their tokens may still be
        unexpired), oldest revocation first, paged: what every service's deny-list loads at
        start. Public like GetPublicKeys (a service has no token of its own at start); it
        reveals random session ids and moments, no user. ``revoked_since`` narrows the
        window. Errors: INVALID_ARGUMENT PAGE_SIZE_INVALID, PAGE_TOKEN_INVALID,
        TIMESTAMP_INVALID (``revoked_since`` out of range)."""
        since = optional_moment(
            request.revoked_since, request.HasField("revoked_since"), "revoked_since"
        )
        page, next_token = await self._revoked.page(
            revoked_since=since, page_size=request.page_size, page_token=request.page_token
        )
        return pb.ListRevokedSessionsResponse(
            sessions=[revoked_session_to_proto(s) for s in page], next_page_token=next_token
        )
