"""What ``chorus-notifications purge-records`` deletes: the platform's tables, and
notifications' records past their retention (see chorus_platform.retention).

- **feed items**, read or not, ``CHORUS_RETENTION_FEED_DAYS`` after they were added;
- **e-mails** sent or failed (their attempts go with them) ``CHORUS_RETENTION_EMAIL_DAYS``
  after they were queued; an e-mail still to send (PENDING) or being sent (SENDING) is
  never purged, whatever its age;
- **digest entries** already e-mailed (their digest e-mail queued), as long as e-mails.

Their unique keys (one feed item / e-mail per event and recipient) also drop a redelivered
event; by then the inbox has long done so, and both retentions are far longer than the
outbox replay window. Projections (recipients, members, structures) and preferences are
kept: they are the current state, not a history.
"""

from __future__ import annotations

from chorus_platform.retention import PurgeRule, days, platform_rules

from chorus_notifications.config import NotificationsSettings


def purge_rules(settings: NotificationsSettings) -> list[PurgeRule]:
    batch = settings.retention_batch_size
    kept_emails = days(settings.retention_email_days)
    return [
        *platform_rules(settings),
        PurgeRule(
            "feed_items",
            "created_at",
            days(settings.retention_feed_days),
            batch_size=batch,
            what="feed items",
        ),
        PurgeRule(
            "emails",
            "created_at",
            kept_emails,
            condition="status IN ('SENT', 'FAILED')",
            batch_size=batch,
            what="e-mails sent or failed, with their attempts",
        ),
        PurgeRule(
            "digest_entries",
            "queued_at",
            kept_emails,
            condition="digest_event_id IS NOT NULL",
            batch_size=batch,
            what="invoice events already e-mailed in a digest",
        ),
    ]
