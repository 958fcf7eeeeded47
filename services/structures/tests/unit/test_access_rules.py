import pytest
from chorus_structures.domain.access import (
    AccessFacts,
    Role,
    decide,
    space_accesses,
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
