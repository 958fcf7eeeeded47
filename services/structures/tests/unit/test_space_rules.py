import pytest
from chorus_platform.errors import FailedPrecondition
from chorus_structures.domain.access import Role
from chorus_structures.domain.spaces import AccessMode, Space, openness
from chorus_structures.domain.structure import StructureKind
from chorus_structures.domain.subscriptions import check_closable, check_subscribable

CONSULT, MODIFY = AccessMode.CONSULTATION, AccessMode.MODIFICATION


def test_openness_is_the_kinds_default_unless_recorded():
    private = openness(StructureKind.PRIVEE, {Space.ENGAGEMENTS: True, Space.MON_COMPTE: True})
    public = openness(StructureKind.PUBLIQUE, {Space.FACTURES_EMISES: False})

    assert private[Space.FACTURES_EMISES] and not private[Space.FACTURES_RECUES]
    assert private[Space.ENGAGEMENTS]
    assert public[Space.FACTURES_RECUES] and not public[Space.FACTURES_EMISES]
    assert len(private) == len(Space)


@pytest.mark.parametrize(
    ("role", "space", "is_open", "validated", "requested", "reason"),
    [
        (
            Role.GESTIONNAIRE_SECONDAIRE,
            Space.ENGAGEMENTS,
            True,
            None,
            CONSULT,
            "MANAGER_HAS_ACCESS",
        ),
        (
            Role.UTILISATEUR,
            Space.ACTIVITES_GESTIONNAIRE,
            True,
            None,
            CONSULT,
            "SPACE_MANAGERS_ONLY",
        ),
        (Role.UTILISATEUR, Space.MON_COMPTE, True, None, CONSULT, "ALREADY_SUBSCRIBED"),
        (Role.UTILISATEUR, Space.ENGAGEMENTS, False, None, CONSULT, "SPACE_CLOSED"),
        (Role.UTILISATEUR, Space.ENGAGEMENTS, True, MODIFY, CONSULT, "ALREADY_SUBSCRIBED"),
    ],
)
def test_subscriptions_refused(role, space, is_open, validated, requested, reason):
    with pytest.raises(FailedPrecondition) as caught:
        check_subscribable(role, space, is_open, validated, requested)
    assert caught.value.reason == reason


def test_consultation_may_be_upgraded_to_modification():
    check_subscribable(Role.UTILISATEUR, Space.ENGAGEMENTS, True, CONSULT, MODIFY)


def test_account_and_manager_spaces_cannot_be_closed():
    check_closable(Space.ENGAGEMENTS)
    for space in (Space.MON_COMPTE, Space.ACTIVITES_GESTIONNAIRE):
        with pytest.raises(FailedPrecondition):
            check_closable(space)
