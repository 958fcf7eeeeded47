"""An invoice's documents: its Factur-X or deposited file, and its attachments.

A document is addressed by (invoice, role), attachments by id; :class:`DocumentInfo` is what
is shown of one without its content. Its file name is always a safe one
(:func:`~chorus_invoices.domain.filenames.safe_filename`: never ``..``, a path, a control
character), whatever name it was sent with. Where contents are kept is the store's business
(:mod:`chorus_invoices.store.documents`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chorus_invoices.domain.filenames import safe_filename


class DocumentRole(StrEnum):
    FACTURX = "FACTURX"
    """Generated from a portal entry: PDF/A-3 with its CII XML."""
    ORIGINAL = "ORIGINAL"
    """The structured file (UBL, CII, Factur-X) as the supplier deposited it."""
    ATTACHMENT = "ATTACHMENT"
    """A supporting file; any number per invoice, addressed by id."""
    CII = "CII"
    """The canonical CII XML (EN 16931) of a portal invoice: written at deposit, the XML its
    Factur-X embeds (the FACTURX document follows, rendered off the request path)."""


# The name of a document whose own name leaves nothing safe (``..``, control characters).
FALLBACK_FILENAMES = {
    DocumentRole.FACTURX: "facture.pdf",
    DocumentRole.ORIGINAL: "facture",
    DocumentRole.ATTACHMENT: "piece-jointe",
    DocumentRole.CII: "facture.xml",
}

# Which document GET …/document serves when an invoice has several.
MAIN_ROLES = (DocumentRole.FACTURX, DocumentRole.ORIGINAL)

# The documents only a portal invoice has (its XML first, its Factur-X once rendered).
PORTAL_ROLES = frozenset({DocumentRole.CII, DocumentRole.FACTURX})

# What GetInvoiceDocument serves when asked for one role (attachments go by id).
DOWNLOADABLE_ROLES = (DocumentRole.FACTURX, DocumentRole.ORIGINAL, DocumentRole.CII)


@dataclass(frozen=True)
class DocumentInfo:
    id: str
    role: DocumentRole
    filename: str
    media_type: str
    size: int
    sha256: str
    created_at: datetime


@dataclass(frozen=True)
class Document:
    info: DocumentInfo
    content: bytes


def new_document(
    document_id: str,
    role: DocumentRole,
    filename: str,
    media_type: str,
    content: bytes,
    at: datetime,
) -> Document:
    info = DocumentInfo(
        document_id,
        role,
        safe_filename(filename, FALLBACK_FILENAMES[role]),
        media_type,
        len(content),
        hashlib.sha256(content).hexdigest(),
        at,
    )
    return Document(info, content)
