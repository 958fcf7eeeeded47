"""Integration: ListFeed and MarkFeedItemRead over real gRPC, with test-signed tokens."""

from __future__ import annotations

import uuid

import grpc
import pytest
from chorus.identity.events.v1 import identity_events_pb2 as identity_events
from chorus.invoices.events.v1 import invoices_events_pb2 as invoices_events
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.structures.events.v1 import structures_events_pb2 as structures_events
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from chorus_notifications.domain.kinds import NotificationKind
from chorus_notifications.domain.messages import FeedEntry
from chorus_notifications.store import feed
from chorus_platform.rpc_status import from_rpc_error

from .conftest import wait_until


async def add_items(db, user_id: str, count: int) -> list[str]:
    """Adds ``count`` items, oldest first; returns their ids in that order."""
    ids = []
    for n in range(count):
        entry = FeedEntry(NotificationKind.INVOICE_SUBMITTED, f"Facture {n} déposée", "…", "/")
        ids.append(await feed.add(db, user_id=user_id, event_id=str(uuid.uuid4()), entry=entry))
    return ids


async def rpc_error(call) -> tuple[grpc.StatusCode, str, list]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = from_rpc_error(caught.value)
    return error.code, error.reason, [v.field for v in error.violations]


async def test_list_feed_returns_the_callers_items_newest_first_page_by_page(service, db, signer):
    me, someone_else = str(uuid.uuid4()), str(uuid.uuid4())
    mine = await add_items(db, me, 5)
    await add_items(db, someone_else, 2)
    metadata = signer.metadata(me)

    pages, token = [], ""
    while True:
        response = await service.stub.ListFeed(
            pb.ListFeedRequest(page_size=2, page_token=token), metadata=metadata
        )
        pages.append([item.id for item in response.items])
        token = response.next_page_token
        if not token:
            break

    assert pages == [[mine[4], mine[3]], [mine[2], mine[1]], [mine[0]]]
    first = (await service.stub.ListFeed(pb.ListFeedRequest(), metadata=metadata)).items[0]
    assert (first.kind, first.title, first.read) == (
        "INVOICE_SUBMITTED",
        "Facture 4 déposée",
        False,
    )
    assert first.created_at.seconds > 0


async def test_list_feed_pages_hold_20_items_by_default(service, db, signer):
    me = str(uuid.uuid4())
    await add_items(db, me, 21)

    response = await service.stub.ListFeed(pb.ListFeedRequest(), metadata=signer.metadata(me))

    assert len(response.items) == 20
    assert response.next_page_token


async def test_list_feed_rejects_a_forged_page_token(service, signer):
    call = service.stub.ListFeed(
        pb.ListFeedRequest(page_token="bm90LWEtdG9rZW4"),
        metadata=signer.metadata(str(uuid.uuid4())),
    )
    assert await rpc_error(call) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "PAGE_TOKEN_INVALID",
        ["page_token"],
    )


async def test_list_feed_rejects_a_negative_page_size(service, signer):
    call = service.stub.ListFeed(
        pb.ListFeedRequest(page_size=-1), metadata=signer.metadata(str(uuid.uuid4()))
    )
    assert await rpc_error(call) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "PAGE_SIZE_INVALID",
        ["page_size"],
    )


async def test_the_feed_needs_a_valid_token(service, signer):
    code, reason, _ = await rpc_error(service.stub.ListFeed(pb.ListFeedRequest()))
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")

    forged = (("authorization", "Bearer not-a-jwt"),)
    code, reason, _ = await rpc_error(service.stub.ListFeed(pb.ListFeedRequest(), metadata=forged))
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID")


