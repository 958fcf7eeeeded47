"""The RPCs of InvoicesService after the deposit: the recipient processes the invoice, the
supplier completes, recycles or withdraws it, or acknowledges its rejection."""

from __future__ import annotations

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform.auth import current_principal

from chorus_invoices.api import mapping
from chorus_invoices.domain.attachments import AttachmentUpload
from chorus_invoices.usecases.processing import Processing
from chorus_invoices.usecases.reading import Reading
from chorus_invoices.usecases.recycling import Recycling


class ProcessingRpcs:
    """Part of :class:`~chorus_invoices.api.servicer.InvoicesServicer`."""

    _processing: Processing
    _recycling: Recycling
    _reading: Reading

    async def ChangeInvoiceStatus(self, request: pb.ChangeInvoiceStatusRequest, context):
        """Recipient processing: moves an invoice made available to the recipient forward
        (PRISE_EN_COMPTE_DESTINATAIRE … MISE_EN_PAIEMENT, steps may be skipped, never back) or
        sends it back (SUSPENDUE, A_RECYCLER, REJETEE) with a ``reason``; announces
        ``InvoiceStatusChanged`` (actor, reason as comment).

        The caller needs FACTURES_RECUES in MODIFICATION on the recipient structure. Errors:
        NOT_FOUND INVOICE_NOT_FOUND (unknown or not visible); PERMISSION_DENIED ACCESS_DENIED
        (visible but not held in MODIFICATION on the recipient side, e.g. the supplier);
        INVALID_ARGUMENT FIELD_REQUIRED (no status), REASON_REQUIRED; FAILED_PRECONDITION
        INVALID_STATUS_TRANSITION (not allowed from the current status),
        PAYMENT_STATUS_NOT_REPORTED (MISE_EN_PAIEMENT on a structure that does not report it).
        """
        user_id = current_principal().user_id
        invoice = await self._processing.change_status(
            user_id,
            mapping.invoice_ref(request),
            mapping.status_from_proto(request.status),
            request.reason,
        )
        return pb.ChangeInvoiceStatusResponse(invoice=mapping.invoice_to_proto(invoice))

    async def CompleteInvoice(self, request: pb.CompleteInvoiceRequest, context):
        """Supplier: completes a suspended invoice, SUSPENDUE → COMPLETEE, with ``comment``
        kept in the history and ``InvoiceStatusChanged``.

        The caller needs FACTURES_EMISES in MODIFICATION on the supplier structure. Errors:
        NOT_FOUND INVOICE_NOT_FOUND; PERMISSION_DENIED ACCESS_DENIED; FAILED_PRECONDITION
        INVALID_STATUS_TRANSITION (not SUSPENDUE); INVALID_ARGUMENT ATTACHMENT_* /
        ATTACHMENTS_TOO_LARGE (``attachments`` and the files staged under
        ``staged_attachment_ids`` kept in the same transaction, or none of them),
        STAGED_ATTACHMENT_UNKNOWN (``staged_attachment_ids[i]``: not the caller's, expired or
        already used); any refusal drops the caller's staged files it named. The answer lists
        the invoice's documents, the new attachments included.
        """
        user_id = current_principal().user_id
        invoice = await self._processing.complete(
            user_id,
            mapping.invoice_ref(request),
            request.comment.strip(),
            [AttachmentUpload(a.filename, a.content) for a in request.attachments],
            list(request.staged_attachment_ids),
        )
        completed = mapping.invoice_to_proto(invoice)
        kept = await self._reading.kept_with(invoice)
        completed.documents.extend(mapping.documents_to_proto(kept.documents))
        return pb.CompleteInvoiceResponse(invoice=completed)

    async def DeleteInvoice(self, request: pb.DeleteInvoiceRequest, context):
        """Supplier: deletes a draft with its lines and history (no event: a draft was never
        announced). Errors: NOT_FOUND INVOICE_NOT_FOUND; PERMISSION_DENIED ACCESS_DENIED;
        FAILED_PRECONDITION INVALID_STATUS_TRANSITION (not a BROUILLON).
        """
        user_id = current_principal().user_id
        await self._processing.delete_draft(user_id, request.invoice_id)
        return pb.DeleteInvoiceResponse()

    async def RecycleInvoice(self, request: pb.RecycleInvoiceRequest, context):
        """Supplier: re-addresses an invoice sent back for recycling and deposits it again
        with the same number: A_RECYCLER → DEPOSEE, announced by ``InvoiceSubmitted`` so it is
        routed again. ``recipient_structure_id``, ``service_code``, ``engagement_number``: ""
        keeps the current value (the service code only for the same recipient).

        Checks as at deposit: the caller needs FACTURES_EMISES in MODIFICATION on the supplier
        structure; the recipient must be an active public structure and its routing parameters
        met. Errors: NOT_FOUND INVOICE_NOT_FOUND; PERMISSION_DENIED ACCESS_DENIED;
        FAILED_PRECONDITION INVALID_STATUS_TRANSITION (not A_RECYCLER); INVALID_ARGUMENT
        RECIPIENT_NOT_FOUND, RECIPIENT_NOT_PUBLIC, RECIPIENT_INACTIVE, SERVICE_CODE_REQUIRED,
        SERVICE_CODE_UNKNOWN, ENGAGEMENT_REQUIRED, SERVICE_OR_ENGAGEMENT_REQUIRED; UNAVAILABLE
        STRUCTURES_UNAVAILABLE.
        """
        user_id = current_principal().user_id
        invoice = await self._recycling.recycle(
            user_id,
            mapping.invoice_ref(request),
            recipient_structure_id=request.recipient_structure_id.strip(),
            service_code=request.service_code.strip(),
            engagement_number=request.engagement_number.strip(),
        )
        return pb.RecycleInvoiceResponse(invoice=mapping.invoice_to_proto(invoice))

    async def AcknowledgeRejection(self, request: pb.AcknowledgeRejectionRequest, context):
        """Supplier: acknowledges the rejection of a REJETEE invoice, once (the status stays;
        ``rejection_acknowledged_at`` is set), announced by ``InvoiceRejectionAcknowledged``.

        The caller needs FACTURES_EMISES in MODIFICATION on the supplier structure. Errors:
        NOT_FOUND INVOICE_NOT_FOUND; PERMISSION_DENIED ACCESS_DENIED; FAILED_PRECONDITION
        INVALID_STATUS_TRANSITION (not REJETEE), REJECTION_ALREADY_ACKNOWLEDGED.
        """
        user_id = current_principal().user_id
        invoice = await self._processing.acknowledge_rejection(
            user_id, mapping.invoice_ref(request)
        )
        return pb.AcknowledgeRejectionResponse(invoice=mapping.invoice_to_proto(invoice))
