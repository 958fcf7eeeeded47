"""gRPC InvoicesService: maps requests to the use cases and domain answers back to protos.

Every RPC needs an authenticated caller (AuthInterceptor); domain errors are mapped to gRPC
statuses by the platform's ErrorInterceptor, with ErrorInfo reasons and field violations.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.invoices.v1 import invoices_service_pb2_grpc as pb_grpc
from chorus_platform import idempotency
from chorus_platform.auth import current_principal
from chorus_platform.errors import DomainError

from chorus_invoices.api import mapping, page_tokens
from chorus_invoices.domain.attachments import AttachmentUpload
from chorus_invoices.domain.errors import invalid
from chorus_invoices.domain.listing import read_criteria
from chorus_invoices.usecases.attachments import AttachmentStaging
from chorus_invoices.usecases.deposit import Deposits
from chorus_invoices.usecases.pdf_deposit import PdfDeposits
from chorus_invoices.usecases.processing import Processing
from chorus_invoices.usecases.reading import Reading
from chorus_invoices.usecases.structured_deposit import StructuredDeposits

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class InvoicesServicer(pb_grpc.InvoicesServiceServicer):
    def __init__(
        self,
        deposits: Deposits,
        reading: Reading,
        structured: StructuredDeposits,
        processing: Processing,
        pdf: PdfDeposits,
        staging: AttachmentStaging,
    ) -> None:
        self._deposits = deposits
        self._staging = staging
        self._pdf = pdf
        self._processing = processing
        self._reading = reading
        self._structured = structured

    @contextlib.asynccontextmanager
    async def _dropping_staged_on_refusal(self, user_id: str, staged_ids) -> AsyncIterator[None]:
        """Drops the caller's staged files if the call naming them is refused (they would
        otherwise wait an hour, counting against the caller's staging quota)."""
        try:
            yield
        except DomainError:
            await self._staging.discard(user_id, list(staged_ids))
            raise

    async def CreateInvoice(self, request: pb.CreateInvoiceRequest, context):
        """Deposits an invoice entered on the portal, or saves it as a draft (``draft``).

        Totals are computed here. The caller needs FACTURES_EMISES in MODIFICATION on the
        supplier structure; the recipient (by id or by identifier) must be an active public
        structure and its routing parameters met. A deposit is stored DEPOSEE with
        ``InvoiceSubmitted`` in the same transaction; a draft is stored BROUILLON. Nothing is
        stored on failure. Errors: INVALID_ARGUMENT (FIELD_REQUIRED, FIELD_TOO_LONG,
        LINES_REQUIRED, LINES_TOO_MANY, QUANTITY_INVALID, UNIT_PRICE_INVALID, UNIT_INVALID,
        VAT_RATE_INVALID, INVOICE_NUMBER_INVALID, ISSUE_DATE_INVALID, CURRENCY_INVALID,
        FRAMEWORK_INVALID, TYPE_INVALID, IDENTIFIER_TYPE_INVALID, RECIPIENT_NOT_FOUND,
        RECIPIENT_NOT_PUBLIC, RECIPIENT_INACTIVE, SERVICE_CODE_REQUIRED, SERVICE_CODE_UNKNOWN,
        ENGAGEMENT_REQUIRED, SERVICE_OR_ENGAGEMENT_REQUIRED); PERMISSION_DENIED ACCESS_DENIED;
        ALREADY_EXISTS INVOICE_NUMBER_DUPLICATE (same supplier, same year); UNAVAILABLE
        STRUCTURES_UNAVAILABLE.
        """
        user_id = current_principal().user_id
        form = mapping.form_from_request(request)
        invoice = await self._deposits.create(user_id, form, draft=request.draft)
        return pb.CreateInvoiceResponse(invoice=mapping.invoice_to_proto(invoice))

    async def SubmitInvoice(self, request: pb.SubmitInvoiceRequest, context):
        """Submits a draft: BROUILLON → DEPOSEE, emitting ``InvoiceSubmitted``.

        The recipient's status and routing parameters are checked again. Errors: NOT_FOUND
        INVOICE_NOT_FOUND (unknown or not visible); PERMISSION_DENIED ACCESS_DENIED (visible
        but no FACTURES_EMISES MODIFICATION); FAILED_PRECONDITION INVALID_STATUS_TRANSITION
        (not a draft); INVALID_ARGUMENT for recipient/routing reasons as in CreateInvoice.
        """
        user_id = current_principal().user_id
        invoice = await self._deposits.submit(user_id, request.invoice_id)
        return pb.SubmitInvoiceResponse(invoice=mapping.invoice_to_proto(invoice))

    async def GetInvoice(self, request: pb.GetInvoiceRequest, context):
        """One invoice with lines, totals, VAT breakdown, status, lifecycle code and the
        actions the caller may take now (``allowed_actions``, e.g. SUBMIT).

        Visible to FACTURES_EMISES (CONSULTATION) of the supplier, and to FACTURES_RECUES
        (CONSULTATION) of the recipient once made available to it. Errors: NOT_FOUND
        INVOICE_NOT_FOUND when unknown, malformed or not visible (never PERMISSION_DENIED).
        """
        user_id = current_principal().user_id
        invoice, actions = await self._reading.invoice(user_id, request.invoice_id)
        warnings, documents = await self._reading.kept_with(invoice)
        found = mapping.invoice_to_proto(invoice, actions)
        found.warnings.extend(mapping.findings_to_proto(warnings))
        found.documents.extend(mapping.documents_to_proto(documents))
        return pb.GetInvoiceResponse(invoice=found)

    async def ListInvoices(self, request: pb.ListInvoicesRequest, context):
        """Issued (default) or received invoices of the structures the caller may consult,
        newest first, without lines nor allowed actions.

        ``structure_id`` narrows to one of them (another gives an empty list); ``status``,
        ``number`` (prefix, case-insensitive), issue and deposit dates (inclusive days), gross
        total range, the other party (id, or part of its name) and ``service_code`` filter
        (see domain.listing). ``page_size`` defaults to 20, at most 100; ``next_page_token``
        is "" on the last page. Errors: INVALID_ARGUMENT PAGE_TOKEN_INVALID, FILTER_INVALID
        (one violation per criterion in error).
        """
        user_id = current_principal().user_id
        page_size = request.page_size if request.page_size > 0 else DEFAULT_PAGE_SIZE
        found, cursor = await self._reading.page(
            user_id,
            received=request.side == pb.LIST_SIDE_RECEIVED,
            structure_id=request.structure_id.strip(),
            status=mapping.status_from_proto(request.status),
            number_prefix=request.number.strip(),
            limit=min(page_size, MAX_PAGE_SIZE),
            after=page_tokens.decode(request.page_token),
            criteria=read_criteria(
                issued_from=request.issued_from,
                issued_to=request.issued_to,
                deposited_from=request.deposited_from,
                deposited_to=request.deposited_to,
                min_amount=request.min_amount,
                max_amount=request.max_amount,
                counterparty_id=request.counterparty_structure_id,
                counterparty_name=request.counterparty_name,
                service_code=request.service_code,
            ),
        )
        return pb.ListInvoicesResponse(
            invoices=[mapping.invoice_to_proto(invoice) for invoice in found],
            next_page_token=page_tokens.encode(cursor),
        )

    async def GetInvoiceHistory(self, request: pb.GetInvoiceHistoryRequest, context):
        """The invoice's status history, oldest first: status, lifecycle code, time, actor
        (user id or "system") and comment. Same visibility and errors as GetInvoice."""
        user_id = current_principal().user_id
        entries = await self._reading.history(user_id, request.invoice_id)
        return pb.GetInvoiceHistoryResponse(
            entries=[mapping.history_to_proto(entry) for entry in entries]
        )

    async def DepositStructuredInvoice(self, request: pb.DepositStructuredInvoiceRequest, context):
        """Deposits a UBL 2.1 Invoice/CreditNote, UN/CEFACT CII D16B or Factur-X PDF file.

        The file is parsed safely, checked against its XSD and the official EN 16931
        schematron (in a worker process), read into an invoice whose stated totals must match
        the recomputed ones, then deposited exactly like CreateInvoice (access, recipient by
        the buyer's SIRET, routing with BT-10 as service code and BT-13 as engagement,
        duplicates). The file is kept as the invoice's ORIGINAL document; schematron warnings
        are kept and returned in ``invoice.warnings``. Errors: INVALID_ARGUMENT FILE_REQUIRED,
        FILE_TOO_LARGE, XML_MALFORMED, XML_FORBIDDEN_CONSTRUCT, XML_TOO_LARGE, XML_TOO_DEEP,
        PDF_MALFORMED, PDF_ENCRYPTED, PDF_TOO_LARGE, FACTURX_XML_MISSING, FORMAT_UNSUPPORTED,
        PROFILE_UNSUPPORTED, XML_SCHEMA_INVALID and EN16931_RULES_FAILED (violations: location
        and "[rule id] message"; ErrorInfo metadata ``rules``), DOCUMENT_CONTENT_UNSUPPORTED,
        DOCUMENT_VALUE_INVALID, TOTALS_MISMATCH, DOCUMENT_UNPROCESSABLE, SELLER_MISMATCH, and
        every CreateInvoice reason; PERMISSION_DENIED ACCESS_DENIED; ALREADY_EXISTS
        INVOICE_NUMBER_DUPLICATE; UNAVAILABLE STRUCTURES_UNAVAILABLE.
        """
        user_id = current_principal().user_id
        invoice, warnings = await self._structured.deposit(
            user_id, request.supplier_structure_id.strip(), request.filename, request.content
        )
        found = mapping.invoice_to_proto(invoice)
        found.warnings.extend(mapping.findings_to_proto(warnings))
        return pb.DepositStructuredInvoiceResponse(invoice=found)

    async def DepositPdfInvoice(self, request: pb.DepositPdfInvoiceRequest, context):
        """Deposits an invoice as a PDF (at most 10 MiB, readable, not encrypted) with its
        ``attachments`` (kept in the same transaction, or none of them).

        A **plain PDF** needs the whole ``header`` as in CreateInvoice, without ``lines``, and
        ``totals`` (net, VAT, gross and the breakdown by rate) whose arithmetic must hold; the
        invoice has no lines and the PDF is its ORIGINAL document. A **Factur-X PDF** is read
        and checked like DepositStructuredInvoice and its XML gives the data: only
        ``header.supplier_structure_id`` is required, and every other header field or total
        given (recipient by identifier or structure id included; ``comment`` excepted, the
        XML's note is kept) must match the XML. Then the
        deposit checks of CreateInvoice apply; nothing is stored on failure. Errors:
        INVALID_ARGUMENT FILE_REQUIRED, PDF_TOO_LARGE, PDF_MALFORMED, PDF_ENCRYPTED,
        LINES_NOT_ALLOWED, DRAFT_NOT_ALLOWED, ATTACHMENT_NAME_INVALID, ATTACHMENT_NAME_TOO_LONG,
        ATTACHMENT_EXTENSION_FORBIDDEN, ATTACHMENT_EMPTY, ATTACHMENT_TOO_LARGE,
        ATTACHMENTS_TOO_LARGE (``staged_attachment_ids`` counted), STAGED_ATTACHMENT_UNKNOWN
        (``staged_attachment_ids[i]``: not the caller's, expired or already used; the staged
        files stay usable after any refusal); plain PDF: every CreateInvoice shape reason,
        AMOUNT_INVALID, TOTALS_INCONSISTENT (violations: ``net_total``, ``vat_total``,
        ``gross_total``, ``vat_breakdown[i].rate|base|amount``); Factur-X: the reading reasons of
        DepositStructuredInvoice, FORM_CONTRADICTS_DOCUMENT (one violation per contradicting
        field), SELLER_MISMATCH; then the recipient and routing reasons of CreateInvoice;
        PERMISSION_DENIED ACCESS_DENIED; ALREADY_EXISTS INVOICE_NUMBER_DUPLICATE; UNAVAILABLE
        STRUCTURES_UNAVAILABLE.
        """
        user_id = current_principal().user_id
        if request.header.draft:
            raise invalid(
                "DRAFT_NOT_ALLOWED",
                "draft",
                "Une facture déposée en PDF est déposée aussitôt : pas de brouillon.",
            )
        async with self._dropping_staged_on_refusal(user_id, request.staged_attachment_ids):
            invoice, warnings = await self._pdf.deposit(
                user_id,
                mapping.pdf_form_from_request(request),
                request.filename,
                request.content,
                [AttachmentUpload(a.filename, a.content) for a in request.attachments],
                list(request.staged_attachment_ids),
            )
        found = mapping.invoice_to_proto(invoice)
        found.warnings.extend(mapping.findings_to_proto(warnings))
        return pb.DepositPdfInvoiceResponse(invoice=found)

    async def StageAttachment(self, request: pb.StageAttachmentRequest, context):
        """Uploads one attachment ahead of the DepositPdfInvoice or CompleteInvoice that names
        it in ``staged_attachment_ids``, so an invoice's attachments (up to 120 MB) never
        travel in one message. The caller's right to issue for ``supplier_structure_id`` (or to
        complete ``invoice_id``) is checked first, then the file like an inline attachment; it
        is kept for the caller only, used once, dropped when the call naming it is refused,
        forgotten after ``CHORUS_STAGED_ATTACHMENT_TTL_SECONDS`` (expired files are purged as
        others are staged); one caller keeps 130 MB / 50 files staged at most
        (RESOURCE_EXHAUSTED STAGING_QUOTA_EXCEEDED). With an ``idempotency-key`` (the
        deposit's key made unique per file, e.g. ``<key>/attachments[i]``), the id is derived
        from (caller, key,
        file), so a retried deposit names the same ids and its own key replays its first
        answer (StageAttachment itself is not replayed: staging again is harmless). Errors:
        INVALID_ARGUMENT ATTACHMENT_NAME_INVALID, ATTACHMENT_NAME_TOO_LONG,
        ATTACHMENT_EXTENSION_FORBIDDEN, ATTACHMENT_EMPTY, ATTACHMENT_TOO_LARGE (violation on
        ``file``), nothing kept then.
        """
        user_id = current_principal().user_id
        metadata = dict(context.invocation_metadata() or ())
        staged = await self._staging.stage(
            user_id,
            AttachmentUpload(request.file.filename, request.file.content),
            supplier_structure_id=request.supplier_structure_id,
            invoice_id=request.invoice_id,
            retry_key=metadata.get(idempotency.METADATA_KEY, ""),
        )
        return pb.StageAttachmentResponse(
            staged_attachment_id=staged.id,
            filename=staged.filename,
            size=staged.size,
            expires_at=mapping.timestamp(staged.expires_at),
        )

    async def DepositInvoiceBatch(self, request: pb.DepositInvoiceBatchRequest, context):
        """Deposits each file of a ZIP or tar.gz archive like DepositStructuredInvoice, one by
        one: a refused file does not stop the others. Each item says DEPOSEE with the invoice
        id, or REJETEE with the errors (reason and message first, then one per violation with
        its location), including ARCHIVE_NESTED (an archive inside), ARCHIVE_ENTRY_NOT_A_FILE
        (links) and FILE_TOO_LARGE. Directory parts of entry names are dropped; nothing is
        written to disk. Errors for the whole archive (nothing deposited): INVALID_ARGUMENT
        ARCHIVE_REQUIRED, ARCHIVE_UNSUPPORTED, ARCHIVE_MALFORMED, ARCHIVE_EMPTY,
        ARCHIVE_TOO_MANY_ENTRIES, ARCHIVE_TOO_LARGE (uncompressed content, counted as read).
        """
        user_id = current_principal().user_id
        items = await self._structured.deposit_batch(
            user_id, request.supplier_structure_id.strip(), request.content
        )
        return pb.DepositInvoiceBatchResponse(items=[mapping.batch_item_to_proto(i) for i in items])

    async def GetInvoiceAttachment(self, request: pb.GetInvoiceAttachmentRequest, context):
        """One attachment (role ATTACHMENT) of an invoice, same visibility as GetInvoice.
        Errors: NOT_FOUND INVOICE_NOT_FOUND (unknown or not visible), NOT_FOUND
        ATTACHMENT_NOT_FOUND (no such attachment on this invoice)."""
        user_id = current_principal().user_id
        document = await self._reading.attachment(user_id, request.invoice_id, request.document_id)
        return pb.GetInvoiceAttachmentResponse(
            filename=document.info.filename,
            media_type=document.info.media_type,
            content=document.content,
        )

    async def GetInvoiceDocument(self, request: pb.GetInvoiceDocumentRequest, context):
        """The invoice's document: the Factur-X PDF generated at portal entry, else the file
        deposited. Same visibility as GetInvoice. Errors: NOT_FOUND INVOICE_NOT_FOUND,
        NOT_FOUND DOCUMENT_NOT_FOUND (a draft has none)."""
        user_id = current_principal().user_id
        document = await self._reading.document(user_id, request.invoice_id)
        return pb.GetInvoiceDocumentResponse(
            filename=document.info.filename,
            media_type=document.info.media_type,
            content=document.content,
        )

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
            request.invoice_id,
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
        already used). The answer lists the invoice's documents, the new attachments included.
        """
        user_id = current_principal().user_id
        async with self._dropping_staged_on_refusal(user_id, request.staged_attachment_ids):
            invoice = await self._processing.complete(
                user_id,
                request.invoice_id,
                request.comment.strip(),
                [AttachmentUpload(a.filename, a.content) for a in request.attachments],
                list(request.staged_attachment_ids),
            )
        completed = mapping.invoice_to_proto(invoice)
        _, documents = await self._reading.kept_with(invoice)
        completed.documents.extend(mapping.documents_to_proto(documents))
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
        invoice = await self._deposits.recycle(
            user_id,
            request.invoice_id,
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
        invoice = await self._processing.acknowledge_rejection(user_id, request.invoice_id)
        return pb.AcknowledgeRejectionResponse(invoice=mapping.invoice_to_proto(invoice))
