"""The directory read model: structures' events applied in time order, structures asked only
on a miss (and the answer kept), and the same answers as structures gives — public
structures only to an anonymous look-up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from chorus.structures.events.v1 import structures_events_pb2 as events_pb
from chorus.structures.v1 import structures_service_pb2 as spb
from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.domain.forms import RecipientRef
from chorus_invoices.events import directory as handlers
from chorus_invoices.events import outgoing
from chorus_invoices.usecases.directory import COUNTER_NAME, Directory
from chorus_platform import auth
from chorus_platform.cloudevents import Envelope
from chorus_platform.errors import Unauthenticated
from chorus_platform.grpc_client import open_channel
from chorus_platform.unit_of_work import UnitOfWork
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

STRUCTURES_TOPIC = "chorus.structures.events.v1"
HOUR = timedelta(hours=1)


def envelope(at: datetime | None, event_id: str | None = None) -> Envelope:
    return Envelope(
        event_id or str(uuid.uuid4()),
        "t",
        "/chorus/structures",
        at.isoformat() if at else "",
        STRUCTURES_TOPIC,
        "",
        None,
    )


async def apply(api, handler, message, at: datetime | None) -> None:
    """Runs the consumer's handler in a unit-of-work transaction, as the consumer would."""
    uow = UnitOfWork(api.pool, service="invoices", encode=outgoing.encode)
    async with uow.transaction() as tx:
        await handler(tx, message, envelope(at))


def updated(structure: spb.Structure, **changes) -> events_pb.StructureUpdated:
    copy = spb.Structure()
    copy.CopyFrom(structure)
    for name, value in changes.items():
        setattr(copy, name, value)
    return events_pb.StructureUpdated(structure=copy)


async def held(api, structure_id: str) -> spb.Structure | None:
    rows = await api.fetch("SELECT structure FROM directory WHERE structure_id = $1", structure_id)
    return spb.Structure.FromString(rows[0]["structure"]) if rows else None


@pytest.fixture
def as_caller(signer):
    token = auth._principal.set(auth.Principal(str(uuid.uuid4()), "sid", signer.token("u")))
    yield
    auth._principal.reset(token)


@pytest.fixture
async def clients(api):
    """(a client with the read model, its Directory, a client asking structures every time)."""
    async with open_channel(f"127.0.0.1:{api.structures.port}", 5) as channel:
        directory = Directory(
            UnitOfWork(api.pool, service="invoices", encode=outgoing.encode), max_age=HOUR
        )
        yield (
            StructuresClient(channel, cache_seconds=0, directory=directory),
            directory,
            StructuresClient(channel, cache_seconds=0),
        )


async def test_a_miss_asks_structures_once_and_keeps_the_answer(
    api, clients, fake_structures, as_caller
):
    client, directory, _ = clients
    recipient = fake_structures.add("Commune de Valmont", services=(("VOIRIE", True, False),))

    first = await client.structure(recipient.id)
    await directory.settled()
    again = await client.structure(recipient.id)
    by_identifier = await client.find("SIRET", recipient.identifier)

    assert first == again == by_identifier
    assert first.services[0].code == "VOIRIE"
    assert fake_structures.calls["GetStructure"] == 1
    assert fake_structures.calls["FindStructureByIdentifier"] == 0
    assert await held(api, recipient.id) == recipient


async def test_unknown_structures_are_asked_every_time_and_not_kept(
    api, clients, fake_structures, as_caller
):
    client, directory, _ = clients
    for _ in range(2):
        assert await client.structure(str(uuid.uuid4())) is None
        assert await client.structure("pas-un-uuid") is None
        assert await client.find("SIRET", "00000000000000") is None
        await directory.settled()
    assert fake_structures.calls["GetStructure"] == 4
    assert fake_structures.calls["FindStructureByIdentifier"] == 2
    assert await api.count("directory") == 0


