"""E-mail preferences: the gRPC API, and the e-mail queueing honouring them (integration, on
the shared running service)."""

from __future__ import annotations

import uuid

import grpc
from chorus.invoices.events.v1 import invoices_events_pb2 as invoices_events
from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus_notifications.domain import preferences
from chorus_platform.rpc_status import from_rpc_error

from .conftest import wait_until
from .test_membership_notifications import registered


def test_account_security_kinds_are_not_optional():
    assert not preferences.is_optional("PASSWORD_RESET")
    assert not preferences.is_optional("ACCOUNT_ACTIVATION")
    assert preferences.is_optional("INVOICE_RECEIVED")
    assert preferences.effective({"INVOICE_RECEIVED": False})["INVOICE_RECEIVED"] is False
    assert preferences.effective({})["INVOICE_STATUS_CHANGED"] is True


async def test_preferences_are_read_and_updated(service, signer):
    metadata = signer.metadata(str(uuid.uuid4()))
    initial = await service.stub.GetPreferences(pb.GetPreferencesRequest(), metadata=metadata)
    assert dict(initial.email) == {kind: True for kind in preferences.OPTIONAL_KINDS}

    updated = await service.stub.UpdatePreferences(
        pb.UpdatePreferencesRequest(email={"INVOICE_RECEIVED": False}), metadata=metadata
    )
    assert updated.email["INVOICE_RECEIVED"] is False
    assert updated.email["INVOICE_STATUS_CHANGED"] is True
    again = await service.stub.GetPreferences(pb.GetPreferencesRequest(), metadata=metadata)
    assert dict(again.email) == dict(updated.email)


async def test_unknown_or_mandatory_kinds_are_refused(service, signer):
    metadata = signer.metadata(str(uuid.uuid4()))
    try:
        await service.stub.UpdatePreferences(
            pb.UpdatePreferencesRequest(email={"PASSWORD_RESET": False, "NOPE": True}),
            metadata=metadata,
        )
    except grpc.aio.AioRpcError as err:
        error = from_rpc_error(err)
    else:
        raise AssertionError("UpdatePreferences accepted a mandatory kind")
    assert (error.code, error.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "PREFERENCE_KIND_UNKNOWN",
    )
    assert [v.field for v in error.violations] == ["email.NOPE", "email.PASSWORD_RESET"]


async def test_a_kind_switched_off_is_not_emailed_but_still_fed(service, events, db, signer):
    user = await registered(events, "Paule")
    await wait_until(
        lambda: db.fetchval("SELECT 1 FROM recipients WHERE user_id = $1", user.user_id)
    )
    await service.stub.UpdatePreferences(
        pb.UpdatePreferencesRequest(email={"INVOICE_STATUS_CHANGED": False}),
        metadata=signer.metadata(user.user_id),
    )
    invoice_id = str(uuid.uuid4())
    await events.publish(
        "invoices",
        invoice_id,
        invoices_events.InvoiceStatusChanged(
            invoice_id=invoice_id,
            number="F-PREF",
            from_status=invoices_pb.INVOICE_STATUS_MISE_A_DISPOSITION,
            to_status=invoices_pb.INVOICE_STATUS_REJETEE,
            depositor_user_id=user.user_id,
            actor="system",
        ),
    )

    async def fed():
        response = await service.stub.ListFeed(
            pb.ListFeedRequest(), metadata=signer.metadata(user.user_id)
        )
        return response.items

    items = await wait_until(fed)
    assert [i.kind for i in items] == ["INVOICE_STATUS_CHANGED"]
    assert await db.fetchval("SELECT count(*) FROM emails WHERE user_id = $1", user.user_id) == 0
