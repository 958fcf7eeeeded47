"""Errors of the notifications domain."""

from __future__ import annotations

from chorus_platform.errors import FieldViolation, InvalidArgument, NotFound


class FeedItemNotFound(NotFound):
    """The feed item does not exist or belongs to someone else (the two are not told apart)."""

    def __init__(self) -> None:
        super().__init__("FEED_ITEM_NOT_FOUND", "Cet élément du fil d'événements est introuvable.")


class FeedItemIdRequired(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "FEED_ITEM_ID_REQUIRED",
            "Indiquez l'identifiant de l'élément du fil d'événements.",
            [FieldViolation("item_id", "L'identifiant est obligatoire.")],
        )


class PageTokenInvalid(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "PAGE_TOKEN_INVALID",
            "Le jeton de page est invalide ; relancez la liste depuis la première page.",
            [FieldViolation("page_token", "Jeton de page inconnu ou altéré.")],
        )


class PageSizeInvalid(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(
            "PAGE_SIZE_INVALID",
            "La taille de page doit être un nombre positif (100 au plus).",
            [FieldViolation("page_size", "Indiquez un nombre entre 1 et 100, ou 0 pour 20.")],
        )


class RecipientNotKnownYet(Exception):
    """An event names a user absent from the recipients projection.

    Raised from an event handler so that the consumer retries: the projection (fed by
    ``UserRegistered`` on another topic) may lag behind. After the retries the event goes to
    the dead-letter topic and can be replayed.
    """

    def __init__(self, user_id: str) -> None:
        super().__init__(f"recipient {user_id} not known yet")
        self.user_id = user_id


class ManagersNotKnownYet(Exception):
    """An event is for a structure's managers and none is projected yet (structures'
    membership events arrive on another topic): retried, then dead-lettered and replayable,
    like :class:`RecipientNotKnownYet`."""

    def __init__(self, structure_id: str) -> None:
        super().__init__(f"managers of structure {structure_id} not known yet")
        self.structure_id = structure_id


class PreferenceKindUnknown(InvalidArgument):
    """A preference names a kind that does not exist or cannot be switched off."""

    def __init__(self, kinds: list[str]) -> None:
        super().__init__(
            "PREFERENCE_KIND_UNKNOWN",
            "Ce type de notification n'existe pas ou ne peut pas être désactivé.",
            [
                FieldViolation(f"email.{kind}", "Type inconnu ou obligatoire (sécurité du compte).")
                for kind in kinds
            ],
        )


class DigestFrequencyUnknown(InvalidArgument):
    """An invoice e-mail frequency other than immediate, hourly or daily."""

    def __init__(self) -> None:
        super().__init__(
            "DIGEST_FREQUENCY_UNKNOWN",
            "Cette fréquence d'envoi des e-mails de factures n'existe pas.",
            [
                FieldViolation(
                    "invoice_email_frequency",
                    "Choisissez l'envoi immédiat, un résumé par heure ou un résumé par jour.",
                )
            ],
        )