async def test_the_read_model_answers_as_structures_does(api, clients, fake_structures, signer):
    client, directory, direct = clients
    structures = [
        fake_structures.add(
            "Mairie de Brives",
            service_code_required=True,
            services=(("ECOLES", True, True), ("VOIRIE", False, False)),
        ),
        fake_structures.add("Syndicat fermé", active=False, engagement_required=True),
        fake_structures.add("Atelier Dupont SARL", public=False),
    ]
    unknown = str(uuid.uuid4())

    async def answers(of: StructuresClient, anonymous: bool) -> list:
        found = []
        for s in structures:
            found.append(await of.structure(s.id, anonymous=anonymous))
            found.append(await of.find("SIRET", s.identifier, anonymous=anonymous))
        found.append(await of.structure(unknown, anonymous=anonymous))
        return found

    principal = auth._principal.set(auth.Principal(str(uuid.uuid4()), "sid", signer.token("u")))
    try:
        for anonymous in (False, True):
            expected = await answers(direct, anonymous)
            await answers(client, anonymous)  # fills the read model
            await directory.settled()
            asked = sum(fake_structures.calls.values())
            assert await answers(client, anonymous) == expected
            # Only what structures answers nothing for is asked again (an unknown id; and,
            # anonymously, the private structure, held but not shown).
            again = sum(fake_structures.calls.values()) - asked
            assert again == 1
            if anonymous:
                assert expected[4:6] == [None, None]  # the private structure
    finally:
        auth._principal.reset(principal)
    assert await api.count("directory") == 3


async def test_anonymous_look_ups_never_get_a_private_structure_from_the_model(
    api, clients, fake_structures, as_caller
):
    client, directory, _ = clients
    private = fake_structures.add("Atelier Dupont SARL", public=False)
    assert (await client.structure(private.id)).structure_id == private.id  # with the token
    await directory.settled()
    asked = fake_structures.calls["GetStructure"]

    assert await client.structure(private.id, anonymous=True) is None
    assert await client.find("SIRET", private.identifier, anonymous=True) is None
    ref_only = await client.recipient(
        RecipientRef(identifier_type="SIRET", identifier=private.identifier), anonymous=True
    )
    assert ref_only is None
    assert fake_structures.calls["GetStructure"] == asked  # answered by the model


async def test_a_look_up_with_a_token_still_needs_a_caller(api, clients, fake_structures):
    client, directory, _ = clients
    public = fake_structures.add("Commune de Valmont")
    assert (await client.structure(public.id, anonymous=True)).structure_id == public.id
    await directory.settled()
    assert await held(api, public.id) is not None
    with pytest.raises(Unauthenticated):
        await client.structure(public.id)
    with pytest.raises(Unauthenticated):
        await client.find("SIRET", public.identifier)


async def test_events_create_update_and_change_services(api, clients, fake_structures, as_caller):
    client, _, _ = clients
    now = datetime.now(UTC)
    structure = fake_structures.add("Commune de Valmont", services=(("VOIRIE", True, False),))
    del fake_structures.structures[structure.id]  # known from the events alone

    created = events_pb.StructureCreated(structure=structure)
    await apply(api, handlers.structure_described, created, now - timedelta(minutes=3))
    assert (await client.structure(structure.id)).raison_sociale == "Commune de Valmont"

    renamed = updated(structure, raison_sociale="Commune nouvelle de Valmont")
    renamed.structure.routing.engagement_required = True
    await apply(api, handlers.structure_described, renamed, now - timedelta(minutes=2))
    found = await client.structure(structure.id)
    assert (found.raison_sociale, found.engagement_required) == (
        "Commune nouvelle de Valmont",
        True,
    )

    service = spb.StructureService(id=str(uuid.uuid4()), code="ECOLES", name="Écoles", active=True)
    await apply(
        api,
        handlers.service_changed,
        events_pb.ServiceCreated(structure_id=structure.id, service=service),
        now - timedelta(minutes=1),
    )
    closed = spb.StructureService()
    closed.CopyFrom(structure.services[0])
    closed.active = False
    await apply(
        api,
        handlers.service_changed,
        events_pb.ServiceUpdated(structure_id=structure.id, service=closed),
        now,
    )
    found = await client.structure(structure.id)
    assert [(s.code, s.active) for s in found.services] == [("VOIRIE", False), ("ECOLES", True)]
    assert found.raison_sociale == "Commune nouvelle de Valmont"
    assert fake_structures.calls["GetStructure"] == 0


async def test_late_and_redelivered_events_never_bring_an_older_state_back(
    api, clients, fake_structures, as_caller
):
    client, _, _ = clients
    now = datetime.now(UTC)
    structure = fake_structures.add("Commune de Valmont", services=(("VOIRIE", True, False),))
    newest = updated(structure, raison_sociale="Valmont (nouveau nom)")
    await apply(api, handlers.structure_described, newest, now)
    await apply(api, handlers.structure_described, newest, now)  # redelivered

    older = updated(structure, raison_sociale="Valmont (ancien nom)")
    await apply(api, handlers.structure_described, older, now - timedelta(seconds=1))
    closed = spb.StructureService()
    closed.CopyFrom(structure.services[0])
    closed.active = False
    late_service = events_pb.ServiceUpdated(structure_id=structure.id, service=closed)
    await apply(api, handlers.service_changed, late_service, now - timedelta(seconds=1))

    found = await client.structure(structure.id)
    assert found.raison_sociale == "Valmont (nouveau nom)"
    assert [(s.code, s.active) for s in found.services] == [("VOIRIE", True)]
    assert await api.count("directory") == 1


