"""Deposit on the portal: create an invoice (draft or deposited) and submit a draft.

Everything is checked before anything is written — shape, the caller's right to issue for the
supplier, the recipient and its routing parameters — so a refused invoice leaves no trace.
A portal invoice entering DEPOSEE gets its Factur-X (rendered in the document workers) in the
same transaction; an invoice read from a structured file (:class:`FileOrigin`) keeps that
file and its EN 16931 warnings instead, and its seller must be the supplier structure; a
plain PDF (no seller stated) keeps the PDF. Attachments of a deposit are kept in the same
transaction too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import asyncpg

from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.documents.content import PartyDetails, party_of
from chorus_invoices.documents.facturx import make_facturx
from chorus_invoices.documents.validation import RuleViolation
from chorus_invoices.documents.workers import DocumentWorkers
from chorus_invoices.domain import lifecycle
from chorus_invoices.domain.attachments import AttachmentPolicy, AttachmentUpload
from chorus_invoices.domain.errors import AccessDenied, InvoiceNotFound, invalid
from chorus_invoices.domain.invoice import Invoice, InvoiceContent, InvoiceType, StructureRef
from chorus_invoices.domain.lifecycle import Party, Status
from chorus_invoices.domain.routing import Recipient, check_routing
from chorus_invoices.domain.validation import InvoiceForm, RecipientRef, validate_invoice
from chorus_invoices.events import status_changes
from chorus_invoices.store import invoices, rule_warnings
from chorus_invoices.store.documents import (
    Document,
    DocumentRole,
    DocumentStore,
    PostgresDocumentStore,
    new_document,
)
from chorus_invoices.usecases.access import (
    MODIFICATION,
    NOT_ISSUER,
    SUPPLIER_SPACE,
    InvoiceAccess,
    parse_invoice_id,
)
from chorus_invoices.usecases.attachments import add_attachments

_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class FileOrigin:
    """An invoice read from a deposited file (structured, or a plain PDF)."""

    document: Document
    seller_siret: str | None
    """BT-30 (scheme 0009) as the file states it; None for a file stating no seller (a plain
    PDF, whose data the depositor typed in)."""
    warnings: tuple[RuleViolation, ...] = ()


class Deposits:
    def __init__(
        self,
        pool: asyncpg.Pool,
        structures: StructuresClient,
        workers: DocumentWorkers | None = None,
        store: DocumentStore | None = None,
        attachment_policy: AttachmentPolicy | None = None,
    ) -> None:
        """``workers`` render the Factur-X of portal deposits (None: no rendering)."""
        self._pool = pool
        self._structures = structures
        self._access = InvoiceAccess(structures)
        self._workers = workers
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
    ) -> Invoice:
        """Stores a new invoice as BROUILLON (draft) or DEPOSEE (announced by InvoiceSubmitted),
        with ``attachments`` and the files the caller staged under ``staged_attachment_ids``
        kept in the same transaction (the staged files are then forgotten).

        InvalidArgument (shape, recipient, routing, SELLER_MISMATCH for a file whose seller is
        not the supplier, ATTACHMENT_* / ATTACHMENTS_TOO_LARGE, STAGED_ATTACHMENT_UNKNOWN),
        AccessDenied, InvoiceNumberDuplicate.
        """
        now = datetime.now(UTC)
        valid = validate_invoice(form, today=now.date())
        supplier_id = valid.supplier_structure_id
        await self.check_issuer(user_id, supplier_id)
        supplier = await self._structures.structure(supplier_id)
        if origin is not None and origin.seller_siret is not None:
            _check_seller(supplier, origin.seller_siret)
        recipient = await self._recipient(valid.recipient)
        content = self._routed(valid.content, recipient, supplier)
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
        )
        if origin is not None:
            documents = [origin.document]
        elif deposited:
            documents = await self._facturx(invoice, supplier, recipient)
        else:
            documents = []
        # Stamped when written, not when received: the rendering above may have waited for a
        # document worker, and lists page by creation time.
        now = datetime.now(UTC)
        invoice = replace(
            invoice, created_at=now, updated_at=now, deposited_at=now if deposited else None
        )
        async with self._pool.acquire() as conn, conn.transaction():
            await status_changes.record_new(conn, invoice, actor=user_id)
            for document in documents:
                await self._store.put(conn, invoice.id, document)
            if origin is not None and origin.warnings:
                await rule_warnings.insert(conn, invoice.id, origin.warnings)
            await add_attachments(
                conn,
                invoice.id,
                attachments,
                staged_ids=staged_attachment_ids,
                owner_user_id=user_id,
                policy=self._attachment_policy,
                store=self._store,
                at=now,
            )
        return invoice

    async def check_issuer(self, user_id: str, supplier_structure_id: str) -> None:
        """AccessDenied unless the caller may issue invoices for the supplier ("" is left to
        the form's validation). Channels that read a file call it first, so that nobody
        without that right makes the document workers parse anything."""
        supplier_id = supplier_structure_id.strip()
        if supplier_id and not await self._structures.may(
            user_id, supplier_id, SUPPLIER_SPACE, MODIFICATION
        ):
            raise AccessDenied(NOT_ISSUER)

    async def submit(self, user_id: str, invoice_id: str) -> Invoice:
        """BROUILLON → DEPOSEE, announced by InvoiceSubmitted; the recipient is checked again.

        InvoiceNotFound, AccessDenied, TransitionNotAllowed, InvalidArgument (routing).
        """
        invoice_id = parse_invoice_id(invoice_id)
        async with self._pool.acquire() as conn:
            invoice = await invoices.get(conn, invoice_id, details=False)
        if invoice is None or not await self._access.can_see(user_id, invoice):
            raise InvoiceNotFound()
        if not await self._access.acts_as(user_id, invoice, Party.SUPPLIER, MODIFICATION):
            raise AccessDenied(NOT_ISSUER)
        lifecycle.transition(invoice.status, Status.DEPOSEE, Party.SUPPLIER)
        recipient = await self._structures.structure(invoice.recipient.structure_id)
        if recipient is None:
            raise _recipient_not_found()
        supplier = await self._structures.structure(invoice.supplier.structure_id)
        self._routed(invoice.content, recipient, supplier)
        async with self._pool.acquire() as conn:
            full = await invoices.get(conn, invoice_id)
        documents = await self._facturx(full, supplier, recipient)
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await invoices.get(conn, invoice_id, lock=True, details=False)
            await status_changes.move(
                conn,
                locked,
                Status.DEPOSEE,
                party=Party.SUPPLIER,
                actor=user_id,
                at=datetime.now(UTC),
            )
            for document in documents:
                await self._store.put(conn, invoice_id, document)
            return await invoices.get(conn, invoice_id)

    async def recycle(
        self,
        user_id: str,
        invoice_id: str,
        *,
        recipient_structure_id: str,
        service_code: str,
        engagement_number: str,
    ) -> Invoice:
        """A_RECYCLER → DEPOSEE to a corrected recipient / service / engagement, same number,
        announced by InvoiceSubmitted (so it is routed again). ``""`` keeps the current value
        (the service code only when the recipient stays). The recipient and routing checks are
        those of a deposit. InvoiceNotFound, AccessDenied, TransitionNotAllowed,
        InvalidArgument (recipient, routing).
        """
        invoice_id = parse_invoice_id(invoice_id)
        async with self._pool.acquire() as conn:
            invoice = await invoices.get(conn, invoice_id, details=False)
        if invoice is None or not await self._access.can_see(user_id, invoice):
            raise InvoiceNotFound()
        if not await self._access.acts_as(user_id, invoice, Party.SUPPLIER, MODIFICATION):
            raise AccessDenied(NOT_ISSUER)
        lifecycle.transition(invoice.status, Status.DEPOSEE, Party.SUPPLIER)
        current = invoice.recipient.structure_id
        target_id = recipient_structure_id or current
        recipient = await self._recipient(RecipientRef(structure_id=target_id))
        supplier = await self._structures.structure(invoice.supplier.structure_id)
        kept_service = invoice.content.service_code if target_id == current else ""
        content = self._routed(
            replace(
                invoice.content,
                service_code=service_code or kept_service,
                engagement_number=engagement_number or invoice.content.engagement_number,
            ),
            recipient,
            supplier,
        )
        documents = await self._rerendered(invoice_id, content, recipient, supplier)
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await invoices.get(conn, invoice_id, lock=True, details=False)
            readdressed = replace(
                locked,
                content=replace(
                    locked.content,
                    service_code=content.service_code,
                    engagement_number=content.engagement_number,
                ),
                recipient=StructureRef(recipient.structure_id, recipient.raison_sociale),
            )
            await invoices.save_routing(conn, readdressed)
            for document in documents:
                await self._store.put(conn, invoice_id, document)
            await status_changes.move(
                conn,
                readdressed,
                Status.DEPOSEE,
                party=Party.SUPPLIER,
                actor=user_id,
                at=datetime.now(UTC),
            )
            return await invoices.get(conn, invoice_id)

    async def _rerendered(
        self,
        invoice_id: str,
        content: InvoiceContent,
        recipient: Recipient,
        supplier: Recipient | None,
    ) -> list[Document]:
        """A recycled portal invoice's Factur-X made again for its new buyer, service (BT-10)
        and engagement (BT-13), replacing the old one; [] for an invoice deposited as a file,
        whose document is the supplier's own and stays as it was."""
        async with self._pool.acquire() as conn:
            roles = {info.role for info in await self._store.infos(conn, invoice_id)}
            if DocumentRole.FACTURX not in roles:
                return []
            full = await invoices.get(conn, invoice_id)
        readdressed = replace(
            full,
            content=replace(
                full.content,
                service_code=content.service_code,
                engagement_number=content.engagement_number,
            ),
            recipient=StructureRef(recipient.structure_id, recipient.raison_sociale),
        )
        return await self._facturx(readdressed, supplier, recipient)

    async def _facturx(
        self, invoice: Invoice, supplier: Recipient | None, recipient: Recipient
    ) -> list[Document]:
        """The invoice's Factur-X, rendered in a worker process ([] without workers)."""
        if self._workers is None:
            return []
        seller = party_of(supplier) if supplier else PartyDetails(invoice.supplier.name)
        facturx = await self._workers.run(
            make_facturx, invoice.content, seller, party_of(recipient)
        )
        name = _FILENAME_UNSAFE.sub("-", invoice.content.number)
        return [
            new_document(
                str(uuid.uuid4()),
                DocumentRole.FACTURX,
                f"facture-{name}.pdf",
                "application/pdf",
                facturx.pdf,
                datetime.now(UTC),
            )
        ]

    async def _check_corrected_invoice(
        self, content: InvoiceContent, supplier_id: str, recipient: Recipient
    ) -> None:
        """A credit note's BT-25, when it names an invoice of this supplier known here, must
        name a deposited invoice (not a draft, not another credit note) to the same recipient.
        An invoice issued before the supplier used the portal is not known: accepted."""
        if content.type is not InvoiceType.AVOIR or not content.preceding_invoice:
            return
        async with self._pool.acquire() as conn:
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

    async def _recipient(self, ref: RecipientRef) -> Recipient:
        if ref.structure_id:
            recipient = await self._structures.structure(ref.structure_id)
        else:
            recipient = await self._structures.find(ref.identifier_type, ref.identifier)
        if recipient is None:
            raise _recipient_not_found()
        return recipient

    @staticmethod
    def _routed(
        content: InvoiceContent, recipient: Recipient, supplier: Recipient | None
    ) -> InvoiceContent:
        """``content`` with the service code as the recipient spells it; InvalidArgument for
        the first routing rule broken (the supplier's kind decides reserved services)."""
        service_code = check_routing(
            recipient,
            content.service_code,
            content.engagement_number,
            supplier_public=bool(supplier and supplier.public),
        )
        return replace(content, service_code=service_code)


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


def _recipient_not_found():
    return invalid(
        "RECIPIENT_NOT_FOUND",
        "recipient",
        "Destinataire introuvable : vérifiez son identifiant (SIRET) dans l'annuaire.",
    )
