"""What the membership notifications say (structures' events): attachment requests and their
decisions, direct attachment, role changes, principal transfer, space subscriptions.

Pure functions of event facts; roles and spaces arrive as codes (``GESTIONNAIRE_SECONDAIRE``,
``ENGAGEMENTS``) and are worded here.
"""

from __future__ import annotations

from chorus_notifications.domain.kinds import NotificationKind
from chorus_notifications.domain.labels import role_phrase
from chorus_notifications.domain.messages import EmailDraft, FeedDraft, email_draft, feed_draft
from chorus_notifications.domain.recipients import DEFAULT_LOCALE

SPACE_LABELS = {
    "fr": {
        "FACTURES_EMISES": "Factures émises",
        "FACTURES_RECUES": "Factures reçues",
        "SOLLICITATIONS_EMISES": "Sollicitations émises",
        "SOLLICITATIONS_RECUES": "Sollicitations reçues",
        "ACTIVITES_GESTIONNAIRE": "Activités du gestionnaire",
        "MON_COMPTE": "Mon compte",
        "ENGAGEMENTS": "Engagements",
        "FACTURES_TRAVAUX": "Factures de travaux",
        "FACTURES_A_VALIDER": "Factures à valider",
        "SUIVI_FLUX": "Suivi des flux",
        "MEMOIRES_FRAIS_JUSTICE": "Mémoires de frais de justice",
        "REMBOURSEMENT_TIC": "Remboursement TIC",
    },
    "en": {
        "FACTURES_EMISES": "Issued invoices",
        "FACTURES_RECUES": "Received invoices",
        "SOLLICITATIONS_EMISES": "Issued requests",
        "SOLLICITATIONS_RECUES": "Received requests",
        "ACTIVITES_GESTIONNAIRE": "Manager activities",
        "MON_COMPTE": "My account",
        "ENGAGEMENTS": "Commitments",
        "FACTURES_TRAVAUX": "Works invoices",
        "FACTURES_A_VALIDER": "Invoices to approve",
        "SUIVI_FLUX": "Flow tracking",
        "MEMOIRES_FRAIS_JUSTICE": "Legal costs statements",
        "REMBOURSEMENT_TIC": "TIC refunds",
    },
}
MODE_LABELS = {
    "fr": {"CONSULTATION": "consultation", "MODIFICATION": "modification"},
    "en": {"CONSULTATION": "read-only", "MODIFICATION": "read-write"},
}


def space_label(space: str, locale: str = DEFAULT_LOCALE) -> str:
    """``"ENGAGEMENTS"`` → ``"Engagements"``; an unknown code still reads."""
    labels = SPACE_LABELS.get(locale, SPACE_LABELS[DEFAULT_LOCALE])
    return labels.get(space, space.replace("_", " ").capitalize())


def _mode_label(mode: str, locale: str) -> str:
    return MODE_LABELS.get(locale, MODE_LABELS[DEFAULT_LOCALE]).get(mode, mode.lower())


def _person(first_name: str, last_name: str) -> str:
    return " ".join(part for part in (first_name, last_name) if part)


def attachment_requested_email(
    *,
    first_name: str,
    requester_name: str,
    requester_email: str,
    structure_name: str,
    comment: str,
    requests_url: str,
    locale: str,
) -> EmailDraft:
    """To each manager: someone asks to join the structure."""
    context = {
        "first_name": first_name,
        "requester_name": requester_name,
        "requester_email": requester_email,
        "structure_name": structure_name,
        "comment": comment.strip(),
        "requests_url": requests_url,
    }
    kind = NotificationKind.ATTACHMENT_REQUESTED
    return email_draft(kind, "attachment_requested", locale, context)


def attachment_requested_feed(
    *, requester_name: str, structure_name: str, link: str, locale: str
) -> FeedDraft:
    context = {"requester_name": requester_name, "structure_name": structure_name}
    kind = NotificationKind.ATTACHMENT_REQUESTED
    return feed_draft(kind, "attachment_requested", locale, context, link)


def _decision_context(accepted: bool, role: str, structure_name: str, comment: str, locale: str):
    return {
        "accepted": accepted,
        "role_phrase": role_phrase(role, locale) if accepted and role else "",
        "structure_name": structure_name,
        "comment": comment.strip(),
    }


def attachment_decided_email(
    *,
    first_name: str,
    accepted: bool,
    role: str,
    structure_name: str,
    comment: str,
    structure_url: str,
    locale: str,
) -> EmailDraft:
    """To the requester: accepted (with the role) or refused (with the manager's comment)."""
    context = {
        **_decision_context(accepted, role, structure_name, comment, locale),
        "first_name": first_name,
        "structure_url": structure_url,
    }
    return email_draft(NotificationKind.ATTACHMENT_DECIDED, "attachment_decided", locale, context)