async def test_an_answer_asked_before_a_newer_event_does_not_replace_it(
    api, clients, fake_structures, as_caller
):
    _, directory, _ = clients
    now = datetime.now(UTC)
    structure = fake_structures.add("Commune de Valmont")
    await apply(api, handlers.structure_described, updated(structure, raison_sociale="Neuf"), now)

    directory.remember(handlers.entry_of(structure), now - timedelta(minutes=1))
    await directory.settled()
    assert (await held(api, structure.id)).raison_sociale == "Neuf"

    # An answer asked well after the event's time stands for a newer state.
    directory.remember(handlers.entry_of(structure), now + timedelta(minutes=1))
    await directory.settled()
    assert (await held(api, structure.id)).raison_sociale == "Commune de Valmont"


async def test_a_deactivated_recipient_is_refused_once_its_event_is_applied(
    api, parties, make_request, fake_structures, wait_until
):
    await api.call("CreateInvoice", make_request(parties), parties.user)
    asked = fake_structures.calls["GetStructure"]
    assert asked == 2  # the supplier and the recipient, kept for the next deposits

    async def kept():
        return await api.count("directory") == 2

    await wait_until(kept)
    await api.call("CreateInvoice", make_request(parties), parties.user)
    assert fake_structures.calls["GetStructure"] == asked

    closed = updated(parties.recipient, status=spb.STRUCTURE_STATUS_INACTIVE)
    await apply(api, handlers.structure_described, closed, datetime.now(UTC))

    error = await api.fails("CreateInvoice", make_request(parties), parties.user)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "RECIPIENT_INACTIVE")
    assert await api.count("invoices") == 2


async def test_a_directory_import_has_every_entry_asked_again(
    api, clients, fake_structures, as_caller
):
    client, directory, _ = clients
    structure = fake_structures.add("Commune de Valmont")
    await client.structure(structure.id)
    await directory.settled()
    fake_structures.structures[structure.id].raison_sociale = "Valmont (importé)"

    imported = events_pb.DirectoryImported(source="annuaire.csv", structures_updated=1)
    await apply(api, handlers.directory_imported, imported, datetime.now(UTC))
    assert (await client.structure(structure.id)).raison_sociale == "Valmont (importé)"
    await directory.settled()
    assert (await client.structure(structure.id)).raison_sociale == "Valmont (importé)"
    assert fake_structures.calls["GetStructure"] == 2


async def test_an_entry_without_news_for_max_age_is_asked_again(
    api, clients, fake_structures, as_caller
):
    client, directory, _ = clients
    structure = fake_structures.add("Commune de Valmont")
    await client.structure(structure.id)
    await directory.settled()
    await api.fetch(
        "UPDATE directory SET checked_at = now() - interval '61 minutes' WHERE structure_id = $1",
        structure.id,
    )
    await client.structure(structure.id)
    await directory.settled()
    await client.structure(structure.id)
    assert fake_structures.calls["GetStructure"] == 2


async def test_an_event_without_time_has_the_entry_asked_again(
    api, clients, fake_structures, as_caller
):
    client, directory, _ = clients
    structure = fake_structures.add("Commune de Valmont")
    await client.structure(structure.id)
    await directory.settled()
    await apply(api, handlers.structure_described, updated(structure, raison_sociale="X"), None)
    assert (await client.structure(structure.id)).raison_sociale == "Commune de Valmont"
    assert fake_structures.calls["GetStructure"] == 2


async def test_look_ups_are_counted_by_what_they_found(api, fake_structures, as_caller):
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    uow = UnitOfWork(api.pool, service="invoices", encode=outgoing.encode)
    directory = Directory(uow, max_age=HOUR, meter=meter)
    structure = fake_structures.add("Commune de Valmont")
    async with open_channel(f"127.0.0.1:{fake_structures.port}", 5) as channel:
        client = StructuresClient(channel, cache_seconds=0, directory=directory)
        await client.structure(structure.id)
        await directory.settled()
        await client.structure(structure.id)
        await client.find("SIRET", structure.identifier)
        await api.fetch("UPDATE directory SET stale = true, stale_since = now()")
        await client.structure(structure.id)

    data = reader.get_metrics_data()
    counts = {
        point.attributes["found"]: point.value
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == COUNTER_NAME
        for point in metric.data.data_points
    }
    assert counts == {"absent": 1, "fresh": 2, "stale": 1}
