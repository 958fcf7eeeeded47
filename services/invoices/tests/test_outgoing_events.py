"""The mapping of domain events to the protobuf messages on ``chorus.invoices.events.v1``
(events/outgoing.py); the events on the outbox and the broker are checked by the API and
routing tests."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from chorus.invoices.events.v1 import invoices_events_pb2 as events_pb
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_invoices.domain import events
from chorus_invoices.domain.invoice import (
    Framework,
    Invoice,
    InvoiceContent,
    InvoiceType,
    Line,
    StructureRef,
)
from chorus_invoices.domain.lifecycle import Status
from chorus_invoices.events import outgoing
from google.protobuf.timestamp_pb2 import Timestamp

AT = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
STAMP = Timestamp(seconds=int(AT.timestamp()))


def domain_events() -> list[type]:
    return [
        cls
        for _, cls in inspect.getmembers(events, inspect.isclass)
        if dataclasses.is_dataclass(cls) and cls.__module__ == events.__name__
    ]


def an_invoice(status: Status = Status.DEPOSEE) -> Invoice:
    content = InvoiceContent(
        service_code="SERV-1",
        engagement_number="",
        framework=Framework.A1_FACTURE_FOURNISSEUR,
        type=InvoiceType.FACTURE,
        number="F-2025-001",
        issue_date=date(2025, 3, 14),
        currency="EUR",
        payment_terms="",
        comment="",
        lines=(Line("Pose", Decimal(3), "C62", Decimal("410.50"), Decimal(20)),),
    )
    return Invoice(
        id="6a1c4e1e-7c43-4f4e-9d55-0c7f6b1d2a10",
        content=content,
        supplier=StructureRef("supplier-1", "Menuiserie Dupont SARL"),
        recipient=StructureRef("recipient-1", "Commune de Villebois"),
        totals=content.totals(),
        status=status,
        created_by="user-1",
        created_at=AT,
        updated_at=AT,
        deposited_by="user-1",
        deposited_at=AT,
    )


def test_every_domain_event_has_an_encoder():
    found = domain_events()
    assert found, "no domain event found in domain/events.py"
    assert sorted(cls.__name__ for cls in found if cls not in outgoing.ENCODERS) == []


def test_anything_else_is_refused():
    with pytest.raises(TypeError):
        outgoing.encode(an_invoice())


def test_a_submission_travels_as_invoice_submitted_keyed_by_invoice():
    invoice = an_invoice()
    event = outgoing.encode(events.InvoiceSubmitted(invoice))
    assert event.key == invoice.id
    assert event.message == events_pb.InvoiceSubmitted(
        invoice_id=invoice.id,
        number="F-2025-001",
        supplier_structure_id="supplier-1",
        recipient_structure_id="recipient-1",
        submitted_by="user-1",
        gross_total="1477.80",
        currency="EUR",
        submitted_at=STAMP,
    )


def test_a_status_change_carries_both_statuses_and_the_lifecycle_code():
    invoice = an_invoice(Status.SUSPENDUE)
    change = events.InvoiceStatusChanged(
        invoice, Status.MISE_A_DISPOSITION, "user-2", "Pièces manquantes", AT
    )
    event = outgoing.encode(change)
    assert event.key == invoice.id
    assert event.message == events_pb.InvoiceStatusChanged(
        invoice_id=invoice.id,
        number="F-2025-001",
        from_status=pb.INVOICE_STATUS_MISE_A_DISPOSITION,
        to_status=pb.INVOICE_STATUS_SUSPENDUE,
        lifecycle_code=208,
        supplier_structure_id="supplier-1",
        recipient_structure_id="recipient-1",
        depositor_user_id="user-1",
        actor="user-2",
        comment="Pièces manquantes",
        changed_at=STAMP,
        service_code="SERV-1",
    )


def test_a_rejection_acknowledgement_names_who_and_when():
    invoice = an_invoice(Status.REJETEE)
    event = outgoing.encode(events.InvoiceRejectionAcknowledged(invoice, "user-1", AT))
    assert event.key == invoice.id
    assert event.message == events_pb.InvoiceRejectionAcknowledged(
        invoice_id=invoice.id,
        number="F-2025-001",
        supplier_structure_id="supplier-1",
        recipient_structure_id="recipient-1",
        actor="user-1",
        acknowledged_at=STAMP,
    )
