"""Human wording of codes: invoice statuses, membership roles, amounts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from chorus_notifications.domain.recipients import DEFAULT_LOCALE

INVOICE_STATUS_LABELS = {
    "fr": {
        "BROUILLON": "brouillon",
        "DEPOSEE": "déposée",
        "EN_COURS_ACHEMINEMENT": "en cours d'acheminement",
        "MISE_A_DISPOSITION": "mise à disposition du destinataire",
        "PRISE_EN_COMPTE_DESTINATAIRE": "prise en compte par le destinataire",
        "SERVICE_FAIT": "service fait",
        "MANDATEE": "mandatée",
        "MISE_A_DISPOSITION_COMPTABLE": "mise à disposition du comptable",
        "COMPTABILISEE": "comptabilisée",
        "MISE_EN_PAIEMENT": "mise en paiement",
        "SUSPENDUE": "suspendue",
        "COMPLETEE": "complétée",
        "A_RECYCLER": "à recycler",
        "REJETEE": "rejetée",
    },
    "en": {
        "BROUILLON": "draft",
        "DEPOSEE": "submitted",
        "EN_COURS_ACHEMINEMENT": "being routed",
        "MISE_A_DISPOSITION": "made available to the recipient",
        "PRISE_EN_COMPTE_DESTINATAIRE": "acknowledged by the recipient",
        "SERVICE_FAIT": "service rendered",
        "MANDATEE": "payment ordered",
        "MISE_A_DISPOSITION_COMPTABLE": "made available to the public accountant",
        "COMPTABILISEE": "recorded in the accounts",
        "MISE_EN_PAIEMENT": "payment initiated",
        "SUSPENDUE": "suspended",
        "COMPLETEE": "completed",
        "A_RECYCLER": "to be recycled",
        "REJETEE": "rejected",
    },
}

# Roles are only ever shown in a sentence, hence whole phrases (elision: "qu'utilisateur").
ROLE_PHRASES = {
    "fr": {
        "GESTIONNAIRE_PRINCIPAL": "en tant que gestionnaire principal",
        "GESTIONNAIRE_SECONDAIRE": "en tant que gestionnaire secondaire",
        "UTILISATEUR": "en tant qu'utilisateur",
        "COMPTE_TECHNIQUE": "en tant que compte technique",
    },
    "en": {
        "GESTIONNAIRE_PRINCIPAL": "as principal manager",
        "GESTIONNAIRE_SECONDAIRE": "as secondary manager",
        "UTILISATEUR": "as a user",
        "COMPTE_TECHNIQUE": "as a technical account",
    },
}
_ROLE_PHRASE_FALLBACK = {"fr": "en tant que {}", "en": "as {}"}


def invoice_status_label(status: str, locale: str = DEFAULT_LOCALE) -> str:
    """``"MISE_A_DISPOSITION"`` → ``"mise à disposition du destinataire"``."""
    labels = INVOICE_STATUS_LABELS.get(locale, INVOICE_STATUS_LABELS[DEFAULT_LOCALE])
    # A status added to the contract after this table still reads, if less nicely.
    return labels.get(status, status.replace("_", " ").lower())


def role_phrase(role: str, locale: str = DEFAULT_LOCALE) -> str:
    """``"UTILISATEUR"`` → ``"en tant qu'utilisateur"``."""
    phrases = ROLE_PHRASES.get(locale, ROLE_PHRASES[DEFAULT_LOCALE])
    if role in phrases:
        return phrases[role]
    fallback = _ROLE_PHRASE_FALLBACK.get(locale, _ROLE_PHRASE_FALLBACK[DEFAULT_LOCALE])
    return fallback.format(role.replace("_", " ").lower())


def format_amount(amount: str, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """``"1234.5", "EUR"`` → ``"1 234,50 EUR"`` in French, ``"1,234.50 EUR"`` in English.

    An amount that is not a decimal number is shown as received.
    """
    try:
        value = Decimal(amount).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return f"{amount} {currency}".strip()
    english = f"{value:,.2f}"
    if locale == "en":
        return f"{english} {currency}".strip()
    # French: narrow no-break space between thousands, decimal comma.
    number = english.replace(",", "\u202f").replace(".", ",")
    return f"{number} {currency}".strip()
