import uuid
from datetime import UTC, datetime

import pytest
from chorus_platform.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from chorus_structures.domain.changes import StructureChanges, apply_changes
from chorus_structures.domain.identifiers import Identifier, IdentifierType
from chorus_structures.domain.paging import Position, page_request
from chorus_structures.domain.services import validate_new_service
from chorus_structures.domain.structure import (
    Address,
    RoutingParameters,
    Structure,
    StructureKind,
    StructureStatus,
)


def structure(kind=StructureKind.PUBLIQUE) -> Structure:
    return Structure(
        id=uuid.uuid4(),
        identifier=Identifier(IdentifierType.SIRET, "21750001600019"),
        raison_sociale="Ville de Démoville",
        libelle="",
        kind=kind,
        status=StructureStatus.ACTIVE,
        address=Address("1 place", "75004", "Paris", "FR"),
        email="",
        vat_number="",
        routing=RoutingParameters(),
        services=(),
        created_at=datetime.now(UTC),
    )


def test_changes_apply_only_what_is_given():
    updated = apply_changes(
        structure(),
        StructureChanges(libelle=" Hôtel  de ville ", engagement_required=True),
        principal=False,
    )
    assert updated.libelle == "Hôtel de ville"
    assert updated.routing == RoutingParameters(engagement_required=True)
    assert updated.raison_sociale == "Ville de Démoville"


def test_routing_parameters_only_on_public_structures():
    with pytest.raises(FailedPrecondition) as caught:
        apply_changes(
            structure(StructureKind.PRIVEE),
            StructureChanges(service_code_required=True),
            principal=True,
        )
    assert caught.value.reason == "ROUTING_PARAMETERS_PUBLIC_ONLY"


def test_only_the_principal_changes_the_status():
    changes = StructureChanges(status=StructureStatus.INACTIVE)
    with pytest.raises(PermissionDenied):
        apply_changes(structure(), changes, principal=False)
    assert apply_changes(structure(), changes, principal=True).status is StructureStatus.INACTIVE


def test_service_codes():
    assert validate_new_service(" serv-fin ", "Finances", False, StructureKind.PRIVEE).code == (
        "SERV-FIN"
    )
    for code, kind, reason in (
        ("", StructureKind.PUBLIQUE, "SERVICE_CODE_REQUIRED"),
        ("A/B", StructureKind.PUBLIQUE, "SERVICE_CODE_INVALID"),
        ("factures_publiques", StructureKind.PRIVEE, "SERVICE_CODE_RESERVED"),
    ):
        with pytest.raises(InvalidArgument) as caught:
            validate_new_service(code, "Nom", False, kind)
        assert caught.value.reason == reason
    reserved = validate_new_service(
        "FACTURES_PUBLIQUES", "Publiques", False, StructureKind.PUBLIQUE
    )
    assert reserved.code == "FACTURES_PUBLIQUES"


def test_page_tokens_belong_to_their_list():
    first = page_request(0, "", "history", "s1")
    assert first.size == 20 and first.after is None
    token = first.next_token(Position(datetime.now(UTC), uuid.uuid4()))
    assert page_request(5, token, "history", "s1").after is not None
    with pytest.raises(InvalidArgument) as caught:
        page_request(5, token, "history", "s2")
    assert caught.value.reason == "PAGE_TOKEN_INVALID"
    with pytest.raises(InvalidArgument):
        page_request(-1, "", "history", "s1")
