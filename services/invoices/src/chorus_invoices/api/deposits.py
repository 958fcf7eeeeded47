"""The deposit RPCs of InvoicesService: a portal entry or draft, a draft submitted, a structured
file, a PDF, a batch archive, and the attachments staged ahead of a deposit or completion."""

from __future__ import annotations

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform import idempotency
from chorus_platform.auth import current_principal

from chorus_invoices.api import deposit_metrics, mapping
from chorus_invoices.domain.attachments import AttachmentUpload
from chorus_invoices.domain.errors import invalid
from chorus_invoices.usecases.attachments import AttachmentStaging
from chorus_invoices.usecases.deposit import Deposits
from chorus_invoices.usecases.pdf_deposit import PdfDeposits
from chorus_invoices.usecases.structured_deposit import StructuredDeposits


class DepositRpcs:
    """Part of :class:`~chorus_invoices.api.servicer.InvoicesServicer`."""

    _deposits: Deposits
    _structured: StructuredDeposits
    _pdf: PdfDeposits
    _staging: AttachmentStaging

    async def CreateInvoice(self, request: pb.CreateInvoiceRequest, context):
        """Deposits an invoice entered on the portal, or saves it as a draft (``draft``).

        The EN 16931 model is built from the request (line and document allowances/charges,
        prepaid, contract, payment means, delivery, invoicing period, due date, exemption
        reason and/or VATEX code) with its seller and buyer from the directory, and its totals
        computed the EN 16931 way (BT-106…BT-115, VAT per category and rate). The caller needs
        FACTURES_EMISES in MODIFICATION on the supplier structure; the recipient (by id or by
        identifier) must be an active public structure and its routing parameters met. A
        deposit is stored DEPOSEE with ``InvoiceSubmitted`` in the same transaction; a draft
        is stored BROUILLON. Nothing is stored on failure. Errors: INVALID_ARGUMENT
        (FIELD_REQUIRED, FIELD_TOO_LONG, LINES_REQUIRED, LINES_TOO_MANY, QUANTITY_INVALID,
        UNIT_PRICE_INVALID, UNIT_INVALID, VAT_RATE_INVALID (0 <= rate < 100, 2 decimals),
        VAT_CATEGORY_INVALID, VAT_EXEMPTION_REASON_REQUIRED, VAT_EXEMPTION_CODE_INVALID,
        ALLOWANCE_INVALID, AMOUNT_INVALID, PREPAID_EXCEEDS_TOTAL, IBAN_INVALID, BIC_INVALID,
        PAYMENT_MEANS_INVALID, PERIOD_INVALID, DUE_DATE_INVALID, DELIVERY_DATE_INVALID,
        COUNTRY_INVALID, INVOICE_NUMBER_INVALID, ISSUE_DATE_INVALID, CURRENCY_INVALID,
        FRAMEWORK_INVALID, TYPE_INVALID, IDENTIFIER_TYPE_INVALID, RECIPIENT_NOT_FOUND,
        RECIPIENT_NOT_PUBLIC, RECIPIENT_INACTIVE, SERVICE_CODE_REQUIRED, SERVICE_CODE_UNKNOWN,
        ENGAGEMENT_REQUIRED, SERVICE_OR_ENGAGEMENT_REQUIRED); PERMISSION_DENIED ACCESS_DENIED;
        ALREADY_EXISTS INVOICE_NUMBER_DUPLICATE (same supplier, same year); UNAVAILABLE
        STRUCTURES_UNAVAILABLE.

        ``staged_attachment_ids``: files staged by StageAttachment, kept with the invoice.
        ``dry_run``: every check above but the duplicate number, the invoice computed and
        answered with an empty id, nothing stored (the portal's "Vérifier" step).
        AMOUNT_TOO_LARGE: an amount (unit price, line, total, VAT) of 13 integer digits or more.
        """
        user_id = current_principal().user_id
        form = mapping.form_from_request(request)
        staged = tuple(request.staged_attachment_ids)
        if request.dry_run:
            invoice = await self._deposits.create(user_id, form, draft=request.draft, dry_run=True)
        elif request.draft:  # a draft is no deposit (SubmitInvoice counts it)
            invoice = await self._deposits.create(
                user_id, form, draft=True, staged_attachment_ids=staged
            )
        else:
            with deposit_metrics.counted(deposit_metrics.channel_of(context)):
                invoice = await self._deposits.create(
                    user_id, form, draft=False, staged_attachment_ids=staged
                )
        return pb.CreateInvoiceResponse(invoice=mapping.invoice_to_proto(invoice))

    async def UpdateDraftInvoice(self, request: pb.UpdateDraftInvoiceRequest, context):
        """Replaces a draft's content and keeps it a draft (``invoice.draft``) or deposits it.

        Same checks and errors as CreateInvoice (the supplier stays the draft's: INVALID_ARGUMENT
        SUPPLIER_CHANGED otherwise); NOT_FOUND INVOICE_NOT_FOUND; PERMISSION_DENIED
        ACCESS_DENIED (no FACTURES_EMISES MODIFICATION on the supplier); FAILED_PRECONDITION
        INVALID_STATUS_TRANSITION when it is no longer a draft. Nothing changes on failure.
        """
        user_id = current_principal().user_id
        form = mapping.form_from_request(request.invoice)
        staged = tuple(request.invoice.staged_attachment_ids)
        if request.invoice.draft:
            invoice = await self._deposits.update_draft(
                user_id, request.invoice_id, form, draft=True, staged_attachment_ids=staged
            )
        else:
            with deposit_metrics.counted(deposit_metrics.channel_of(context)):
                invoice = await self._deposits.update_draft(
                    user_id, request.invoice_id, form, draft=False, staged_attachment_ids=staged
                )
        return pb.UpdateDraftInvoiceResponse(invoice=mapping.invoice_to_proto(invoice))

    async def SubmitInvoice(self, request: pb.SubmitInvoiceRequest, context):
        """Submits a draft: BROUILLON → DEPOSEE, emitting ``InvoiceSubmitted``.

        The recipient's status and routing parameters are checked again. Errors: NOT_FOUND
        INVOICE_NOT_FOUND (unknown or not visible); PERMISSION_DENIED ACCESS_DENIED (visible
        but no FACTURES_EMISES MODIFICATION); FAILED_PRECONDITION INVALID_STATUS_TRANSITION
        (not a draft); INVALID_ARGUMENT for recipient/routing reasons as in CreateInvoice.
        """
        user_id = current_principal().user_id
        with deposit_metrics.counted(deposit_metrics.channel_of(context)):
            invoice = await self._deposits.submit(user_id, request.invoice_id)
        return pb.SubmitInvoiceResponse(invoice=mapping.invoice_to_proto(invoice))

    async def DepositStructuredInvoice(self, request: pb.DepositStructuredInvoiceRequest, context):
        """Deposits a UBL 2.1 Invoice/CreditNote, UN/CEFACT CII D16B or Factur-X PDF file.

        The file is parsed safely, checked against its XSD and the official EN 16931
        schematron (in a worker process), read into its whole EN 16931 model (kept: GetInvoice
        ``document_json``), checked for what Chorus itself demands (buyer by SIRET, number,
        framework, header arithmetic BR-CO-10…17), then deposited like CreateInvoice (access,
        recipient by the buyer's SIRET, routing with BT-10 as service code and BT-13 as
        engagement, duplicates). The file is kept as the invoice's ORIGINAL document;
        schematron warnings and CHORUS-LINE-NET warnings (a line net amount other than
        quantity × price − allowances + charges) are kept and returned in
        ``invoice.warnings``. Errors: INVALID_ARGUMENT FILE_REQUIRED,
        FILE_TOO_LARGE, XML_MALFORMED, XML_FORBIDDEN_CONSTRUCT, XML_TOO_LARGE, XML_TOO_DEEP,
        PDF_MALFORMED, PDF_ENCRYPTED, PDF_TOO_LARGE, FACTURX_XML_MISSING, FORMAT_UNSUPPORTED,
        PROFILE_UNSUPPORTED, XML_SCHEMA_INVALID and EN16931_RULES_FAILED (violations: location
        and "[rule id] message"; ErrorInfo metadata ``rules``),
        DOCUMENT_VALUE_INVALID, DOCUMENT_UNPROCESSABLE, SELLER_MISMATCH, and
        every CreateInvoice reason; PERMISSION_DENIED ACCESS_DENIED; ALREADY_EXISTS
        INVOICE_NUMBER_DUPLICATE; UNAVAILABLE STRUCTURES_UNAVAILABLE.
        """
        user_id = current_principal().user_id
        with deposit_metrics.counted(deposit_metrics.channel_of(context)):
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
        XML's note is kept) must match the XML. The PDF is ``content``, or a PDF the caller
        staged with StageAttachment named by ``staged_pdf_id`` (its id or integer id), checked
        the same way and taken from staging with the deposit (a refusal leaves it staged).
        Then the deposit checks of CreateInvoice apply; nothing is stored on failure. Errors:
        INVALID_ARGUMENT FILE_REQUIRED (neither ``content`` nor ``staged_pdf_id``),
        PDF_SOURCE_AMBIGUOUS (both), STAGED_ATTACHMENT_UNKNOWN on ``staged_pdf_id`` (not a
        usable file the caller staged), STAGED_FILE_NOT_PDF, PDF_TOO_LARGE, PDF_MALFORMED,
        PDF_ENCRYPTED,
        LINES_NOT_ALLOWED, DRAFT_NOT_ALLOWED, ATTACHMENT_NAME_INVALID, ATTACHMENT_NAME_TOO_LONG,
        ATTACHMENT_EXTENSION_FORBIDDEN, ATTACHMENT_EMPTY, ATTACHMENT_TOO_LARGE,
        ATTACHMENTS_TOO_LARGE (``staged_attachment_ids`` counted), STAGED_ATTACHMENT_UNKNOWN
        (``staged_attachment_ids[i]``: not the caller's, expired or already used; any refusal
        drops the caller's staged files it named, to be uploaded again); plain PDF: every
        CreateInvoice shape reason, AMOUNT_INVALID, TOTALS_INCONSISTENT (violations:
        ``net_total``, ``vat_total``, ``gross_total``, ``vat_breakdown[i].rate|base|amount``);
        Factur-X: the reading reasons of DepositStructuredInvoice, FORM_CONTRADICTS_DOCUMENT
        (one violation per contradicting field), SELLER_MISMATCH; then the recipient and
        routing reasons of CreateInvoice;
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
        with deposit_metrics.counted(deposit_metrics.channel_of(context)):
            invoice, warnings = await self._pdf.deposit(
                user_id,
                mapping.pdf_form_from_request(request),
                request.filename,
                request.content,
                [AttachmentUpload(a.filename, a.content) for a in request.attachments],
                list(request.staged_attachment_ids),
                request.staged_pdf_id,
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
        answer (StageAttachment itself is not replayed: staging again is harmless). The answer
        also gives the file's integer ``cpp_id`` (Chorus Pro ``pieceJointeId``), which
        ``staged_attachment_ids`` accept as a decimal string. Errors:
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
            cpp_id=staged.cpp_id,
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
        channel = deposit_metrics.channel_of(context)
        accepted = sum(1 for item in items if item.invoice is not None)
        deposit_metrics.count(channel, "accepted", accepted)
        deposit_metrics.count(channel, "refused", len(items) - accepted)
        return pb.DepositInvoiceBatchResponse(items=[mapping.batch_item_to_proto(i) for i in items])
