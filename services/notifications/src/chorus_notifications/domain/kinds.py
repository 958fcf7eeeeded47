"""What a notification is about; the kind names e-mails, feed items and (later) preferences."""

from __future__ import annotations

from enum import StrEnum


class NotificationKind(StrEnum):
    """Stable kind codes, stored in ``emails.kind`` and ``feed_items.kind`` and shown by the API.

    User preferences (e-mail on/off per kind) will key on these codes; account security
    messages such as ``ACCOUNT_ACTIVATION`` are meant to stay mandatory.
    """

    ACCOUNT_ACTIVATION = "ACCOUNT_ACTIVATION"
    ACCOUNT_ACTIVATED = "ACCOUNT_ACTIVATED"
    INVOICE_SUBMITTED = "INVOICE_SUBMITTED"
    INVOICE_STATUS_CHANGED = "INVOICE_STATUS_CHANGED"
    MEMBER_ADDED = "MEMBER_ADDED"
