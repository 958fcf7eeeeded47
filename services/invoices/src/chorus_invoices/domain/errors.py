"""Errors the invoices domain raises; the platform's ErrorInterceptor maps them to gRPC."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chorus_platform.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)

if TYPE_CHECKING:
    from chorus_invoices.domain.lifecycle import Status


class TransitionNotAllowed(FailedPrecondition):
    """The status machine has no such move for this party."""

    def __init__(self, source: Status | None, target: Status) -> None:
        from chorus_invoices.domain.lifecycle import STATUSES  # lifecycle imports this module

        origin = source.value if source else "(création)"
        shown = f"au statut « {STATUSES[source].label} »" if source else "en cours de création"
        super().__init__(
            "INVALID_STATUS_TRANSITION",
            f"Une facture {shown} ne peut pas passer au statut « {STATUSES[target].label} » :"
            " le cycle de vie ne le permet pas.",
            metadata={"from": origin, "to": target.value},
        )


class PaymentStatusNotReported(FailedPrecondition):
    """The recipient structure does not report payment status: only its system may."""

    def __init__(self) -> None:
        super().__init__(
            "PAYMENT_STATUS_NOT_REPORTED",
            "Cette structure ne remonte pas le statut de paiement : la mise en paiement ne peut"
            " pas être saisie sur le portail.",
        )


class RejectionAlreadyAcknowledged(FailedPrecondition):
    def __init__(self) -> None:
        super().__init__(
            "REJECTION_ALREADY_ACKNOWLEDGED", "Le rejet de cette facture a déjà été pris en compte."
        )


class InvoiceNotFound(NotFound):
    """Unknown, or not visible to the caller: both answer the same."""

    def __init__(self) -> None:
        super().__init__("INVOICE_NOT_FOUND", "Facture introuvable.")


class DocumentNotFound(NotFound):
    """The invoice is visible but has no document (a draft, or deposited before documents)."""

    def __init__(self) -> None:
        super().__init__("DOCUMENT_NOT_FOUND", "Cette facture n'a pas encore de document.")


class DocumentsPurged(NotFound):
    """The invoice's documents were deleted at the end of their retention
    (``CHORUS_DOCUMENT_RETENTION_DAYS`` after its last change); the invoice is kept."""

    def __init__(self) -> None:
        super().__init__(
            "DOCUMENTS_PURGED",
            "Les documents de cette facture ont été supprimés au terme de leur durée de"
            " conservation.",
        )


class DocumentInPreparation(Unavailable):
    """The Factur-X PDF of a portal invoice is still being rendered (seconds after its
    deposit): the caller may ask again shortly."""

    def __init__(self) -> None:
        super().__init__(
            "DOCUMENT_IN_PREPARATION",
            "Le PDF de cette facture est en préparation : réessayez dans quelques secondes.",
            metadata={"retry_after_seconds": "2"},
        )


class FacturxRenderingFailed(Unavailable):
    """The Factur-X PDF of a portal invoice could not be rendered at its download (the
    workers failed on it, or overran under load); its XML stays downloadable."""

    def __init__(self) -> None:
        super().__init__(
            "FACTURX_RENDERING_FAILED",
            "Le PDF de cette facture n'a pas pu être produit : réessayez plus tard. Son XML"
            " (CII) reste téléchargeable.",
            metadata={"retry_after_seconds": "30"},
        )


class DocumentCorrupted(DomainError):
    """A document's content no longer matches the size and SHA-256 kept with it when it was
    written (altered or lost in its store): it is never served. Its own kind: not a bug of the
    call (INTERNAL) nor worth retrying at once (UNAVAILABLE); ``api/errors.py`` answers
    DATA_LOSS, and the operator restores the content from a backup."""

    def __init__(self) -> None:
        super().__init__(
            "DOCUMENT_CORRUPTED",
            "Le document de cette facture est illisible (son contenu ne correspond plus à son"
            " empreinte) : il n'est pas servi. L'exploitation en a été alertée.",
        )


class DocumentStoreUnavailable(Unavailable):
    """The object storage keeping documents (``CHORUS_DOCUMENT_STORE=s3``) does not answer
    or refuses: nothing was kept or read, the caller may retry."""

    def __init__(self) -> None:
        super().__init__(
            "DOCUMENT_STORE_UNAVAILABLE",
            "Le stockage des documents est momentanément indisponible : réessayez dans"
            " quelques instants.",
            metadata={"retry_after_seconds": "5"},
        )


class DocumentRoleInvalid(InvalidArgument):
    def __init__(self, role: str) -> None:
        message = f"Type de document inconnu : « {role} » (FACTURX, ORIGINAL ou CII)."
        super().__init__("DOCUMENT_ROLE_INVALID", message, [FieldViolation("role", message)])


class AccessDenied(PermissionDenied):
    def __init__(self, what: str) -> None:
        super().__init__("ACCESS_DENIED", what)


class RecipientNotFound(InvalidArgument):
    """The recipient named (by id or identifier) is not in the directory."""

    def __init__(self) -> None:
        message = "Destinataire introuvable : vérifiez son identifiant (SIRET) dans l'annuaire."
        super().__init__("RECIPIENT_NOT_FOUND", message, [FieldViolation("recipient", message)])


class InvoiceNumberDuplicate(AlreadyExists):
    def __init__(self, number: str, year: int) -> None:
        super().__init__(
            "INVOICE_NUMBER_DUPLICATE",
            f"Le numéro de facture {number} est déjà utilisé par ce fournisseur en {year} :"
            " choisissez un autre numéro.",
            [FieldViolation("number", "Numéro déjà utilisé pour cette année.")],
        )


def invalid(reason: str, field: str, message: str) -> InvalidArgument:
    """A one-field INVALID_ARGUMENT whose violation repeats the message."""
    return InvalidArgument(reason, message, [FieldViolation(field, message)])