def attachment_decided_feed(
    *, accepted: bool, role: str, structure_name: str, comment: str, link: str, locale: str
) -> FeedDraft:
    context = _decision_context(accepted, role, structure_name, comment, locale)
    return feed_draft(
        NotificationKind.ATTACHMENT_DECIDED, "attachment_decided", locale, context, link
    )


def member_attached_email(
    *, first_name: str, role: str, structure_name: str, structure_url: str, locale: str
) -> EmailDraft:
    """To a user a manager attached directly."""
    context = {
        "first_name": first_name,
        "role_phrase": role_phrase(role, locale),
        "structure_name": structure_name,
        "structure_url": structure_url,
    }
    return email_draft(NotificationKind.MEMBER_ADDED, "member_attached", locale, context)


def role_changed_email(
    *,
    first_name: str,
    previous_role: str,
    role: str,
    structure_name: str,
    structure_url: str,
    locale: str,
) -> EmailDraft:
    context = {
        "first_name": first_name,
        "previous_role_phrase": role_phrase(previous_role, locale),
        "role_phrase": role_phrase(role, locale),
        "structure_name": structure_name,
        "structure_url": structure_url,
    }
    return email_draft(NotificationKind.ROLE_CHANGED, "role_changed", locale, context)


def role_changed_feed(*, role: str, structure_name: str, link: str, locale: str) -> FeedDraft:
    context = {"role_phrase": role_phrase(role, locale), "structure_name": structure_name}
    return feed_draft(NotificationKind.ROLE_CHANGED, "role_changed", locale, context, link)


def principal_transferred_email(
    *,
    first_name: str,
    is_new_principal: bool,
    other_name: str,
    structure_name: str,
    structure_url: str,
    locale: str,
) -> EmailDraft:
    """To the new principal ("vous êtes désormais…") and to the previous one."""
    context = {
        "first_name": first_name,
        "is_new_principal": is_new_principal,
        "other_name": other_name,
        "structure_name": structure_name,
        "structure_url": structure_url,
    }
    kind = NotificationKind.PRINCIPAL_TRANSFERRED
    return email_draft(kind, "principal_transferred", locale, context)


def principal_transferred_feed(
    *, is_new_principal: bool, other_name: str, structure_name: str, link: str, locale: str
) -> FeedDraft:
    context = {
        "is_new_principal": is_new_principal,
        "other_name": other_name,
        "structure_name": structure_name,
    }
    kind = NotificationKind.PRINCIPAL_TRANSFERRED
    return feed_draft(kind, "principal_transferred", locale, context, link)


def subscription_requested_feed(
    *, requester_name: str, space: str, mode: str, structure_name: str, link: str, locale: str
) -> FeedDraft:
    context = {
        "requester_name": requester_name,
        "space_label": space_label(space, locale),
        "mode_label": _mode_label(mode, locale),
        "structure_name": structure_name,
    }
    kind = NotificationKind.SUBSCRIPTION_REQUESTED
    return feed_draft(kind, "subscription_requested", locale, context, link)


def _subscription_context(accepted, space, mode, structure_name, comment, locale) -> dict:
    return {
        "accepted": accepted,
        "space_label": space_label(space, locale),
        "mode_label": _mode_label(mode, locale),
        "structure_name": structure_name,
        "comment": comment.strip(),
    }


def subscription_decided_email(
    *,
    first_name: str,
    accepted: bool,
    space: str,
    mode: str,
    structure_name: str,
    comment: str,
    structure_url: str,
    locale: str,
) -> EmailDraft:
    context = {
        **_subscription_context(accepted, space, mode, structure_name, comment, locale),
        "first_name": first_name,
        "structure_url": structure_url,
    }
    kind = NotificationKind.SUBSCRIPTION_DECIDED
    return email_draft(kind, "subscription_decided", locale, context)


def subscription_decided_feed(
    *,
    accepted: bool,
    space: str,
    mode: str,
    structure_name: str,
    comment: str,
    link: str,
    locale: str,
) -> FeedDraft:
    context = _subscription_context(accepted, space, mode, structure_name, comment, locale)
    kind = NotificationKind.SUBSCRIPTION_DECIDED
    return feed_draft(kind, "subscription_decided", locale, context, link)


def member_detached_feed(*, structure_name: str, link: str, locale: str) -> FeedDraft:
    context = {"structure_name": structure_name}
    return feed_draft(NotificationKind.MEMBER_DETACHED, "member_detached", locale, context, link)


def person_name(first_name: str, last_name: str, fallback: str) -> str:
    """``"Pierre Martin"``, or ``fallback`` when identity told us no name."""
    return _person(first_name, last_name) or fallback
