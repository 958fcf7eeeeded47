"""Every domain event structures emits has its outgoing message and key."""

import dataclasses
import inspect
import uuid
from datetime import UTC, datetime

import pytest
from chorus.structures.events.v1 import structures_events_pb2 as pb
from chorus_structures.domain import events
from chorus_structures.domain.access import Role
from chorus_structures.domain.identifiers import Identifier, IdentifierType
from chorus_structures.domain.spaces import Space
from chorus_structures.domain.structure import (
    Address,
    RoutingParameters,
    Structure,
    StructureKind,
    StructureStatus,
)
from chorus_structures.events.outgoing import encode

DOMAIN_EVENTS = [
    cls
    for _, cls in inspect.getmembers(events, inspect.isclass)
    if cls.__module__ == events.__name__ and dataclasses.is_dataclass(cls)
]


def structure() -> Structure:
    return Structure(
        id=uuid.uuid4(),
        identifier=Identifier(IdentifierType.SIRET, "21750001600019"),
        raison_sociale="Ville de Démoville",
        libelle="",
        kind=StructureKind.PUBLIQUE,
        status=StructureStatus.ACTIVE,
        address=Address("1 place", "75004", "Paris", "FR"),
        email="",
        vat_number="",
        routing=RoutingParameters(),
        services=(),
        created_at=datetime.now(UTC),
    )


@pytest.mark.parametrize("event_class", DOMAIN_EVENTS, ids=lambda cls: cls.__name__)
def test_every_domain_event_has_an_encoder_of_the_same_name(event_class):
    encoder = encode.dispatch(event_class)
    assert encoder is not encode.dispatch(object), f"no encoder for {event_class.__name__}"
    # Each domain event is published as the message of the same name.
    assert hasattr(pb, event_class.__name__)


def test_anything_else_is_refused():
    with pytest.raises(TypeError):
        encode(object())


def test_structure_events_are_keyed_by_structure_id():
    created = structure()
    outgoing = encode(events.StructureCreated(created, created_by=None))
    assert outgoing.key == str(created.id)
    assert isinstance(outgoing.message, pb.StructureCreated)
    assert (outgoing.message.structure.id, outgoing.message.created_by) == (str(created.id), "")


def test_a_member_leaving_is_detached_by_themself():
    user_id = uuid.uuid4()
    subject = structure()
    outgoing = encode(events.MemberDetached(subject, user_id, Role.UTILISATEUR, by=user_id))
    assert outgoing.key == str(subject.id)
    assert outgoing.message.left
    assert outgoing.message.structure_name == "Ville de Démoville"


def test_space_events_name_who_opened_or_closed():
    structure_id, by = uuid.uuid4(), uuid.uuid4()
    opened = encode(events.SpaceOpened(structure_id, Space.ENGAGEMENTS, by)).message
    closed = encode(events.SpaceClosed(structure_id, Space.ENGAGEMENTS, by)).message
    assert (type(opened), opened.opened_by) == (pb.SpaceOpened, str(by))
    assert (type(closed), closed.closed_by) == (pb.SpaceClosed, str(by))


def test_the_directory_summary_is_keyed_directory():
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    outgoing = encode(events.DirectoryImported("annuaire.csv", 3, 1, 7, at))
    assert outgoing.key == "directory"
    assert outgoing.message == pb.DirectoryImported(
        source="annuaire.csv",
        structures_created=3,
        structures_updated=1,
        services_upserted=7,
        imported_at=outgoing.message.imported_at,
    )
    assert outgoing.message.imported_at.ToDatetime(tzinfo=UTC) == at
