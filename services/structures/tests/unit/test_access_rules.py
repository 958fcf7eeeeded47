import uuid

import pytest
from chorus_platform.errors import PermissionDenied
from chorus_structures.domain.access import (
    AccessFacts,
    Caller,
    Role,
    decide,
    manager_candidate,
    person,
    space_accesses,
    technical_role,
)
from chorus_structures.domain.spaces import AccessMode, Space, default_open_spaces
from chorus_structures.domain.structure import StructureKind, StructureStatus

CONSULT, MODIFY = AccessMode.CONSULTATION, AccessMode.MODIFICATION


def facts(role=Role.UTILISATEUR, **fields) -> AccessFacts:
    values = {"structure_status": StructureStatus.ACTIVE, "space_open": True, **fields}
    return AccessFacts(role=role, **values)


def test_non_member_is_refused():
    assert decide(None, CONSULT).reason == "NOT_A_MEMBER"


@pytest.mark.parametrize("role", [Role.GESTIONNAIRE_PRINCIPAL, Role.GESTIONNAIRE_SECONDAIRE])
@pytest.mark.parametrize("mode", [CONSULT, MODIFY])
def test_managers_may_use_open_spaces_in_any_mode(role, mode):
    assert decide(facts(role), mode).allowed


def test_closed_space_is_refused_even_to_the_principal_manager():
    decision = decide(facts(Role.GESTIONNAIRE_PRINCIPAL, space_open=False), CONSULT)
    assert decision.reason == "SPACE_CLOSED"


def test_inactive_structure_is_refused():
    decision = decide(facts(structure_status=StructureStatus.INACTIVE), CONSULT)
    assert decision.reason == "STRUCTURE_INACTIVE"


def test_user_without_subscription_is_refused():
    assert decide(facts(), CONSULT).reason == "SUBSCRIPTION_REQUIRED"


def test_modification_subscription_implies_consultation():
    assert decide(facts(subscription_mode=MODIFY), CONSULT).allowed


def test_consultation_subscription_does_not_allow_modification():
    decision = decide(facts(subscription_mode=CONSULT), MODIFY)
    assert decision.reason == "SUBSCRIPTION_REQUIRED"


def test_unknown_service_is_refused():
    decision = decide(facts(Role.GESTIONNAIRE_PRINCIPAL, service_known=False), CONSULT)
    assert decision.reason == "SERVICE_NOT_FOUND"


def test_user_attached_to_other_services_is_refused():
    decision = decide(
        facts(subscription_mode=MODIFY, service_known=True, service_granted=False), CONSULT
    )
    assert decision.reason == "SERVICE_NOT_ALLOWED"


def test_public_structures_open_received_invoices_and_every_structure_issued_ones():
    private, public = (default_open_spaces(k) for k in StructureKind)
    assert Space.FACTURES_EMISES in private and Space.FACTURES_RECUES not in private
    assert Space.FACTURES_RECUES in public
    for space in (Space.MON_COMPTE, Space.ACTIVITES_GESTIONNAIRE, Space.SOLLICITATIONS_EMISES):
        assert space in private


def test_memberships_show_managers_modification_and_users_their_subscriptions():
    open_spaces = [Space.FACTURES_EMISES, Space.MON_COMPTE, Space.ACTIVITES_GESTIONNAIRE]
    manager = space_accesses(Role.GESTIONNAIRE_SECONDAIRE, StructureStatus.ACTIVE, open_spaces, {})
    assert manager == [
        (Space.FACTURES_EMISES, MODIFY),
        (Space.MON_COMPTE, MODIFY),
        (Space.ACTIVITES_GESTIONNAIRE, MODIFY),
    ]
    user = space_accesses(
        Role.UTILISATEUR,
        StructureStatus.ACTIVE,
        open_spaces,
        {Space.FACTURES_EMISES: CONSULT, Space.ENGAGEMENTS: MODIFY},
    )
    # Every member has their account area; only managers the manager activities.
    assert user == [(Space.FACTURES_EMISES, CONSULT), (Space.MON_COMPTE, MODIFY)]


TECH = Role.COMPTE_TECHNIQUE


@pytest.mark.parametrize("mode", [CONSULT, MODIFY])
def test_technical_account_uses_open_spaces_in_any_mode_without_subscription(mode):
    assert decide(facts(TECH, space=Space.FACTURES_EMISES), mode).allowed
    assert decide(facts(TECH, space=Space.ENGAGEMENTS), mode).allowed


def test_technical_account_is_no_manager():
    assert not TECH.is_manager
    decision = decide(facts(TECH, space=Space.ACTIVITES_GESTIONNAIRE), CONSULT)
    assert decision.reason == "MANAGERS_ONLY"
    assert decide(facts(TECH, space_open=False), CONSULT).reason == "SPACE_CLOSED"


def test_technical_account_spaces():
    open_spaces = list(default_open_spaces(StructureKind.PUBLIQUE))
    shown = space_accesses(TECH, StructureStatus.ACTIVE, open_spaces, {})
    assert Space.ACTIVITES_GESTIONNAIRE not in {space for space, _ in shown}
    assert {mode for _, mode in shown} == {MODIFY} and len(shown) == len(open_spaces) - 1


def test_technical_role_is_its_structure_only():
    mine, elsewhere = uuid.uuid4(), uuid.uuid4()
    caller = Caller(uuid.uuid4(), mine)
    assert technical_role(caller, mine) is TECH
    assert technical_role(caller, elsewhere) is None


def test_technical_accounts_are_refused_what_people_and_managers_do():
    person_caller, tech = Caller(uuid.uuid4()), Caller(uuid.uuid4(), uuid.uuid4())
    assert person(person_caller) == person_caller.user_id
    assert manager_candidate(person_caller) == person_caller.user_id
    with pytest.raises(PermissionDenied) as caught:
        person(tech)
    assert caught.value.reason == "TECHNICAL_ACCOUNT_NOT_ALLOWED"
    with pytest.raises(PermissionDenied) as caught:
        manager_candidate(tech)
    assert caught.value.reason == "MANAGER_REQUIRED"
