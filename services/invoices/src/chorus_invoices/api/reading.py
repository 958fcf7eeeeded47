"""The reading RPCs of InvoicesService: one invoice, a page of a list, a status history, the
invoice's document and its attachments; only what the caller may see."""

from __future__ import annotations

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform.auth import current_principal

from chorus_invoices.api import mapping, page_tokens
from chorus_invoices.domain import lifecycle
from chorus_invoices.domain.errors import invalid
from chorus_invoices.domain.listing import read_criteria
from chorus_invoices.usecases.reading import Reading

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_NUMBERED_PAGE_SIZE = 1000


class ReadingRpcs:
    """Part of :class:`~chorus_invoices.api.servicer.InvoicesServicer`."""

    _reading: Reading

    async def GetInvoice(self, request: pb.GetInvoiceRequest, context):
        """One invoice with lines, totals, VAT breakdown, status, lifecycle code (with its
        reform label and the Chorus status that gave it) and the actions the caller may take
        now (``allowed_actions``, e.g. SUBMIT) with the statuses it may set with
        ChangeInvoiceStatus (``settable_statuses``).

        Visible to FACTURES_EMISES (CONSULTATION) of the supplier, and to FACTURES_RECUES
        (CONSULTATION) of the recipient once made available to it. Errors: NOT_FOUND
        INVOICE_NOT_FOUND when unknown, malformed or not visible (never PERMISSION_DENIED).
        """
        user_id = current_principal().user_id
        invoice, actions = await self._reading.invoice(user_id, mapping.invoice_ref(request))
        kept = await self._reading.kept_with(invoice)
        found = mapping.invoice_to_proto(invoice, actions, with_document=True)
        found.facturx_pending = kept.facturx_pending
        found.settable_statuses.extend(
            mapping.status_to_proto(s) for s in lifecycle.recipient_targets(invoice.status, actions)
        )
        found.warnings.extend(mapping.findings_to_proto(kept.warnings))
        found.documents.extend(mapping.documents_to_proto(kept.documents))
        return pb.GetInvoiceResponse(invoice=found)

    async def ListInvoices(self, request: pb.ListInvoicesRequest, context):
        """Issued (default) or received invoices of the structures the caller may consult,
        newest first, without lines nor allowed actions, with ``total_size`` (how many match,
        every page together).

        ``structure_id`` narrows to one of them (another gives an empty list); ``status`` and
        ``statuses`` (any of them), ``number`` (prefix, case-insensitive), issue and deposit
        dates (inclusive days), gross total range, the other party (ids, or part of its name),
        ``service_code``, ``flow_number``, ``type``, the time of the last status change,
        ``downloaded_by_recipient``, net total and amount due ranges, ``framework``,
        ``deposit_modes`` (any of them) and ``rejection_acknowledged`` filter (see
        domain.listing). Token paging: ``page_size`` defaults to 20, at most 100;
        ``next_page_token`` is "" on the last page. Paging by number (``page_number`` 1-based,
        no ``page_token``): ``page_size`` at most 1000, and ``order_by`` / ``ascending`` may
        sort on another column (ties by deposit time, newest first). ``page_size`` in the
        answer is the one used. Errors: INVALID_ARGUMENT PAGE_TOKEN_INVALID (also with
        ``page_number``), PAGE_NUMBER_INVALID, FILTER_INVALID (one violation per criterion in
        error; an unknown framework, deposit mode or order; an order other than the default
        with token paging).
        """
        user_id = current_principal().user_id
        if request.page_number < 0:
            raise invalid("PAGE_NUMBER_INVALID", "page_number", "Le numéro de page commence à 1.")
        if request.page_number and request.page_token:
            raise invalid(
                "PAGE_TOKEN_INVALID",
                "page_token",
                "Paginez par jeton (page_token) ou par numéro de page (page_number), pas les deux.",
            )
        largest = MAX_NUMBERED_PAGE_SIZE if request.page_number else MAX_PAGE_SIZE
        page_size = min(request.page_size if request.page_size > 0 else DEFAULT_PAGE_SIZE, largest)
        found = await self._reading.page(
            user_id,
            received=request.side == pb.LIST_SIDE_RECEIVED,
            structure_id=request.structure_id.strip(),
            statuses=mapping.statuses_from_request(request),
            number_prefix=request.number.strip(),
            limit=page_size,
            after=page_tokens.decode(request.page_token),
            page_number=request.page_number,
            criteria=read_criteria(
                issued_from=request.issued_from,
                issued_to=request.issued_to,
                deposited_from=request.deposited_from,
                deposited_to=request.deposited_to,
                min_amount=request.min_amount,
                max_amount=request.max_amount,
                counterparty_id=request.counterparty_structure_id,
                counterparty_ids=tuple(request.counterparty_structure_ids),
                counterparty_name=request.counterparty_name,
                service_code=request.service_code,
                flow_number=request.flow_number,
                type=mapping.enum_name(pb.InvoiceType, request.type, "INVOICE_TYPE_"),
                status_changed_from=mapping.optional_time(request, "status_changed_from"),
                status_changed_to=mapping.optional_time(request, "status_changed_to"),
                downloaded=request.downloaded_by_recipient
                if request.HasField("downloaded_by_recipient")
                else None,
                min_net_amount=request.min_net_amount,
                max_net_amount=request.max_net_amount,
                min_amount_due=request.min_amount_due,
                max_amount_due=request.max_amount_due,
                framework=mapping.enum_name(pb.Framework, request.framework, "FRAMEWORK_"),
                deposit_modes=tuple(
                    mapping.enum_name(pb.DepositMode, mode, "DEPOSIT_MODE_") or "UNSPECIFIED"
                    for mode in request.deposit_modes
                ),
                rejection_acknowledged=request.rejection_acknowledged
                if request.HasField("rejection_acknowledged")
                else None,
            ),
            order=mapping.order_from_request(request),
        )
        return pb.ListInvoicesResponse(
            invoices=[mapping.invoice_to_proto(invoice) for invoice in found.invoices],
            next_page_token=page_tokens.encode(found.next_cursor),
            total_size=found.total,
            page_size=page_size,
        )

    async def ListStatusTransitions(self, request: pb.ListStatusTransitionsRequest, context):
        """The lifecycle table's moves out of ``from_status`` (unspecified: how an invoice
        comes into being): target, party, action name, whether a reason is needed, whether it
        is one of the next sensible moves (``suggested``: what a screen offers as a button) and
        whether the target ends the lifecycle (``terminal``: a screen confirms it). Static,
        the same for every authenticated caller (what a caller may do on one invoice is
        GetInvoice's ``allowed_actions`` / ``settable_statuses``). Errors: INVALID_ARGUMENT
        STATUS_INVALID (a number this version does not know)."""
        current_principal()
        source = None
        if request.from_status:
            source = mapping.status_from_proto(request.from_status)
            if source is None:
                raise invalid("STATUS_INVALID", "from_status", "Statut de facture inconnu.")
        return pb.ListStatusTransitionsResponse(
            transitions=[mapping.transition_to_proto(t) for t in lifecycle.transitions_from(source)]
        )

    async def GetInvoiceHistory(self, request: pb.GetInvoiceHistoryRequest, context):
        """The invoice's status history, oldest first: status, the reform lifecycle codes it
        gave each with its label and the Chorus status that gave it ("204 Prise en charge —
        service fait"), time, actor (user id or "system") and comment. Same visibility and
        errors as GetInvoice."""
        user_id = current_principal().user_id
        entries = await self._reading.history(user_id, mapping.invoice_ref(request))
        return pb.GetInvoiceHistoryResponse(
            entries=[mapping.history_to_proto(entry) for entry in entries]
        )

    async def GetInvoiceDocument(self, request: pb.GetInvoiceDocumentRequest, context):
        """The invoice's document: the Factur-X PDF of a portal invoice, else the file
        deposited; or the one of ``role`` (FACTURX, ORIGINAL, CII: a portal invoice's XML).
        Same visibility as GetInvoice. Errors: NOT_FOUND INVOICE_NOT_FOUND, NOT_FOUND
        DOCUMENT_NOT_FOUND (a draft has none), INVALID_ARGUMENT DOCUMENT_ROLE_INVALID. A
        portal invoice's Factur-X not rendered yet is rendered now (``on_demand``, the
        default: UNAVAILABLE DOCUMENT_WORKERS_STARTING or FACTURX_RENDERING_FAILED when it
        cannot be), or is being rendered by the job (``queued``: UNAVAILABLE
        DOCUMENT_IN_PREPARATION, ask again in a few seconds)."""
        user_id = current_principal().user_id
        document = await self._reading.document(user_id, mapping.invoice_ref(request), request.role)
        return pb.GetInvoiceDocumentResponse(
            filename=document.info.filename,
            media_type=document.info.media_type,
            content=document.content,
        )

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
