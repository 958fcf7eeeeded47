"""Handlers of administration: disabling and re-enabling accounts, reading the audit trail
(callers flagged ``is_admin`` only)."""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.auth import current_principal

from chorus_identity.api.client_context import client_context
from chorus_identity.api.mapping import security_event_to_proto, user_to_proto
from chorus_identity.usecases.admin import Admin


class AdminHandlers:
    """DisableUser, EnableUser, ListSecurityEvents."""

    _admin: Admin

    async def DisableUser(self, request, context) -> pb.DisableUserResponse:
        """Admin: deactivates an account (sessions revoked, login refused, data kept;
        UserDeactivated by admin). Idempotent. Errors: UNAUTHENTICATED; PERMISSION_DENIED
        ADMIN_REQUIRED; INVALID_ARGUMENT USER_ID_INVALID; NOT_FOUND USER_NOT_FOUND."""
        account = await self._admin.disable(
            current_principal(),
            user_id=request.user_id,
            reason=request.reason,
            client=client_context(context),
        )
        return pb.DisableUserResponse(user=user_to_proto(account))

    async def EnableUser(self, request, context) -> pb.EnableUserResponse:
        """Admin: re-enables a deactivated account (UserReactivated) and clears its lockout.
        Errors: as DisableUser."""
        account = await self._admin.enable(
            current_principal(), user_id=request.user_id, client=client_context(context)
        )
        return pb.EnableUserResponse(user=user_to_proto(account))

    async def ListSecurityEvents(self, request, context) -> pb.ListSecurityEventsResponse:
        """Admin: the audit trail newest first, optionally for one user and some kinds;
        ``page_size`` 0 → 50, at most 200. Errors: UNAUTHENTICATED; PERMISSION_DENIED
        ADMIN_REQUIRED; INVALID_ARGUMENT USER_ID_INVALID, PAGE_SIZE_INVALID,
        PAGE_TOKEN_INVALID."""
        events, next_token = await self._admin.list_events(
            current_principal(),
            user_id=request.user_id,
            kinds=list(request.kinds),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListSecurityEventsResponse(
            events=[security_event_to_proto(e) for e in events], next_page_token=next_token
        )
