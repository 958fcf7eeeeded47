"""Deposit on the portal: create an invoice (draft or deposited) and submit a draft.

Everything is checked before anything is written — shape, the caller's right to issue for the
supplier, the recipient and its routing parameters — so a refused invoice leaves no trace.
A portal invoice entering DEPOSEE gets its canonical CII XML and its Factur-X rendering queued
in the same transaction (``usecases/facturx_rendering.py``: the PDF is rendered off the request
path); an invoice read from a structured file (:class:`FileOrigin`) keeps that
file and its EN 16931 warnings instead, and its seller must be the supplier structure; a
plain PDF (no seller stated) keeps the PDF. Attachments of a deposit are kept in the same
transaction too.

Every deposit an RPC makes checks the caller's right first (:meth:`Deposits.check_issuer`,
asked of structures with the caller's token). The flow worker alone deposits for an
:class:`Issuer` whose right DepositFlow decided when the archive was deposited, through
:class:`PreAuthorizedDeposits`: the same checks of the invoice, without asking again, and
recipients looked up in the public directory without a token. Only the flow worker builds
one (``usecases/flows.py``); no RPC handler holds one.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from chorus_platform.unit_of_work import Transaction, UnitOfWork

from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.documents.content import buyer_of, seller_of
from chorus_invoices.domain import en16931, lifecycle
from chorus_invoices.domain.attachments import AttachmentPolicy, AttachmentUpload
from chorus_invoices.domain.documents import Document
from chorus_invoices.domain.errors import AccessDenied, InvoiceNotFound, RecipientNotFound, invalid
from chorus_invoices.domain.forms import InvoiceForm
from chorus_invoices.domain.invoice import (
    DepositMode,
    Invoice,
    InvoiceContent,
    InvoiceType,
    StructureRef,
)
from chorus_invoices.domain.lifecycle import Party, Status
from chorus_invoices.domain.routing import Recipient, routed
from chorus_invoices.domain.rule_violations import RuleViolation
from chorus_invoices.domain.validation import ValidInvoice, validate_invoice
from chorus_invoices.store import invoices, rule_warnings
from chorus_invoices.store.documents import DocumentStore, PostgresDocumentStore
from chorus_invoices.usecases import status_changes
from chorus_invoices.usecases.access import (
    MODIFICATION,
    NOT_ISSUER,
    SUPPLIER_SPACE,
    InvoiceAccess,
)
from chorus_invoices.usecases.attachments import add_attachments
from chorus_invoices.usecases.facturx_rendering import FacturxRenderer


@dataclass(frozen=True)
class FileOrigin:
    """An invoice read from a deposited file (structured, or a plain PDF)."""

    document: Document
    seller_siret: str | None
    """BT-30 (scheme 0009) as the file states it; None for a file stating no seller (a plain
    PDF, whose data the depositor typed in)."""
    warnings: tuple[RuleViolation, ...] = ()
    mode: DepositMode = DepositMode.FILE
    """The channel that brought the file."""
    flow_number: str = ""
    """The flow (DepositFlow) the file came in, "" for none."""


Within = Callable[[Transaction, Invoice], Awaitable[None]]
"""What a caller does in the deposit's own transaction, after the invoice is stored (a flow
records its report line): its writes commit with the invoice, or neither does."""


@dataclass(frozen=True)
class Issuer:
    """A user whose right to issue invoices for a supplier structure was decided (MODIFICATION
    on its FACTURES_EMISES), with the supplier as the directory described it then: its SIRET
    (the seller = supplier rule), its kind (services reserved for public suppliers), its name
    and address."""

    user_id: str
    supplier_id: str
    supplier: Recipient


class Deposits:
    def __init__(
        self,
        uow: UnitOfWork,
        structures: StructuresClient,
        renderer: FacturxRenderer,
        store: DocumentStore | None = None,
        attachment_policy: AttachmentPolicy | None = None,
    ) -> None:
        """``renderer`` writes the XML of portal invoices entering DEPOSEE and queues their
        Factur-X."""
        self._uow = uow
        self._structures = structures
        self._access = InvoiceAccess(uow, structures)
        self._renderer = renderer
        self._store = store or PostgresDocumentStore()
        self._attachment_policy = attachment_policy or AttachmentPolicy()

    async def create(
        self,
        user_id: str,
        form: InvoiceForm,
        *,
        draft: bool,
        origin: FileOrigin | None = None,
        attachments: Sequence[AttachmentUpload] = (),
        staged_attachment_ids: Sequence[str] = (),
        within: Within | None = None,
        dry_run: bool = False,
    ) -> Invoice:
        """Stores a new invoice as BROUILLON (draft) or DEPOSEE (announced by InvoiceSubmitted),
        with ``attachments`` and the files the caller staged under ``staged_attachment_ids``
        kept in the same transaction (the staged files are then forgotten); ``within`` runs in
        that transaction once the invoice is stored.

        InvalidArgument (shape, recipient, routing, SELLER_MISMATCH for a file whose seller is
        not the supplier, ATTACHMENT_* / ATTACHMENTS_TOO_LARGE, STAGED_ATTACHMENT_UNKNOWN),
        AccessDenied, InvoiceNumberDuplicate.

        ``dry_run``: every check made, the invoice computed and answered (id ""), nothing
        stored (the duplicate number and the staged files are checked at the real deposit).
        """
        valid = validate_invoice(form, today=datetime.now(UTC).date())
        if dry_run:
            supplier_id = valid.supplier_structure_id
            await self.check_issuer(user_id, supplier_id)
            supplier = await self._structures.structure(supplier_id)
            invoice, _ = await self._build(user_id, supplier_id, supplier, valid, draft=draft)
            return replace(invoice, id="")
        return await self.create_valid(
            user_id,
            valid,
            draft=draft,
            origin=origin,
            attachments=attachments,
            staged_attachment_ids=staged_attachment_ids,
            within=within,
        )

    async def create_valid(
        self,
        user_id: str,
        valid: ValidInvoice,
        *,
        draft: bool,
        origin: FileOrigin | None = None,
        attachments: Sequence[AttachmentUpload] = (),
        staged_attachment_ids: Sequence[str] = (),
        within: Within | None = None,
    ) -> Invoice:
        """:meth:`create` of an invoice already validated: a portal form
        (:func:`validate_invoice`, its model's parties filled here from the directory) or a
        file's model (:func:`validate_model`, kept as the file states it). The warnings of
        ``valid`` and ``origin`` are kept with the invoice; ``within`` runs in the deposit's
        transaction once the invoice is stored."""
        supplier_id = valid.supplier_structure_id
        await self.check_issuer(user_id, supplier_id)
        supplier = await self._structures.structure(supplier_id)
        return await self._create(
            user_id,
            supplier_id,
            supplier,
            valid,
            draft=draft,
            origin=origin,
            attachments=attachments,
            staged_attachment_ids=staged_attachment_ids,
            within=within,
        )

    async def _create(
        self,
        user_id: str,
        supplier_id: str,
        supplier: Recipient | None,
        valid: ValidInvoice,
        *,
        draft: bool,
        origin: FileOrigin | None,
        attachments: Sequence[AttachmentUpload] = (),
        staged_attachment_ids: Sequence[str] = (),
        within: Within | None = None,
        public_directory: bool = False,
    ) -> Invoice:
        """:meth:`create_valid` once the right to issue is settled: every check of the invoice
        itself (seller = supplier, recipient, routing, credit note reference, duplicates), then
        the writes. ``public_directory``: the recipient is looked up without a token (public
        structures only)."""
        invoice, recipient = await self._build(
            user_id,
            supplier_id,
            supplier,
            valid,
            draft=draft,
            origin=origin,
            public_directory=public_directory,
        )
        now, deposited = invoice.created_at, not draft
        documents = [origin.document] if origin is not None else []
        xml = None
        if origin is None and deposited:
            xml = self._renderer.canonical_xml(invoice, supplier, recipient)
        async with self._uow.transaction() as tx:
            invoice = await status_changes.record_new(tx, invoice, actor=user_id)
            for document in documents:
                await self._store.put(tx.conn, invoice.id, document)
            if xml is not None:
                await self._renderer.queue(tx.conn, invoice.id, xml)
            warnings = (origin.warnings if origin is not None else ()) + valid.warnings
            if warnings:
                await rule_warnings.insert(tx.conn, invoice.id, warnings)
            await add_attachments(
                tx.conn,
                invoice.id,
                attachments,
                staged_ids=staged_attachment_ids,
                owner_user_id=user_id,
                policy=self._attachment_policy,
                store=self._store,
                at=now,
            )
            if within is not None:
                await within(tx, invoice)
        return invoice

    async def _build(
        self,
        user_id: str,
        supplier_id: str,
        supplier: Recipient | None,
        valid: ValidInvoice,
        *,
        draft: bool,
        origin: FileOrigin | None = None,
        public_directory: bool = False,
    ) -> tuple[Invoice, Recipient]:
        """The invoice as it would be stored, and its recipient: every check of the invoice
        itself but the duplicate number (seller = supplier, recipient, routing, credit note
        reference); nothing written."""
        now = datetime.now(UTC)
        if origin is not None and origin.seller_siret is not None:
            _check_seller(supplier, origin.seller_siret)
        recipient = await self._structures.recipient(valid.recipient, anonymous=public_directory)
        if recipient is None:
            raise RecipientNotFound()
        content = routed(valid.content, recipient, supplier)
        if content.document is not None and (origin is None or origin.seller_siret is None):
            content = replace(
                content,
                document=with_parties(content.document, content, supplier, recipient),
            )
        await self._check_corrected_invoice(content, supplier_id, recipient)
        deposited = not draft
        invoice = Invoice(
            id=str(uuid.uuid4()),
            content=content,
            supplier=StructureRef(supplier_id, supplier.raison_sociale if supplier else ""),
            recipient=StructureRef(recipient.structure_id, recipient.raison_sociale),
            totals=content.totals(),
            status=Status.DEPOSEE if deposited else Status.BROUILLON,
            created_by=user_id,
            created_at=now,
            updated_at=now,
            deposited_by=user_id if deposited else "",
            deposited_at=now if deposited else None,
            deposit_mode=origin.mode if origin is not None else DepositMode.ENTRY,
            flow_number=origin.flow_number if origin is not None else "",
        )
        return invoice, recipient

    async def update_draft(
        self,
        user_id: str,
        invoice_id: str,
        form: InvoiceForm,
        *,
        draft: bool,
        staged_attachment_ids: Sequence[str] = (),
    ) -> Invoice:
        """Replaces a draft's content (same id, history and attachments, the staged files
        added) and keeps it a draft or deposits it (``draft`` False: DEPOSEE, announced, its
        Factur-X queued as at :meth:`submit`). Every check of :meth:`create`; the supplier
        stays the draft's (``supplier_structure_id`` "" or the same).

        InvoiceNotFound (unknown or not visible), AccessDenied (no MODIFICATION on the
        supplier's issued invoices), TransitionNotAllowed (not a draft any more),
        InvalidArgument, InvoiceNumberDuplicate.
        """
        current = await self._access.acting(user_id, invoice_id, Party.SUPPLIER)
        supplier_id = current.supplier.structure_id
        if form.supplier_structure_id.strip() not in ("", supplier_id):
            raise invalid(
                "SUPPLIER_CHANGED",
                "supplier_structure_id",
                "La structure émettrice d'un brouillon ne change pas : créez une autre facture"
                " pour une autre structure.",
            )
        if current.status is not Status.BROUILLON:
            raise lifecycle.TransitionNotAllowed(current.status, Status.BROUILLON)
        valid = validate_invoice(
            replace(form, supplier_structure_id=supplier_id), today=datetime.now(UTC).date()
        )
        supplier = await self._structures.structure(supplier_id)
        built, recipient = await self._build(user_id, supplier_id, supplier, valid, draft=True)
        invoice = replace(
            built,
            id=current.id,
            cpp_id=current.cpp_id,
            created_by=current.created_by,
            created_at=current.created_at,
        )
        xml = None if draft else self._renderer.canonical_xml(invoice, supplier, recipient)
        async with self._uow.transaction() as tx:
            locked = await status_changes.locked(tx, invoice.id)
            if locked.status is not Status.BROUILLON:
                raise lifecycle.TransitionNotAllowed(locked.status, Status.BROUILLON)
            await invoices.update_draft(tx.conn, invoice)
            await add_attachments(
                tx.conn,
                invoice.id,
                (),
                staged_ids=staged_attachment_ids,
                owner_user_id=user_id,
                policy=self._attachment_policy,
                store=self._store,
                at=invoice.updated_at,
            )
            if not draft:
                await status_changes.move(
                    tx,
                    invoice,
                    Status.DEPOSEE,
                    party=Party.SUPPLIER,
                    actor=user_id,
                    at=datetime.now(UTC),
                )
                await self._renderer.queue(tx.conn, invoice.id, xml)
            return await invoices.get(tx.conn, invoice.id)

    async def check_issuer(self, user_id: str, supplier_structure_id: str) -> None:
        """AccessDenied unless the caller may issue invoices for the supplier ("" is left to
        the form's validation). Channels that read a file call it first, so that nobody
        without that right makes the document workers parse anything."""
        supplier_id = supplier_structure_id.strip()
        if supplier_id and not await self._structures.may(
            user_id, supplier_id, SUPPLIER_SPACE, MODIFICATION
        ):
            raise AccessDenied(NOT_ISSUER)

    async def authorize(self, user_id: str, supplier_structure_id: str) -> Issuer:
        """:meth:`check_issuer`, and the supplier as the directory describes it now: the
        decision a flow records so that its files are deposited later without asking again.
        AccessDenied also when structures does not know the supplier."""
        supplier_id = supplier_structure_id.strip()
        await self.check_issuer(user_id, supplier_id)
        supplier = await self._structures.structure(supplier_id) if supplier_id else None
        if supplier is None:
            raise AccessDenied(NOT_ISSUER)
        return Issuer(user_id, supplier_id, supplier)

    async def submit(self, user_id: str, invoice_id: str) -> Invoice:
        """BROUILLON → DEPOSEE, announced by InvoiceSubmitted; the recipient is checked again.

        InvoiceNotFound, AccessDenied, TransitionNotAllowed, InvalidArgument (routing).
        """
        invoice = await self._access.acting(user_id, invoice_id, Party.SUPPLIER)
        lifecycle.transition(invoice.status, Status.DEPOSEE, Party.SUPPLIER)
        recipient = await self._structures.structure(invoice.recipient.structure_id)
        if recipient is None:
            raise RecipientNotFound()
        supplier = await self._structures.structure(invoice.supplier.structure_id)
        routed(invoice.content, recipient, supplier)
        async with self._uow.reading() as conn:
            full = await invoices.get(conn, invoice.id)
        if full is None:  # deleted since
            raise InvoiceNotFound()
        xml = self._renderer.canonical_xml(full, supplier, recipient)
        async with self._uow.transaction() as tx:
            locked = await status_changes.locked(tx, invoice.id)
            await status_changes.move(
                tx,
                locked,
                Status.DEPOSEE,
                party=Party.SUPPLIER,
                actor=user_id,
                at=datetime.now(UTC),
            )
            await self._renderer.queue(tx.conn, invoice.id, xml)
            return await invoices.get(tx.conn, invoice.id)

    async def _check_corrected_invoice(
        self, content: InvoiceContent, supplier_id: str, recipient: Recipient
    ) -> None:
        """A credit note's BT-25, when it names an invoice of this supplier known here, must
        name a deposited invoice (not a draft, not another credit note) to the same recipient.
        An invoice issued before the supplier used the portal is not known: accepted."""
        if content.type is not InvoiceType.AVOIR or not content.preceding_invoice:
            return
        async with self._uow.reading() as conn:
            corrected = await invoices.latest_by_number(
                conn, supplier_id, content.preceding_invoice
            )
        if corrected is None:
            return
        if corrected.content.type is InvoiceType.AVOIR or corrected.status is Status.BROUILLON:
            raise invalid(
                "CREDIT_NOTE_REFERENCE_INVALID",
                "preceding_invoice_number",
                f"« {content.preceding_invoice} » n'est pas une facture déposée : un avoir"
                " corrige une facture (pas un brouillon ni un autre avoir).",
            )
        if corrected.recipient.structure_id != recipient.structure_id:
            raise invalid(
                "CREDIT_NOTE_REFERENCE_INVALID",
                "preceding_invoice_number",
                f"La facture {content.preceding_invoice} a été adressée à"
                f" {corrected.recipient.name} : l'avoir doit l'être au même destinataire.",
            )


class PreAuthorizedDeposits:
    """Deposits for ``issuer`` alone, whose right was decided before (DepositFlow, when the
    archive was deposited): what :class:`StructuredDeposits` asks of :class:`Deposits`
    (``check_issuer``, ``create_valid``) without asking structures about the right again, the
    recorded supplier standing for the directory's, the recipients looked up without a token
    (public structures only). Every check of the invoice itself is the same. For the flow
    worker only: no RPC handler builds or holds one."""

    def __init__(self, deposits: Deposits, issuer: Issuer) -> None:
        self._deposits = deposits
        self._issuer = issuer

    async def check_issuer(self, user_id: str, supplier_structure_id: str) -> None:
        """Passes for the recorded issuer; AccessDenied for anyone or anything else."""
        issuer = self._issuer
        if (user_id, supplier_structure_id.strip()) != (issuer.user_id, issuer.supplier_id):
            raise AccessDenied(NOT_ISSUER)

    async def create_valid(
        self,
        user_id: str,
        valid: ValidInvoice,
        *,
        draft: bool,
        origin: FileOrigin | None = None,
        attachments: Sequence[AttachmentUpload] = (),
        staged_attachment_ids: Sequence[str] = (),
        within: Within | None = None,
    ) -> Invoice:
        """:meth:`Deposits.create_valid` for the recorded issuer (created by them)."""
        await self.check_issuer(user_id, valid.supplier_structure_id)
        issuer = self._issuer
        return await self._deposits._create(  # the module's own: the checks but the right's
            issuer.user_id,
            issuer.supplier_id,
            issuer.supplier,
            valid,
            draft=draft,
            origin=origin,
            attachments=attachments,
            staged_attachment_ids=staged_attachment_ids,
            within=within,
            public_directory=True,
        )


def _check_seller(supplier: Recipient | None, seller_siret: str) -> None:
    """A file must be issued by the supplier structure depositing it (same SIRET)."""
    if supplier is None or supplier.identifier_type != "SIRET":
        return
    if seller_siret != supplier.identifier:
        stated = seller_siret or "aucun SIRET"
        raise invalid(
            "SELLER_MISMATCH",
            "seller",
            f"Le vendeur de la facture ({stated}) n'est pas la structure qui la dépose"
            f" (SIRET {supplier.identifier}) : déposez-la depuis la bonne structure.",
        )


def with_parties(
    document: en16931.Invoice,
    content: InvoiceContent,
    supplier: Recipient | None,
    recipient: Recipient,
) -> en16931.Invoice:
    """A model entered on the portal with its seller and buyer from the directory and its
    routing (BT-10 service code as the recipient spells it, BT-13 engagement)."""
    return replace(
        document,
        seller=seller_of(supplier) if supplier else document.seller,
        buyer=buyer_of(recipient),
        buyer_reference=content.service_code,
        purchase_order_reference=content.engagement_number,
    )
