"""Handlers for spaces and subscriptions."""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb

from chorus_structures.api.handlers import Handlers
from chorus_structures.api.mapping import (
    reference_from_request,
    space_to_proto,
    uuid_from_request,
)
from chorus_structures.api.request_fields import (
    caller_id,
    current_caller,
    decision_of,
    manager_caller_id,
    required_mode,
    required_space,
    structure_id_of,
)
from chorus_structures.contract import enum_from_proto, subscription_to_proto
from chorus_structures.domain.paging import page_request
from chorus_structures.domain.subscriptions import SubscriptionStatus


class SpaceHandlers(Handlers):
    async def ListSpaces(self, request, context):
        """Every space of the catalogue for the structure: open or not, the caller's mode
        (managers: MODIFICATION in every open space; MON_COMPTE for every member; a simple user
        their validated subscription), the mode of a pending subscription, and the space's
        rules (managers only, always open, self-subscription). Members only; a technical
        account, its structure only (MODIFICATION in every open space but
        ACTIVITES_GESTIONNAIRE). The structure by ``structure_id`` or ``structure_cpp_id``
        (exactly one; by integer id a private structure is NOT_FOUND to non-members). Errors:
        INVALID_ARGUMENT STRUCTURE_ID_INVALID, CPP_ID_INVALID, STRUCTURE_REFERENCE_CONFLICT;
        NOT_FOUND STRUCTURE_NOT_FOUND; PERMISSION_DENIED NOT_A_MEMBER.
        """
        caller = current_caller()
        reference = reference_from_request(
            request.structure_id,
            request.structure_cpp_id,
            id_field="structure_id",
            cpp_field="structure_cpp_id",
            id_reason="STRUCTURE_ID_INVALID",
            conflict_reason="STRUCTURE_REFERENCE_CONFLICT",
        )
        assert reference is not None
        views = await self._usecases.spaces.list_spaces(caller, reference)
        return pb.ListSpacesResponse(spaces=[space_to_proto(v) for v in views])

    async def OpenSpace(self, request, context):
        """A manager opens a space (idempotent; SpaceOpened when it was closed). Errors:
        INVALID_ARGUMENT STRUCTURE_ID_INVALID, SPACE_REQUIRED; NOT_FOUND STRUCTURE_NOT_FOUND;
        PERMISSION_DENIED MANAGER_REQUIRED.
        """
        view = await self._usecases.spaces.set_space_open(
            manager_caller_id(),
            structure_id_of(request),
            required_space(request.space),
            open_=True,
        )
        return pb.OpenSpaceResponse(space=space_to_proto(view))

    async def CloseSpace(self, request, context):
        """A manager closes a space (idempotent; SpaceClosed when it was open); subscriptions
        are kept but give no access while it is closed. Errors: INVALID_ARGUMENT
        STRUCTURE_ID_INVALID, SPACE_REQUIRED; NOT_FOUND STRUCTURE_NOT_FOUND; PERMISSION_DENIED
        MANAGER_REQUIRED; FAILED_PRECONDITION SPACE_ALWAYS_OPEN.
        """
        view = await self._usecases.spaces.set_space_open(
            manager_caller_id(),
            structure_id_of(request),
            required_space(request.space),
            open_=False,
        )
        return pb.CloseSpaceResponse(space=space_to_proto(view))

    async def RequestSubscription(self, request, context):
        """A simple user asks to use an open space in CONSULTATION or MODIFICATION mode:
        EN_COURS_DE_VALIDATION with SubscriptionRequested naming the managers, or VALIDEE at
        once for FACTURES_EMISES (SubscriptionDecided). Asking for MODIFICATION while
        subscribed in CONSULTATION is an upgrade. Errors: INVALID_ARGUMENT
        STRUCTURE_ID_INVALID, SPACE_REQUIRED, ACCESS_MODE_REQUIRED; NOT_FOUND
        STRUCTURE_NOT_FOUND; PERMISSION_DENIED NOT_A_MEMBER; FAILED_PRECONDITION
        MANAGER_HAS_ACCESS, SPACE_MANAGERS_ONLY, SPACE_CLOSED, ALREADY_SUBSCRIBED;
        ALREADY_EXISTS SUBSCRIPTION_PENDING.
        """
        subscription = await self._usecases.spaces.request_subscription(
            caller_id(),
            structure_id_of(request),
            required_space(request.space),
            required_mode(request.mode),
        )
        return pb.RequestSubscriptionResponse(subscription=subscription_to_proto(subscription))

    async def ListSubscriptions(self, request, context):
        """The structure's subscriptions, newest first, optionally of one status, with the
        users' names (best effort); managers only. Errors: INVALID_ARGUMENT
        STRUCTURE_ID_INVALID, PAGE_SIZE_INVALID, PAGE_TOKEN_INVALID; NOT_FOUND
        STRUCTURE_NOT_FOUND; PERMISSION_DENIED MANAGER_REQUIRED.
        """
        structure_id = structure_id_of(request)
        status = enum_from_proto(SubscriptionStatus, request.status)
        page = page_request(
            request.page_size, request.page_token, "subscriptions", structure_id, status or ""
        )
        found, after, profiles = await self._usecases.spaces.list_subscriptions(
            manager_caller_id(), structure_id, status, page
        )
        return pb.ListSubscriptionsResponse(
            subscriptions=[subscription_to_proto(s, profiles) for s in found],
            next_page_token=page.next_token(after) if after else "",
        )

    async def DecideSubscription(self, request, context):
        """A manager of the subscription's structure accepts (the user gets the mode; a
        previous subscription to the space is RESILIEE) or refuses it, with an optional
        comment; emits SubscriptionDecided. Errors: INVALID_ARGUMENT SUBSCRIPTION_ID_INVALID,
        DECISION_REQUIRED, COMMENT_TOO_LONG; NOT_FOUND SUBSCRIPTION_NOT_FOUND (also for a
        caller neither member of the structure nor the subscriber); PERMISSION_DENIED
        MANAGER_REQUIRED; FAILED_PRECONDITION SUBSCRIPTION_ALREADY_DECIDED.
        """
        subscription = await self._usecases.spaces.decide_subscription(
            manager_caller_id(),
            uuid_from_request(
                request.subscription_id, "subscription_id", "SUBSCRIPTION_ID_INVALID"
            ),
            decision_of(request.decision),
            request.comment,
        )
        return pb.DecideSubscriptionResponse(subscription=subscription_to_proto(subscription))
