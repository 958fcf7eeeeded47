"""Data migration run by ``chorus-identity migrate`` after the SQL files: addresses stored
before identity turned strict (``normalise_login_email``) take their canonical form.

Before, a login was stored as typed, domain in Unicode (``jean@exémple.fr``) and accents
allowed before the @ (``solène@exemple.fr``). Now a domain is stored in its ASCII (IDNA) form
(``jean@xn--exmple-cva.fr``) and accents before the @ are refused. SQL cannot compute IDNA,
hence this Python step (its SQL is in ``store/legacy_emails.py``). It is idempotent (only rows
with non-ASCII text are read, and a converted row has none), and runs in one transaction under
its own advisory lock:

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

from chorus_platform.unit_of_work import UnitOfWork

from chorus_identity.domain.accounts import normalise_login_email
from chorus_identity.store import legacy_emails

log = logging.getLogger(__name__)


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


async def convert_legacy_emails(uow: UnitOfWork) -> LegacyEmailsReport:
    """Rewrites the stored addresses that have a Unicode domain in their ASCII form (see the
    module docstring); returns the counts. Running it again changes nothing."""
    logins = contacts = pending = colliding = kept = 0
    async with uow.transaction() as tx:
        await legacy_emails.lock(tx.conn)
        for user in await legacy_emails.users_with_non_ascii(tx.conn):
            login = _ascii_form(user.login_email)
            if login is None:
                kept += 1
                log.warning(
                    "login e-mail with accents before the @ kept as it is: the account"
                    " should change it",
                    extra={"user_id": user.id},
                )
            elif login != user.login_email:
                other = await legacy_emails.login_owner(tx.conn, login, other_than=user.id)
                if other is None:
                    if await legacy_emails.try_set_login_email(tx.conn, user.id, login):
                        logins += 1
                    else:  # registered meanwhile
                        other = await legacy_emails.login_owner(tx.conn, login)
                if other is not None:
                    colliding += 1
                    log.warning(
                        "legacy login e-mail left as it is: its ASCII form is another"
                        " account's login (not merged; both are found by lookups)",
                        extra={"user_id": user.id, "other_user_id": other},
                    )
            contact = _ascii_form(user.contact_email)
            if contact is not None and contact != user.contact_email:
                await legacy_emails.set_contact_email(tx.conn, user.id, contact)
                contacts += 1
        for token in await legacy_emails.pending_with_non_ascii(tx.conn):
            new_email = _ascii_form(token.new_email)
            if new_email is not None and new_email != token.new_email:
                await legacy_emails.set_pending_email(tx.conn, token.id, new_email)
                pending += 1
    report = LegacyEmailsReport(logins, contacts, pending, colliding, kept)
    log.info("legacy e-mail addresses checked", extra=asdict(report))
    return report
