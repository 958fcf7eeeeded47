"""After the deposit: the recipient processes the invoice, the supplier answers or withdraws.

Each use case finds the invoice as the caller may see it (else InvoiceNotFound), checks the
caller holds the acting side in MODIFICATION (else AccessDenied), checks the move against the
lifecycle table, then changes it under its row lock, so the status, its history entry and
``InvoiceStatusChanged`` commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from chorus_platform.unit_of_work import UnitOfWork

from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.domain import lifecycle
from chorus_invoices.domain.attachments import AttachmentPolicy, AttachmentUpload
from chorus_invoices.domain.errors import TransitionNotAllowed, invalid
from chorus_invoices.domain.invoice import Invoice, InvoiceRef
from chorus_invoices.domain.lifecycle import Party, Status
from chorus_invoices.store import invoices
from chorus_invoices.store.documents import DocumentStore
from chorus_invoices.usecases import status_changes
from chorus_invoices.usecases.access import InvoiceAccess
from chorus_invoices.usecases.attachments import AttachmentStaging, add_attachments

_NOT_PROCESSOR = "Vous n'êtes pas habilité à traiter les factures reçues par cette structure."


class Processing:
    def __init__(
        self,
        uow: UnitOfWork,
        structures: StructuresClient,
        staging: AttachmentStaging,
        attachment_policy: AttachmentPolicy | None = None,
        store: DocumentStore | None = None,
    ) -> None:
        self._uow = uow
        self._store = store
        self._structures = structures
        self._access = InvoiceAccess(uow, structures)
        self._staging = staging
        self._attachment_policy = attachment_policy or AttachmentPolicy()

    async def change_status(
        self, user_id: str, invoice_id: InvoiceRef, target: Status | None, reason: str
    ) -> Invoice:
        """The recipient's move to ``target`` (forward, or sent back with a reason).

        InvoiceNotFound, AccessDenied, TransitionNotAllowed, InvalidArgument REASON_REQUIRED,
        PaymentStatusNotReported.
        """
        invoice = await self._access.acting(user_id, invoice_id, Party.RECIPIENT, _NOT_PROCESSOR)
        if target is None:
            raise invalid("FIELD_REQUIRED", "status", "Indiquez le nouveau statut de la facture.")
        recipient = await self._structures.structure(invoice.recipient.structure_id)
        lifecycle.recipient_move(
            invoice.status,
            target,
            reason,
            payment_status_not_reported=bool(recipient and recipient.payment_status_not_reported),
        )
        return await self._move(invoice.id, target, Party.RECIPIENT, user_id, reason.strip())

    async def complete(
        self,
        user_id: str,
        invoice_id: InvoiceRef,
        comment: str,
        attachments: Sequence[AttachmentUpload] = (),
        staged_attachment_ids: Sequence[str] = (),
    ) -> Invoice:
        """The supplier completes a suspended invoice: SUSPENDUE → COMPLETEE.

        ``attachments`` and the files the caller staged under ``staged_attachment_ids`` are
        kept (add_attachments) in the completion's transaction, under the row lock: a refused
        file keeps nothing and leaves the invoice SUSPENDUE; any refusal drops the caller's
        staged files it named (:meth:`AttachmentStaging.dropped_on_refusal`).
        ``comment`` goes to the history and the event. InvoiceNotFound, AccessDenied,
        TransitionNotAllowed, InvalidArgument ATTACHMENT_* / ATTACHMENTS_TOO_LARGE /
        STAGED_ATTACHMENT_UNKNOWN.
        """
        async with self._staging.dropped_on_refusal(user_id, staged_attachment_ids):
            invoice = await self._access.acting(user_id, invoice_id, Party.SUPPLIER)
            lifecycle.transition(invoice.status, Status.COMPLETEE, Party.SUPPLIER)
            return await self._move(
                invoice.id,
                Status.COMPLETEE,
                Party.SUPPLIER,
                user_id,
                comment,
                attachments,
                staged_attachment_ids,
            )

    async def acknowledge_rejection(self, user_id: str, invoice_id: InvoiceRef) -> Invoice:
        """The supplier acknowledges a rejection (REJETEE stays), announced by
        InvoiceRejectionAcknowledged. InvoiceNotFound, AccessDenied, TransitionNotAllowed (not
        REJETEE), RejectionAlreadyAcknowledged."""
        invoice = await self._access.acting(user_id, invoice_id, Party.SUPPLIER)
        async with self._uow.transaction() as tx:
            locked = await status_changes.locked(tx, invoice.id)
            await status_changes.acknowledge_rejection(
                tx, locked, actor=user_id, at=datetime.now(UTC)
            )
            return await invoices.get(tx.conn, invoice.id)

    async def delete_draft(self, user_id: str, invoice_id: str) -> None:
        """The supplier deletes a draft; nothing was ever announced, so no event.

        InvoiceNotFound, AccessDenied, TransitionNotAllowed (not a draft).
        """
        invoice = await self._access.acting(user_id, invoice_id, Party.SUPPLIER)
        async with self._uow.transaction() as tx:
            locked = await status_changes.locked(tx, invoice.id)
            if locked.status is not Status.BROUILLON:
                raise TransitionNotAllowed(locked.status, Status.BROUILLON)
            await invoices.delete(tx.conn, invoice.id)

    async def _move(
        self,
        invoice_id: str,
        target: Status,
        party: Party,
        actor: str,
        comment: str,
        attachments: Sequence[AttachmentUpload] = (),
        staged_attachment_ids: Sequence[str] = (),
    ) -> Invoice:
        at = datetime.now(UTC)
        async with self._uow.transaction() as tx:
            locked = await status_changes.locked(tx, invoice_id)
            await status_changes.move(
                tx,
                locked,
                target,
                party=party,
                actor=actor,
                at=at,
                comment=comment,
            )
            await add_attachments(
                tx.conn,
                invoice_id,
                attachments,
                staged_ids=staged_attachment_ids,
                owner_user_id=actor,
                policy=self._attachment_policy,
                store=self._store,
                at=at,
            )
            return await invoices.get(tx.conn, invoice_id)
