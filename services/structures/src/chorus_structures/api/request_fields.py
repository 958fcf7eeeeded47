"""Reading request fields every handler shares: the caller, ids, enums that are required."""

from __future__ import annotations

from uuid import UUID

from chorus_platform.auth import bearer_token, current_principal, optional_principal
from chorus_platform.errors import FieldViolation, InvalidArgument, Unauthenticated

from chorus_structures.api.mapping import uuid_from_request
from chorus_structures.contract import enum_from_proto
from chorus_structures.domain.access import Caller, manager_candidate, person
from chorus_structures.domain.attachments import Decision, required_decision
from chorus_structures.domain.spaces import AccessMode, Space


def current_caller() -> Caller:
    """The authenticated caller: the user, and for a technical account of the Chorus Pro API
    the structure its token names (``tst``). identity issues UUIDs; anything else is
    refused."""
    principal = current_principal()
    try:
        technical = principal.technical_structure_id
        return Caller(UUID(principal.user_id), UUID(technical) if technical else None)
    except ValueError:
        raise Unauthenticated("TOKEN_INVALID", "Jeton d'accès invalide ou expiré.") from None


def optional_caller(context) -> Caller | None:
    """The caller of an RPC open to anonymous callers (main.PUBLIC_METHODS): as
    :func:`current_caller`, or None when the call carries no token at all. A token that was
    sent but did not verify (expired, forged, revoked session) is refused UNAUTHENTICATED
    TOKEN_INVALID as on every other RPC — never read as an anonymous call."""
    if optional_principal() is not None:
        return current_caller()
    if bearer_token(tuple(context.invocation_metadata() or ())) is not None:
        raise Unauthenticated("TOKEN_INVALID", "Jeton d'accès invalide ou expiré.")
    return None


def caller_id() -> UUID:
    """The authenticated person's id, for what only people do; a technical account is
    PERMISSION_DENIED TECHNICAL_ACCOUNT_NOT_ALLOWED. Handlers that serve technical accounts
    too read :func:`current_caller`; managers' actions read :func:`manager_caller_id`."""
    return person(current_caller())


def manager_caller_id() -> UUID:
    """The authenticated person's id for a manager's action (the use case checks the role);
    a technical account is PERMISSION_DENIED MANAGER_REQUIRED at once."""
    return manager_candidate(current_caller())


def structure_id_of(request) -> UUID:
    return uuid_from_request(request.structure_id, "structure_id", "STRUCTURE_ID_INVALID")


def user_id_of(request) -> UUID:
    return uuid_from_request(request.user_id, "user_id", "USER_ID_INVALID")


def required_space(value: int) -> Space:
    space = enum_from_proto(Space, value)
    if space is None:
        message = "Indiquez l'espace concerné (par exemple FACTURES_EMISES)."
        raise InvalidArgument("SPACE_REQUIRED", message, [FieldViolation("space", message)])
    return space


def required_mode(value: int) -> AccessMode:
    mode = enum_from_proto(AccessMode, value)
    if mode is None:
        message = "Indiquez le mode d'accès : CONSULTATION ou MODIFICATION."
        raise InvalidArgument("ACCESS_MODE_REQUIRED", message, [FieldViolation("mode", message)])
    return mode


def decision_of(value: int) -> Decision:
    return required_decision(enum_from_proto(Decision, value))
