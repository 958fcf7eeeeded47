"""Attachments to an invoice: what a file must be to be kept (pure rules, no I/O), and the
files staged ahead of the call that uses them (:class:`StagedAttachment`).

≤ 10 MB each, ≤ 120 MB for all of an invoice's attachments together, names of 1 to 50
characters without directory part, extensions from an allowed list. A refusal is one
InvalidArgument naming every offending file (``attachments[i]``), with the first problem's
reason: ATTACHMENT_NAME_INVALID, ATTACHMENT_NAME_TOO_LONG, ATTACHMENT_EXTENSION_FORBIDDEN,
ATTACHMENT_EMPTY, ATTACHMENT_TOO_LARGE, ATTACHMENTS_TOO_LARGE (the invoice's total).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from chorus_platform.errors import FieldViolation, InvalidArgument

DEFAULT_EXTENSIONS = frozenset(
    {"pdf", "jpg", "jpeg", "png", "xml", "csv", "xlsx", "docx", "odt", "ods", "txt", "zip"}
)
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "xml": "application/xml",
    "csv": "text/csv",
    "txt": "text/plain",
    "zip": "application/zip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}


@dataclass(frozen=True)
class AttachmentPolicy:
    max_bytes: int = 10 * 1024 * 1024
    max_total_bytes: int = 120 * 1024 * 1024
    max_name: int = 50
    extensions: frozenset[str] = DEFAULT_EXTENSIONS


@dataclass(frozen=True)
class AttachmentUpload:
    filename: str
    content: bytes

    @property
    def extension(self) -> str:
        return self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else ""

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self.extension, "application/octet-stream")


def check_attachments(
    uploads: Sequence[AttachmentUpload],
    already_bytes: int,
    policy: AttachmentPolicy,
    *,
    fields: Sequence[str] | None = None,
) -> None:
    """InvalidArgument unless every upload may be kept next to ``already_bytes`` of others;
    violations name ``fields[i]`` (default ``attachments[i]``)."""
    problems: list[tuple[str, FieldViolation]] = []
    for index, upload in enumerate(uploads):
        field = fields[index] if fields is not None else f"attachments[{index}]"
        name = upload.filename
        if not name.strip() or any(c in name for c in "/\\") or not name.isprintable():
            problem = ("ATTACHMENT_NAME_INVALID", f"« {name} » n'est pas un nom de fichier valide.")
        elif len(name) > policy.max_name:
            problem = (
                "ATTACHMENT_NAME_TOO_LONG",
                f"Le nom « {name} » dépasse {policy.max_name} caractères : raccourcissez-le.",
            )
        elif upload.extension not in policy.extensions:
            allowed = ", ".join(sorted(policy.extensions))
            problem = (
                "ATTACHMENT_EXTENSION_FORBIDDEN",
                f"« {name} » : type de fichier non accepté (acceptés : {allowed}).",
            )
        elif not upload.content:
            problem = ("ATTACHMENT_EMPTY", f"« {name} » est vide.")
        elif len(upload.content) > policy.max_bytes:
            problem = (
                "ATTACHMENT_TOO_LARGE",
                f"« {name} » dépasse {policy.max_bytes // 1024**2} Mo.",
            )
        else:
            continue
        problems.append((problem[0], FieldViolation(field, problem[1])))
    if problems:
        raise InvalidArgument(
            problems[0][0],
            "Certaines pièces jointes ne sont pas acceptées : " + problems[0][1].description,
            [violation for _, violation in problems],
        )
    total = already_bytes + sum(len(u.content) for u in uploads)
    if total > policy.max_total_bytes:
        message = (
            f"Les pièces jointes d'une facture ne peuvent dépasser"
            f" {policy.max_total_bytes // 1024**2} Mo au total."
        )
        raise InvalidArgument(
            "ATTACHMENTS_TOO_LARGE", message, [FieldViolation("attachments", message)]
        )


@dataclass(frozen=True)
class StagedAttachment:
    """A file uploaded ahead of the deposit or completion that names it (StageAttachment):
    its uploader's only, usable once, until ``expires_at``."""

    id: str
    owner_user_id: str
    filename: str
    media_type: str
    size: int
    sha256: str
    created_at: datetime
    expires_at: datetime
    cpp_id: int = 0
    """Its integer id (Chorus Pro ``pieceJointeId``), given when it is stored; deposits accept
    it, as a decimal string, wherever they take ``id``."""
