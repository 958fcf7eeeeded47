import uuid
from datetime import UTC, datetime

import pytest
from chorus_platform.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from chorus_structures.domain.access import Role
from chorus_structures.domain.membership import (
    Member,
    check_detach,
    check_leave,
    check_role_change,
    check_transfer,
    grantable_role,
)

PRINCIPAL, SECONDARY, USER = (
    Role.GESTIONNAIRE_PRINCIPAL,
    Role.GESTIONNAIRE_SECONDAIRE,
    Role.UTILISATEUR,
)


def member(role: Role, user_id=None) -> Member:
    return Member(user_id or uuid.uuid4(), role, frozenset(), datetime.now(UTC))


def reason(call, *args) -> tuple[type, str]:
    with pytest.raises(Exception) as caught:
        call(*args)
    return type(caught.value), caught.value.reason


def test_granted_role_defaults_to_user_and_never_principal():
    assert grantable_role(None) is USER
    assert grantable_role(SECONDARY) is SECONDARY
    assert reason(grantable_role, PRINCIPAL) == (InvalidArgument, "ROLE_NOT_GRANTABLE")


def test_managers_change_roles_but_never_the_principals():
    check_role_change(SECONDARY, member(USER), SECONDARY)
    check_role_change(PRINCIPAL, member(SECONDARY), USER)
    assert reason(check_role_change, USER, member(USER), SECONDARY) == (
        PermissionDenied,
        "MANAGER_REQUIRED",
    )
    assert reason(check_role_change, SECONDARY, member(PRINCIPAL), USER) == (
        FailedPrecondition,
        "PRINCIPAL_ROLE_PROTECTED",
    )
    assert reason(check_role_change, PRINCIPAL, None, USER) == (NotFound, "MEMBER_NOT_FOUND")


def test_nobody_detaches_the_principal():
    check_detach(SECONDARY, member(SECONDARY))
    assert reason(check_detach, SECONDARY, member(PRINCIPAL)) == (
        FailedPrecondition,
        "PRINCIPAL_CANNOT_BE_DETACHED",
    )
    assert reason(check_detach, None, member(USER)) == (PermissionDenied, "MANAGER_REQUIRED")


def test_the_principal_leaves_only_after_a_transfer():
    check_leave(USER)
    check_leave(SECONDARY)
    assert reason(check_leave, PRINCIPAL) == (FailedPrecondition, "PRINCIPAL_MUST_TRANSFER_FIRST")
    assert reason(check_leave, None) == (PermissionDenied, "NOT_A_MEMBER")


def test_only_the_principal_transfers_to_another_member():
    me = uuid.uuid4()
    check_transfer(PRINCIPAL, me, member(USER))
    assert reason(check_transfer, SECONDARY, me, member(USER)) == (
        PermissionDenied,
        "PRINCIPAL_MANAGER_REQUIRED",
    )
    assert reason(check_transfer, PRINCIPAL, me, member(PRINCIPAL, me)) == (
        FailedPrecondition,
        "ALREADY_PRINCIPAL",
    )
    assert reason(check_transfer, PRINCIPAL, me, None) == (NotFound, "MEMBER_NOT_FOUND")
