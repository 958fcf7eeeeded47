"""Sollicitations: what a thread is, its statuses, and what may be written in it (pure rules,
no I/O).

A user (the sender, optionally for a structure they belong to) writes to the managers of a
structure or to the platform's support about an invoice or a structure; the other side (the
addressees) answers. OUVERTE while the addressees owe an answer, REPONDUE once they gave one
(the sender writing again makes it OUVERTE), CLOTUREE when either side closes it: no more
messages. Only the sender and the addressees see a sollicitation; to anyone else it does not
exist (SOLLICITATION_NOT_FOUND, as for an unknown id).

Limits: subject 1–200 characters, message 1–10,000, attachments as invoice attachments
(≤ 10 MB each, names ≤ 50 characters, allowed extensions) and, since they travel in one gRPC
message, at most 5 per message and 15 MB together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from chorus_platform.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

SUBJECT_MAX = 200
BODY_MAX = 10_000
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENTS_MAX_BYTES = 15 * 1024 * 1024
ATTACHMENTS_MAX = 5
ATTACHMENT_NAME_MAX = 50
EXTENSIONS = frozenset(
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


class SollicitationStatus(StrEnum):
    OUVERTE = "OUVERTE"
    REPONDUE = "REPONDUE"
    CLOTUREE = "CLOTUREE"


class SollicitationBox(StrEnum):
    EMISES = "EMISES"
    RECUES = "RECUES"


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes

    @property
    def extension(self) -> str:
        return self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else ""

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self.extension, "application/octet-stream")


@dataclass(frozen=True)
class AttachmentInfo:
    id: UUID
    filename: str
    media_type: str
    size: int


@dataclass(frozen=True)
class Message:
    id: UUID
    author_id: UUID
    from_sender: bool
    body: str
    created_at: datetime
    attachments: tuple[AttachmentInfo, ...] = ()


@dataclass(frozen=True)
class Sollicitation:
    id: UUID
    sender_id: UUID
    sender_structure_id: UUID | None
    sender_structure_name: str
    addressee_structure_id: UUID | None
    addressee_structure_name: str
    subject: str
    invoice_id: UUID | None
    invoice_number: str
    object_structure_id: UUID | None
    object_structure_name: str
    status: SollicitationStatus
    created_at: datetime
    updated_at: datetime
    messages: tuple[Message, ...] = field(default=())

    @property
    def to_support(self) -> bool:
        return self.addressee_structure_id is None


@dataclass(frozen=True)
class NewSollicitation:
    """What the sender asks for, checked by :func:`checked_new`."""

    sender_structure_id: UUID | None
    addressee_structure_id: UUID | None
    subject: str
    body: str
    invoice_id: UUID | None
    invoice_number: str
    object_structure_id: UUID | None
    uploads: tuple[Upload, ...]


def _invalid(reason: str, field_name: str, message: str) -> InvalidArgument:
    return InvalidArgument(reason, message, [FieldViolation(field_name, message)])


def checked_subject(subject: str) -> str:
    text = subject.strip()
    if not text:
        raise _invalid("SUBJECT_REQUIRED", "subject", "Indiquez l'objet de votre sollicitation.")
    if len(text) > SUBJECT_MAX:
        raise _invalid(
            "SUBJECT_TOO_LONG",
            "subject",
            f"L'objet ne peut dépasser {SUBJECT_MAX} caractères ({len(text)} saisis).",
        )
    return text


def checked_body(body: str) -> str:
    """The message trimmed, its line ends as ``\n`` (browsers send a textarea's as CRLF)."""
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise _invalid("MESSAGE_REQUIRED", "body", "Écrivez votre message.")
    if len(text) > BODY_MAX:
        raise _invalid(
            "MESSAGE_TOO_LONG",
            "body",
            f"Le message ne peut dépasser {BODY_MAX:,} caractères ({len(text):,} saisis).".replace(
                ",", "\u202f"
            ),
        )
    return text


def _upload_problem(upload: Upload) -> tuple[str, str] | None:
    name = upload.filename
    if not name.strip() or any(c in name for c in "/\\") or not name.isprintable():
        return "ATTACHMENT_NAME_INVALID", f"« {name} » n'est pas un nom de fichier valide."
    if len(name) > ATTACHMENT_NAME_MAX:
        return (
            "ATTACHMENT_NAME_TOO_LONG",
            f"Le nom « {name} » dépasse {ATTACHMENT_NAME_MAX} caractères : raccourcissez-le.",
        )
    if upload.extension not in EXTENSIONS:
        allowed = ", ".join(sorted(EXTENSIONS))
        return (
            "ATTACHMENT_EXTENSION_FORBIDDEN",
            f"« {name} » : type de fichier non accepté (acceptés : {allowed}).",
        )
    if not upload.content:
        return "ATTACHMENT_EMPTY", f"« {name} » est vide."
    if len(upload.content) > ATTACHMENT_MAX_BYTES:
        return "ATTACHMENT_TOO_LARGE", f"« {name} » dépasse {ATTACHMENT_MAX_BYTES // 1024**2} Mo."
    return None


def checked_uploads(uploads: Sequence[Upload]) -> tuple[Upload, ...]:
    """The files when every one may be kept; one InvalidArgument naming each offending file
    (``attachments[i]``) otherwise, with the first problem's reason."""
    if len(uploads) > ATTACHMENTS_MAX:
        raise _invalid(
            "TOO_MANY_ATTACHMENTS",
            "attachments",
            f"Joignez au plus {ATTACHMENTS_MAX} fichiers à un message.",
        )
    problems = []
    for index, upload in enumerate(uploads):
        problem = _upload_problem(upload)
        if problem:
            problems.append((problem[0], FieldViolation(f"attachments[{index}]", problem[1])))
    if problems:
        raise InvalidArgument(
            problems[0][0],
            "Certaines pièces jointes ne sont pas acceptées : " + problems[0][1].description,
            [violation for _, violation in problems],
        )
    if sum(len(u.content) for u in uploads) > ATTACHMENTS_MAX_BYTES:
        raise _invalid(
            "ATTACHMENTS_TOO_LARGE",
            "attachments",
            f"Les pièces jointes d'un message ne peuvent dépasser "
            f"{ATTACHMENTS_MAX_BYTES // 1024**2} Mo au total.",
        )
    return tuple(uploads)


def checked_new(
    *,
    sender_structure_id: UUID | None,
    addressee_structure_id: UUID | None,
    to_support: bool,
    subject: str,
    body: str,
    invoice_id: UUID | None,
    invoice_number: str,
    object_structure_id: UUID | None,
    uploads: Sequence[Upload],
) -> NewSollicitation:
    """A new sollicitation that passed the rules: exactly one addressee (a structure's managers
    or the support: ADDRESSEE_REQUIRED, ADDRESSEE_CONFLICT), an object (an invoice with its
    number, else a structure — by default the addressed one: OBJECT_REQUIRED,
    OBJECT_CONFLICT, INVOICE_NUMBER_REQUIRED), subject, body and files within their limits."""
    if to_support == (addressee_structure_id is not None):
        reason = "ADDRESSEE_CONFLICT" if to_support else "ADDRESSEE_REQUIRED"
        raise _invalid(
            reason,
            "addressee_structure_id",
            "Adressez votre sollicitation soit aux gestionnaires d'une structure, soit au "
            "support de la plateforme.",
        )
    if invoice_id is not None and object_structure_id is not None:
        raise _invalid(
            "OBJECT_CONFLICT",
            "structure_id",
            "Une sollicitation porte sur une facture ou sur une structure, pas les deux.",
        )
    number = invoice_number.strip()
    if invoice_id is not None and not number:
        raise _invalid(
            "INVOICE_NUMBER_REQUIRED", "invoice_number", "Indiquez le numéro de la facture."
        )
    if invoice_id is None:
        number = ""
        object_structure_id = object_structure_id or addressee_structure_id
        if object_structure_id is None:
            raise _invalid(
                "OBJECT_REQUIRED",
                "structure_id",
                "Indiquez la facture ou la structure sur laquelle porte votre sollicitation.",
            )
    return NewSollicitation(
        sender_structure_id=sender_structure_id,
        addressee_structure_id=addressee_structure_id,
        subject=checked_subject(subject),
        body=checked_body(body),
        invoice_id=invoice_id,
        invoice_number=number[:100],
        object_structure_id=object_structure_id,
        uploads=checked_uploads(uploads),
    )


def sollicitation_not_found() -> NotFound:
    return NotFound("SOLLICITATION_NOT_FOUND", "Cette sollicitation est introuvable.")


def attachment_not_found() -> NotFound:
    return NotFound("ATTACHMENT_NOT_FOUND", "Cette pièce jointe est introuvable.")


@dataclass(frozen=True)
class Side:
    """Where the caller stands in a thread: the sender, an addressee, or outside it."""

    is_sender: bool
    is_addressee: bool


def require_party(side: Side) -> Side:
    """The caller's side; SOLLICITATION_NOT_FOUND to someone who is neither sender nor
    addressee (an id alone tells a stranger nothing)."""
    if not (side.is_sender or side.is_addressee):
        raise sollicitation_not_found()
    return side


def require_open(sollicitation: Sollicitation) -> Sollicitation:
    if sollicitation.status is SollicitationStatus.CLOTUREE:
        raise FailedPrecondition(
            "SOLLICITATION_CLOSED",
            "Cette sollicitation est clôturée : écrivez une nouvelle sollicitation si besoin.",
        )
    return sollicitation


def status_after_reply(side: Side) -> SollicitationStatus:
    """The sender writing again waits for an answer (OUVERTE); an addressee's message is the
    answer (REPONDUE). Someone who is both (writing to a structure they manage) answers as
    the sender."""
    return SollicitationStatus.OUVERTE if side.is_sender else SollicitationStatus.REPONDUE


def no_manager() -> FailedPrecondition:
    return FailedPrecondition(
        "STRUCTURE_WITHOUT_MANAGER",
        "Cette structure n'a pas encore de gestionnaire pour vous répondre : écrivez au "
        "support de la plateforme.",
    )


def support_unavailable() -> FailedPrecondition:
    return FailedPrecondition(
        "SUPPORT_UNAVAILABLE",
        "Le support de la plateforme n'est pas configuré : écrivez aux gestionnaires de la "
        "structure concernée.",
    )


_SENDING_REFUSALS = {
    "SPACE_CLOSED": "L'espace « Sollicitations émises » de cette structure est fermé : "
    "demandez à ses gestionnaires de l'ouvrir, ou écrivez en votre nom.",
    "SUBSCRIPTION_REQUIRED": "Vous n'êtes pas abonné à l'espace « Sollicitations émises » de "
    "cette structure : demandez un abonnement à ses gestionnaires, ou écrivez en votre nom.",
    "STRUCTURE_INACTIVE": "Cette structure est désactivée : écrivez en votre nom.",
}


def require_sending_access(decision) -> None:
    """Writing for a structure needs its SOLLICITATIONS_EMISES space in MODIFICATION
    (``decision`` of ``domain.access.decide``); PermissionDenied with its reason otherwise."""
    if decision.allowed:
        return
    message = _SENDING_REFUSALS.get(
        decision.reason, "Vous ne pouvez pas écrire au nom de cette structure."
    )
    raise PermissionDenied(decision.reason, message)


def require_receiving(structure_name: str, space_open: bool) -> None:
    """A structure whose managers closed SOLLICITATIONS_RECUES receives none:
    FailedPrecondition SOLLICITATIONS_NOT_RECEIVED."""
    if not space_open:
        raise FailedPrecondition(
            "SOLLICITATIONS_NOT_RECEIVED",
            f"« {structure_name} » ne reçoit pas de sollicitations (espace fermé par ses "
            "gestionnaires) : écrivez au support de la plateforme.",
        )
