"""Deposit of a structured file: UBL 2.1, CII D16B or Factur-X, read and checked end to end.

The file is read in a document worker (safe parse, XSD, EN 16931 schematron, the model:
:func:`~chorus_invoices.documents.intake.read_deposit`), checked for what Chorus itself
demands (:func:`~chorus_invoices.domain.validation.validate_model`: the buyer's SIRET, the
number, the framework, the header arithmetic; line-level differences become warnings), then
deposited through :meth:`Deposits.create_valid` like a portal entry — access, recipient,
routing with BT-10 as service code and BT-13 as engagement, duplicates — with the file, its
model and the warnings kept alongside.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from chorus_platform.errors import DomainError

from chorus_invoices.documents.archives import ArchiveLimits, read_archive
from chorus_invoices.documents.formats import DocumentKind, DocumentLimits
from chorus_invoices.documents.intake import DocumentIntake, Identity, identify, read_deposit
from chorus_invoices.documents.workers import DocumentWorkers
from chorus_invoices.domain import filenames
from chorus_invoices.domain.documents import DocumentRole, new_document
from chorus_invoices.domain.errors import invalid
from chorus_invoices.domain.invoice import DepositMode, Invoice
from chorus_invoices.domain.rule_violations import RuleViolation
from chorus_invoices.domain.validation import seller_siret, validate_model
from chorus_invoices.usecases.deposit import (
    Deposits,
    FileOrigin,
    PreAuthorizedDeposits,
    Within,
)

_MEDIA_TYPES = {
    DocumentKind.UBL_INVOICE: ("application/xml", ".xml"),
    DocumentKind.UBL_CREDIT_NOTE: ("application/xml", ".xml"),
    DocumentKind.CII: ("application/xml", ".xml"),
    DocumentKind.FACTURX: ("application/pdf", ".pdf"),
}


@dataclass(frozen=True)
class BatchItem:
    """One file of a batch: deposited (``invoice``) or refused (``error``), like a line of an
    EDI integration report."""

    file: str
    invoice: Invoice | None = None
    error: DomainError | None = None


class StructuredDeposits:
    def __init__(
        self,
        deposits: Deposits | PreAuthorizedDeposits,
        workers: DocumentWorkers,
        limits: DocumentLimits,
        archive_limits: ArchiveLimits | None = None,
    ):
        """``deposits`` checks the depositor's right and deposits (:class:`Deposits`; the
        flow worker's :meth:`through` copies use a :class:`PreAuthorizedDeposits`)."""
        self._deposits = deposits
        self._workers = workers
        self._limits = limits
        self._archive_limits = archive_limits or ArchiveLimits(
            max_entry_bytes=max(limits.max_pdf_bytes, limits.xml.max_bytes)
        )

    def through(self, deposits: PreAuthorizedDeposits) -> StructuredDeposits:
        """The same reading and checks of files, deposited through ``deposits`` (the flow
        worker's, for the issuer DepositFlow recorded)."""
        return StructuredDeposits(deposits, self._workers, self._limits, self._archive_limits)

    async def deposit_batch(
        self, user_id: str, supplier_structure_id: str, content: bytes
    ) -> list[BatchItem]:
        """Each file of a ZIP or tar.gz archive deposited like :meth:`deposit`, independently:
        one file refused does not stop the others.

        The archive is read in a document worker (:func:`documents.archives.read_archive`);
        its whole-archive refusals (ARCHIVE_*) are raised as InvalidArgument, nothing deposited.
        Per file, any DomainError (rule failures, duplicates, access…) becomes the item's error;
        entries refused by the archive reading (ARCHIVE_NESTED, ARCHIVE_ENTRY_NOT_A_FILE,
        FILE_TOO_LARGE) too. AccessDenied, before anything is read, when the caller may not
        issue for the supplier.
        """
        await self._deposits.check_issuer(user_id, supplier_structure_id)
        entries = await self._workers.run(read_archive, content, self._archive_limits)
        items = []
        for entry in entries:
            if entry.refusal is not None:
                reason, message = entry.refusal
                items.append(BatchItem(entry.name, error=invalid(reason, entry.name, message)))
                continue
            try:
                invoice, _ = await self.deposit(
                    user_id,
                    supplier_structure_id,
                    entry.name,
                    entry.content,
                    mode=DepositMode.BATCH,
                )
            except DomainError as error:
                items.append(BatchItem(entry.name, error=error))
            else:
                items.append(BatchItem(entry.name, invoice=invoice))
        return items

    async def deposit(
        self,
        user_id: str,
        supplier_structure_id: str,
        filename: str,
        content: bytes,
        *,
        mode: DepositMode = DepositMode.FILE,
        flow_number: str = "",
        within: Within | None = None,
    ) -> tuple[Invoice, tuple[RuleViolation, ...]]:
        """The deposited invoice and the EN 16931 warnings kept with it: :meth:`read`, then
        :meth:`deposit_read`.

        InvalidArgument: FILE_REQUIRED, FILE_TOO_LARGE, the reading's reasons (see
        documents.intake), then those of Deposits.create; AccessDenied;
        InvoiceNumberDuplicate.
        """
        intake = await self.read(user_id, supplier_structure_id, filename, content)
        return await self.deposit_read(
            user_id,
            supplier_structure_id,
            filename,
            content,
            intake,
            mode=mode,
            flow_number=flow_number,
            within=within,
        )

    async def read(
        self, user_id: str, supplier_structure_id: str, filename: str, content: bytes
    ) -> DocumentIntake:
        """The file read and checked in a document worker (safe parse, XSD, EN 16931
        schematron, the model), not deposited yet. InvalidArgument FILE_REQUIRED,
        FILE_TOO_LARGE and the reading's reasons; AccessDenied (checked before anything is
        read) when the caller may not issue for the supplier."""
        if not content:
            raise invalid("FILE_REQUIRED", "file", "Joignez le fichier de la facture.")
        largest = max(self._limits.max_pdf_bytes, self._limits.xml.max_bytes)
        if len(content) > largest:
            raise invalid("FILE_TOO_LARGE", "file", f"Le fichier dépasse {largest // 1024**2} Mo.")
        await self._deposits.check_issuer(user_id, supplier_structure_id)
        return await self._workers.run(read_deposit, content, self._limits, filename)

    async def identify(self, content: bytes) -> Identity:
        """The invoice number and parties a file states, read in a document worker without
        judging it (for the report line of a file the checks refused); empty when even that
        cannot be read."""
        try:
            return await self._workers.run(identify, content, self._limits)
        except DomainError:
            return Identity()

    async def deposit_read(
        self,
        user_id: str,
        supplier_structure_id: str,
        filename: str,
        content: bytes,
        intake: DocumentIntake,
        *,
        mode: DepositMode = DepositMode.FILE,
        flow_number: str = "",
        within: Within | None = None,
    ) -> tuple[Invoice, tuple[RuleViolation, ...]]:
        """Deposits a file :meth:`read` made ``intake`` of: Chorus' own checks of its model
        (``validate_model``), then :meth:`Deposits.create_valid` (access, recipient, routing,
        duplicates), the file kept as the invoice's ORIGINAL document; ``within`` runs in the
        deposit's transaction. Answers the invoice and the warnings kept with it."""
        media_type, suffix = _MEDIA_TYPES[intake.kind]
        document = new_document(
            str(uuid.uuid4()),
            DocumentRole.ORIGINAL,
            safe_filename(filename, intake.invoice.number, suffix),
            media_type,
            content,
            datetime.now(UTC),
        )
        valid = validate_model(intake.invoice, supplier_structure_id, datetime.now(UTC).date())
        origin = FileOrigin(
            document,
            seller_siret(intake.invoice),
            intake.warnings,
            mode=mode,
            flow_number=flow_number,
        )
        invoice = await self._deposits.create_valid(
            user_id, valid, draft=False, origin=origin, within=within
        )
        return invoice, intake.warnings + valid.warnings


def safe_filename(filename: str, number: str, suffix: str) -> str:
    """The uploaded name made safe (:func:`domain.filenames.safe_filename`: no directory
    part, no ``..``, no control character), or one made from the invoice number."""
    return filenames.safe_filename(filename, f"facture-{number or 'sans-numero'}{suffix}")
