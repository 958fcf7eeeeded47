"""Data migration run by ``chorus-identity migrate`` after the SQL files: addresses stored
before identity turned strict (``normalise_login_email``) take their canonical form.

Before, a login was stored as typed, domain in Unicode (``jean@exémple.fr``) and accents
allowed before the @ (``solène@exemple.fr``). Now a domain is stored in its ASCII (IDNA) form
(``jean@xn--exmple-cva.fr``) and accents before the @ are refused. SQL cannot compute IDNA,
hence this Python step. It is idempotent (only rows with non-ASCII text are read, and a
converted row has none), and runs in one transaction under its own advisory lock:

- ``users.login_email``, ``users.contact_email`` and the pending addresses of e-mail change
  links (``account_tokens.new_email``) with a Unicode domain are rewritten in ASCII;
- a login whose ASCII form is another account's login is left as it is (never merged): a
  warning names both account ids, no address; lookups still find it (``login_lookup_forms``);
- an address with accents before the @ cannot be converted and is left as it is: that account
  still logs in and resets its password, and should change its login e-mail.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import asyncpg

from chorus_identity.domain.accounts import normalise_login_email

log = logging.getLogger(__name__)

_LOCK_KEY = 0x49444D4C  # "IDML": one run at a time per database.
# In UTF-8, a text longer in bytes than in characters holds a non-ASCII character.
_LEGACY_USERS = (
    "SELECT id, login_email, contact_email FROM users"
    " WHERE octet_length(login_email) <> char_length(login_email)"
    " OR octet_length(contact_email) <> char_length(contact_email)"
    " ORDER BY created_at, id FOR UPDATE"
)
_LEGACY_PENDING = (
    "SELECT id, new_email FROM account_tokens"
    " WHERE octet_length(new_email) <> char_length(new_email) FOR UPDATE"
)


@dataclass(frozen=True)
class LegacyEmailsReport:
    """What one run did (counts only: addresses stay out of logs)."""

    logins_converted: int = 0
    contacts_converted: int = 0
    pending_converted: int = 0
    logins_colliding: int = 0
    kept_with_accented_local_part: int = 0


def _ascii_form(address: str) -> str | None:
    """The canonical form of a stored address, None when it has none (accents before @)."""
    try:
        return normalise_login_email(address)
    except ValueError:
        return None


async def convert_legacy_emails(conn: asyncpg.Connection) -> LegacyEmailsReport:
    """Rewrites the stored addresses that have a Unicode domain in their ASCII form (see the
    module docstring); returns the counts. Running it again changes nothing."""
    logins = contacts = pending = colliding = kept = 0
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        for row in await conn.fetch(_LEGACY_USERS):
            user_id = str(row["id"])
            login = _ascii_form(row["login_email"])
            if login is None:
                kept += 1
                log.warning(
                    "login e-mail with accents before the @ kept as it is: the account"
                    " should change it",
                    extra={"user_id": user_id},
                )
            elif login != row["login_email"]:
                other = await conn.fetchval(
                    "SELECT id FROM users WHERE lower(login_email) = $1 AND id <> $2",
                    login,
                    row["id"],
                )
                if other is None:
                    try:
                        async with conn.transaction():  # a savepoint: one row at a time
                            await conn.execute(
                                "UPDATE users SET login_email = $2 WHERE id = $1",
                                row["id"],
                                login,
                            )
                    except asyncpg.UniqueViolationError:  # registered meanwhile
                        other = await conn.fetchval(
                            "SELECT id FROM users WHERE lower(login_email) = $1", login
                        )
                    else:
                        logins += 1
                if other is not None:
                    colliding += 1
                    log.warning(
                        "legacy login e-mail left as it is: its ASCII form is another"
                        " account's login (not merged; both are found by lookups)",
                        extra={"user_id": user_id, "other_user_id": str(other)},
                    )
            contact = _ascii_form(row["contact_email"])
            if contact is not None and contact != row["contact_email"]:
                await conn.execute(
                    "UPDATE users SET contact_email = $2 WHERE id = $1", row["id"], contact
                )
                contacts += 1
        for token in await conn.fetch(_LEGACY_PENDING):
            new_email = _ascii_form(token["new_email"])
            if new_email is not None and new_email != token["new_email"]:
                await conn.execute(
                    "UPDATE account_tokens SET new_email = $2 WHERE id = $1",
                    token["id"],
                    new_email,
                )
                pending += 1
    report = LegacyEmailsReport(logins, contacts, pending, colliding, kept)
    log.info("legacy e-mail addresses checked", extra=asdict(report))
    return report
