"""Deposit of an invoice as a PDF: a plain PDF with its header typed in, or a Factur-X PDF.

The PDF is opened in a document worker
(:func:`~chorus_invoices.documents.intake.read_pdf_deposit`): it must be a real PDF,
unencrypted, within the size limit. Then:

- **plain PDF** (no Factur-X XML inside): the form is the invoice — the same shape rules as a
  portal entry, except that it has no lines and states its totals, which must add up
  (:func:`~chorus_invoices.domain.totals.stated_totals`); the PDF is kept as its document;
- **Factur-X PDF**: the XML is read and checked exactly like ``DepositStructuredInvoice`` (XSD,
  EN 16931 schematron, totals) and gives the data; the form is optional, only
  ``supplier_structure_id`` is required (the XML names the seller by SIRET, not the Chorus
  structure depositing it), and any other field it gives must say what the XML says
  (:func:`~chorus_invoices.domain.contradictions.check_form_matches_document`).

Either way the invoice is deposited through :meth:`Deposits.create` (access, recipient,
routing, duplicate checks) with the attachments in the same transaction: a refusal anywhere
keeps nothing. The inline attachments are checked first, before the PDF is read; the staged
ones (already checked when staged) in the deposit's transaction, which takes them.

The PDF itself may have been staged beforehand (``staged_pdf_id``: the Chorus Pro API's
``ajouter/fichier`` then ``soumettre`` in ``DEPOT_PDF_API``): it is read from staging, must
be a PDF its depositor staged, goes through exactly the same checks, and is taken from staging
in the deposit's transaction (a refused deposit leaves it there, to be named again).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from chorus_platform.unit_of_work import Transaction

from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.documents.formats import DocumentLimits, DocumentRejected
from chorus_invoices.documents.intake import DocumentIntake, read_pdf_deposit
from chorus_invoices.documents.workers import DocumentWorkers
from chorus_invoices.documents.xml_safety import readable_size
from chorus_invoices.domain.attachments import (
    AttachmentPolicy,
    AttachmentUpload,
    check_attachments,
)
from chorus_invoices.domain.contradictions import (
    StatedAmounts,
    check_form_matches_document,
    form_of,
)
from chorus_invoices.domain.documents import DocumentRole, new_document
from chorus_invoices.domain.errors import invalid
from chorus_invoices.domain.forms import InvoiceForm, TotalsForm
from chorus_invoices.domain.invoice import DepositMode, Invoice
from chorus_invoices.domain.rule_violations import RuleViolation
from chorus_invoices.domain.validation import seller_siret, validate_model
from chorus_invoices.usecases.attachments import AttachmentStaging, take_staged_pdf
from chorus_invoices.usecases.deposit import Deposits, FileOrigin, Within
from chorus_invoices.usecases.structured_deposit import safe_filename

NO_SUCH_STRUCTURE = "-"
"""Stands for the SIRET of a recipient structure id that names no structure."""


class PdfDeposits:
    def __init__(
        self,
        deposits: Deposits,
        structures: StructuresClient,
        staging: AttachmentStaging,
        workers: DocumentWorkers,
        limits: DocumentLimits,
        attachment_policy: AttachmentPolicy | None = None,
    ) -> None:
        self._deposits = deposits
        self._structures = structures
        self._staging = staging
        self._workers = workers
        self._limits = limits
        self._attachments = attachment_policy or AttachmentPolicy()

    async def deposit(
        self,
        user_id: str,
        form: InvoiceForm,
        filename: str,
        content: bytes,
        attachments: Sequence[AttachmentUpload] = (),
        staged_attachment_ids: Sequence[str] = (),
        staged_pdf_id: str = "",
    ) -> tuple[Invoice, tuple[RuleViolation, ...]]:
        """The deposited invoice (DEPOSEE) and the EN 16931 warnings kept with it (none for a
        plain PDF). ``form.totals`` holds the stated totals (empty strings when not given).
        The files the caller staged under ``staged_attachment_ids`` are kept like
        ``attachments`` (checked in the deposit's transaction); any refusal drops them
        (:meth:`AttachmentStaging.dropped_on_refusal`). The PDF is ``content``, or the file
        the caller staged under ``staged_pdf_id`` (exactly one of them), which a refusal
        leaves staged.

        InvalidArgument: FILE_REQUIRED, PDF_SOURCE_AMBIGUOUS (both), STAGED_ATTACHMENT_UNKNOWN
        and STAGED_FILE_NOT_PDF (``staged_pdf_id``), PDF_TOO_LARGE, PDF_MALFORMED,
        PDF_ENCRYPTED, ATTACHMENT_* / ATTACHMENTS_TOO_LARGE, STAGED_ATTACHMENT_UNKNOWN,
        LINES_NOT_ALLOWED; for a plain PDF the shape reasons of a portal entry, AMOUNT_INVALID
        and TOTALS_INCONSISTENT; for a Factur-X PDF the reading's reasons, FIELD_REQUIRED
        (supplier_structure_id) and FORM_CONTRADICTS_DOCUMENT; then those of Deposits.create
        (recipient, routing, SELLER_MISMATCH); AccessDenied; InvoiceNumberDuplicate.
        """
        async with self._staging.dropped_on_refusal(user_id, staged_attachment_ids):
            within: Within | None = None
            if staged_pdf_id.strip():
                if content:
                    raise invalid(
                        "PDF_SOURCE_AMBIGUOUS",
                        "staged_pdf_id",
                        "Joignez le PDF de la facture ou désignez un PDF téléversé, pas les deux.",
                    )
                staged, content = await self._staging.staged_pdf(user_id, staged_pdf_id)
                filename = filename.strip() or staged.filename

                async def take(tx: Transaction, invoice: Invoice) -> None:
                    await take_staged_pdf(tx.conn, staged, user_id, datetime.now(UTC))

                within = take
            return await self._deposit(
                user_id, form, filename, content, attachments, staged_attachment_ids, within
            )

    async def _deposit(
        self,
        user_id: str,
        form: InvoiceForm,
        filename: str,
        content: bytes,
        attachments: Sequence[AttachmentUpload],
        staged_attachment_ids: Sequence[str],
        within: Within | None,
    ) -> tuple[Invoice, tuple[RuleViolation, ...]]:
        if not content:
            raise invalid("FILE_REQUIRED", "file", "Joignez le PDF de la facture.")
        if len(content) > self._limits.max_pdf_bytes:
            raise DocumentRejected(
                "PDF_TOO_LARGE",
                "Le PDF dépasse la taille autorisée"
                f" ({readable_size(self._limits.max_pdf_bytes)}).",
            )
        if form.lines:
            raise invalid(
                "LINES_NOT_ALLOWED",
                "lines",
                "Une facture déposée en PDF n'a pas de lignes : indiquez seulement ses totaux.",
            )
        check_attachments(attachments, 0, self._attachments)
        await self._deposits.check_issuer(user_id, form.supplier_structure_id)
        intake = await self._workers.run(read_pdf_deposit, content, self._limits, filename)
        if intake is None:
            document = _original(filename, form.number.strip(), content)
            origin = FileOrigin(document, seller_siret=None, mode=DepositMode.PDF)
            form = replace(form, totals=form.totals or TotalsForm())
            invoice = await self._deposits.create(
                user_id,
                form,
                draft=False,
                origin=origin,
                attachments=attachments,
                staged_attachment_ids=staged_attachment_ids,
                within=within,
            )
            return invoice, ()
        return await self._deposit_facturx(
            user_id, form, filename, content, intake, attachments, staged_attachment_ids, within
        )

    async def _deposit_facturx(
        self,
        user_id: str,
        form: InvoiceForm,
        filename: str,
        content: bytes,
        intake: DocumentIntake,
        attachments: Sequence[AttachmentUpload],
        staged_attachment_ids: Sequence[str],
        within: Within | None,
    ) -> tuple[Invoice, tuple[RuleViolation, ...]]:
        supplier_id = form.supplier_structure_id.strip()
        if not supplier_id:
            raise invalid(
                "FIELD_REQUIRED",
                "supplier_structure_id",
                "La structure émettrice est obligatoire : indiquez la structure qui dépose"
                " la facture.",
            )
        valid = validate_model(intake.invoice, supplier_id, datetime.now(UTC).date())
        totals = form.totals or TotalsForm()
        check_form_matches_document(
            form,
            form_of(valid.content, valid.recipient.identifier),
            valid.content.totals(),
            StatedAmounts(
                totals.net_total, totals.vat_total, totals.gross_total, totals.vat_breakdown
            ),
            recipient_siret=await self._recipient_siret(form.recipient.structure_id.strip()),
        )
        document = _original(filename, intake.invoice.number, content)
        origin = FileOrigin(
            document, seller_siret(intake.invoice), intake.warnings, mode=DepositMode.PDF
        )
        invoice = await self._deposits.create_valid(
            user_id,
            valid,
            draft=False,
            origin=origin,
            attachments=attachments,
            staged_attachment_ids=staged_attachment_ids,
            within=within,
        )
        return invoice, intake.warnings + valid.warnings

    async def _recipient_siret(self, structure_id: str) -> str:
        """The SIRET of the recipient the form names by id ("" when it names none)."""
        if not structure_id:
            return ""
        recipient = await self._structures.structure(structure_id)
        return recipient.identifier if recipient is not None else NO_SUCH_STRUCTURE


def _original(filename: str, number: str, content: bytes):
    return new_document(
        str(uuid.uuid4()),
        DocumentRole.ORIGINAL,
        safe_filename(filename, number, ".pdf"),
        "application/pdf",
        content,
        datetime.now(UTC),
    )