async def test_mark_feed_item_read_marks_the_callers_item(service, db, signer):
    me = str(uuid.uuid4())
    older, newer = await add_items(db, me, 2)
    metadata = signer.metadata(me)

    await service.stub.MarkFeedItemRead(
        pb.MarkFeedItemReadRequest(item_id=older), metadata=metadata
    )
    # Marking again is harmless and keeps the first reading time.
    read_at = await db.fetchval("SELECT read_at FROM feed_items WHERE id = $1", older)
    await service.stub.MarkFeedItemRead(
        pb.MarkFeedItemReadRequest(item_id=older), metadata=metadata
    )

    response = await service.stub.ListFeed(pb.ListFeedRequest(), metadata=metadata)
    assert [(i.id, i.read) for i in response.items] == [(newer, False), (older, True)]
    assert await db.fetchval("SELECT read_at FROM feed_items WHERE id = $1", older) == read_at


async def test_marking_someone_elses_item_is_not_found(service, db, signer):
    owner, intruder = str(uuid.uuid4()), str(uuid.uuid4())
    [item_id] = await add_items(db, owner, 1)

    call = service.stub.MarkFeedItemRead(
        pb.MarkFeedItemReadRequest(item_id=item_id), metadata=signer.metadata(intruder)
    )

    assert await rpc_error(call) == (grpc.StatusCode.NOT_FOUND, "FEED_ITEM_NOT_FOUND", [])
    assert await db.fetchval("SELECT read_at FROM feed_items WHERE id = $1", item_id) is None


@pytest.mark.parametrize("item_id", [str(uuid.uuid4()), "pas-un-identifiant"])
async def test_marking_an_unknown_item_is_not_found(service, signer, item_id):
    call = service.stub.MarkFeedItemRead(
        pb.MarkFeedItemReadRequest(item_id=item_id), metadata=signer.metadata(str(uuid.uuid4()))
    )
    assert await rpc_error(call) == (grpc.StatusCode.NOT_FOUND, "FEED_ITEM_NOT_FOUND", [])


async def test_marking_without_an_item_id_is_invalid(service, signer):
    call = service.stub.MarkFeedItemRead(
        pb.MarkFeedItemReadRequest(), metadata=signer.metadata(str(uuid.uuid4()))
    )
    assert await rpc_error(call) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "FEED_ITEM_ID_REQUIRED",
        ["item_id"],
    )


async def test_account_structure_and_invoice_events_feed_the_user(service, events, signer):
    user_id, structure_id, invoice_id = (str(uuid.uuid4()) for _ in range(3))
    await events.publish("identity", user_id, identity_events.UserActivated(user_id=user_id))
    await events.publish(
        "structures",
        structure_id,
        structures_events.StructureCreated(
            structure=structures_pb.Structure(id=structure_id, raison_sociale="Mairie de Lyon"),
            created_by=user_id,
        ),
    )
    await events.publish(
        "structures",
        structure_id,
        structures_events.MemberAdded(
            structure_id=structure_id,
            user_id=user_id,
            role=structures_pb.ROLE_GESTIONNAIRE_PRINCIPAL,
        ),
    )
    await events.publish(
        "invoices",
        invoice_id,
        invoices_events.InvoiceSubmitted(
            invoice_id=invoice_id,
            number="F-2025-0007",
            submitted_by=user_id,
            gross_total="1200.00",
            currency="EUR",
        ),
    )

    async def three_items():
        response = await service.stub.ListFeed(
            pb.ListFeedRequest(), metadata=signer.metadata(user_id)
        )
        return response.items if len(response.items) == 3 else None

    items = {item.kind: item for item in await wait_until(three_items)}

    assert items["ACCOUNT_ACTIVATED"].title == "Votre compte est activé"
    member = items["MEMBER_ADDED"]
    assert member.body == (
        "Vous êtes rattaché(e) à la structure Mairie de Lyon en tant que gestionnaire principal."
    )
    assert member.link == f"/structures/{structure_id}"
    submitted = items["INVOICE_SUBMITTED"]
    assert submitted.title == "Facture F-2025-0007 déposée"
    assert "1\u202f200,00 EUR" in submitted.body
    assert submitted.link == f"/factures/{invoice_id}"
