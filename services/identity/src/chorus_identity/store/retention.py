"""What ``chorus-identity purge-records`` deletes: the platform's tables, and identity's
technical rows once they can no longer serve (see chorus_platform.retention).

Kept whatever their age: accounts, credentials, second factors, signing keys, API
applications and technical accounts (business records, or few). Purged:

- **ended sessions** — revoked, or never revoked but with every refresh token expired —
  ``CHORUS_RETENTION_SESSIONS_DAYS`` after they ended, with their refresh tokens (cascade).
  Never one still inside ListRevokedSessions' window (one access-token lifetime), never a
  technical account's session (the account names it);
- **refresh tokens** expired that long ago, of live sessions too: an expired token is refused
  anyway; a spent one only served to catch its reuse, now long harmless;
- **e-mailed links** (account tokens) and **two-factor challenges** that long after their
  expiry (unusable since);
- **failed-login counters** whose last failure and lock are that old (an address starts
  again from zero; they also pile up under credential stuffing, one per address tried);
- **security events** after ``CHORUS_RETENTION_SECURITY_EVENTS_DAYS`` (1 year by default:
  the CNIL's recommendation for access logs is 6 months to a year, and connection data is
  kept a year under décret 2021-1362); 0 keeps the audit trail forever.
"""

from __future__ import annotations

from datetime import timedelta

from chorus_platform.retention import PurgeRule, days, platform_rules

from chorus_identity.config import IdentitySettings


def purge_rules(settings: IdentitySettings) -> list[PurgeRule]:
    ended = days(settings.retention_sessions_days)
    batch = settings.retention_batch_size
    rules = [
        *platform_rules(settings),
        PurgeRule(
            "sessions",
            # A lower bound of when a session ended: no later than its revocation, and before
            # its last refresh token was issued (hence expired).
            "last_used_at",
            ended,
            condition="(revoked_at < $1 OR (revoked_at IS NULL AND NOT EXISTS ("
            "SELECT 1 FROM refresh_tokens rt"
            " WHERE rt.session_id = sessions.id AND rt.expires_at >= $1)))"
            " AND NOT EXISTS (SELECT 1 FROM technical_accounts t"
            " WHERE t.session_id = sessions.id)",
            floor=timedelta(seconds=settings.access_token_ttl_seconds),
            batch_size=batch,
            what="ended sessions, with their refresh tokens",
        ),
        PurgeRule(
            "refresh_tokens", "expires_at", ended, batch_size=batch, what="expired refresh tokens"
        ),
        PurgeRule(
            "account_tokens", "expires_at", ended, batch_size=batch, what="expired e-mailed links"
        ),
        PurgeRule(
            "mfa_challenges",
            "expires_at",
            ended,
            batch_size=batch,
            what="expired two-factor challenges",
        ),
        PurgeRule(
            "login_throttle",
            "last_failure_at",
            ended,
            condition="locked_until IS NULL OR locked_until < $1",
            batch_size=batch,
            what="old failed-login counters",
        ),
    ]
    if settings.retention_security_events_days > 0:
        rules.append(
            PurgeRule(
                "security_events",
                "occurred_at",
                days(settings.retention_security_events_days),
                batch_size=batch,
                what="the audit trail's old events",
            )
        )
    return rules
