"""What a notification is about; the kind names e-mails, feed items and (later) preferences."""

from __future__ import annotations

from enum import StrEnum


class NotificationKind(StrEnum):
    """Stable kind codes, stored in ``emails.kind`` and ``feed_items.kind`` and shown by the API.

    User preferences (e-mail on/off per kind) key on these codes; account security
    messages such as ``ACCOUNT_ACTIVATION`` stay mandatory (``domain/preferences.py``).
    """

    ACCOUNT_ACTIVATION = "ACCOUNT_ACTIVATION"
    ACCOUNT_ACTIVATED = "ACCOUNT_ACTIVATED"
    INVOICE_SUBMITTED = "INVOICE_SUBMITTED"
    INVOICE_STATUS_CHANGED = "INVOICE_STATUS_CHANGED"
    # To the recipient structure's users when an invoice is made available to them.
    INVOICE_RECEIVED = "INVOICE_RECEIVED"
    # To the recipient structure's users when the supplier completes a suspended invoice.
    INVOICE_COMPLETED = "INVOICE_COMPLETED"
    # The hourly or daily digest of the three invoice kinds above, for users who chose one
    # (domain/digests.py); not a preference of its own.
    INVOICE_DIGEST = "INVOICE_DIGEST"
    MEMBER_ADDED = "MEMBER_ADDED"
    # Account security (identity's events); meant to stay mandatory like ACCOUNT_ACTIVATION.
    PASSWORD_RESET = "PASSWORD_RESET"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    EMAIL_VERIFICATION = "EMAIL_VERIFICATION"
    LOGIN_EMAIL_CHANGED = "LOGIN_EMAIL_CHANGED"
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"
    TWO_FACTOR_CHANGED = "TWO_FACTOR_CHANGED"
    # To the previous contact address once a change is confirmed.
    CONTACT_EMAIL_CHANGED = "CONTACT_EMAIL_CHANGED"
    # To an account's owner when someone registers with its login address.
    EXISTING_ACCOUNT_REGISTRATION = "EXISTING_ACCOUNT_REGISTRATION"
    # Membership (structures' events).
    ATTACHMENT_REQUESTED = "ATTACHMENT_REQUESTED"
    ATTACHMENT_DECIDED = "ATTACHMENT_DECIDED"
    ROLE_CHANGED = "ROLE_CHANGED"
    PRINCIPAL_TRANSFERRED = "PRINCIPAL_TRANSFERRED"
    MEMBER_DETACHED = "MEMBER_DETACHED"
    SUBSCRIPTION_REQUESTED = "SUBSCRIPTION_REQUESTED"
    SUBSCRIPTION_DECIDED = "SUBSCRIPTION_DECIDED"
    # Sollicitations (structures' events): a new one to its addressees (a structure's
    # managers or the support), a new message to the other side, a closing (feed only).
    SOLLICITATION_RECEIVED = "SOLLICITATION_RECEIVED"
    SOLLICITATION_REPLIED = "SOLLICITATION_REPLIED"
    SOLLICITATION_CLOSED = "SOLLICITATION_CLOSED"
    # Credentials of the Chorus Pro-compatible API (identity's events), to the managers of the
    # structure: a technical password expires in 30 or 7 days; a technical account was
    # activated, renewed or revoked by another manager.
    TECHNICAL_ACCOUNT_EXPIRING = "TECHNICAL_ACCOUNT_EXPIRING"
    TECHNICAL_ACCOUNT_CHANGED = "TECHNICAL_ACCOUNT_CHANGED"
