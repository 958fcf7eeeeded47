"""Notices about a structure's API credentials (identity's technical-account events), by
e-mail and in the feed, to the structure's managers (principal and secondary), as the
structure members projection knows them.

- ``TechnicalAccountPasswordExpiring`` (30 and 7 days before): every manager.
- ``TechnicalAccountActivated`` / ``PasswordRotated`` / ``Revoked``: every manager but the one
  who did it (the portal showed it to them).

A manager missing from the recipients projection gets the feed item only (as for invoices:
one unknown address must not hold the others' notice back). A reminder for a structure
whose managers are not projected at all raises ManagersNotKnownYet: retried, then
dead-lettered and replayable. Every effect happens once per (event, recipient).
"""

from __future__ import annotations

from datetime import datetime

from chorus_platform.unit_of_work import Transaction

from chorus_notifications.domain import credential_messages as wording
from chorus_notifications.domain import links
from chorus_notifications.domain.credential_messages import TechnicalChange
from chorus_notifications.domain.errors import ManagersNotKnownYet
from chorus_notifications.domain.members import Member
from chorus_notifications.domain.recipients import DEFAULT_LOCALE
from chorus_notifications.store import members, structures, technical_users
from chorus_notifications.usecases.notify import (
    add_feed_item,
    email_recipient,
    name_of,
    recipient,
)


async def _managers(tx: Transaction, structure_id: str) -> list[Member]:
    return [m for m in await members.of_structure(tx.conn, structure_id) if m.is_manager]


class CredentialNotices:
    """Links point into the portal at ``portal_url`` (the structure's technical accounts)."""

    def __init__(self, *, portal_url: str) -> None:
        self._portal_url = portal_url

    async def technical_password_expiring(
        self,
        tx: Transaction,
        *,
        event_id: str,
        structure_id: str,
        login: str,
        expires_at: datetime,
        days_left: int,
    ) -> None:
        """E-mails each manager that the password expires soon, and adds it to their feed."""
        managers = await _managers(tx, structure_id)
        if not managers:
            raise ManagersNotKnownYet(structure_id)
        structure_name = await structures.name_of(tx.conn, structure_id) or ""
        path = links.technical_accounts_path(structure_id)
        for manager in managers:
            person = await recipient(tx, manager.user_id)
            locale = person.locale if person else DEFAULT_LOCALE
            facts = {
                "login": login,
                "structure_name": structure_name,
                "expires_at": expires_at,
                "days_left": days_left,
                "locale": locale,
            }
            entry = wording.technical_expiring_feed(**facts, link=path)
            await add_feed_item(tx, event_id=event_id, user_id=manager.user_id, draft=entry)
            if person is not None:
                email = wording.technical_expiring_email(
                    **facts,
                    first_name=person.first_name,
                    accounts_url=links.absolute(self._portal_url, path),
                )
                await email_recipient(tx, event_id=event_id, recipient=person, draft=email)

    async def technical_account_activated(
        self, tx: Transaction, *, account_id: str, structure_id: str, login: str
    ) -> None:
        """Remembers the technical account (``technical_users``): invoices it deposits tell
        no depositor, and messages name it by its login."""
        await technical_users.upsert(
            tx.conn, user_id=account_id, structure_id=structure_id, login=login
        )

    async def technical_account_changed(
        self,
        tx: Transaction,
        *,
        event_id: str,
        change: TechnicalChange,
        structure_id: str,
        login: str,
        actor_id: str,
        expires_at: datetime | None,
    ) -> None:
        """Tells every manager but ``actor_id`` that a technical account was activated,
        renewed or revoked, and by whom."""
        structure_name = await structures.name_of(tx.conn, structure_id) or ""
        actor_name = await name_of(tx, actor_id, "") if actor_id else ""
        path = links.technical_accounts_path(structure_id)
        for manager in await _managers(tx, structure_id):
            if manager.user_id == actor_id:
                continue
            person = await recipient(tx, manager.user_id)
            locale = person.locale if person else DEFAULT_LOCALE
            facts = {
                "change": change,
                "login": login,
                "structure_name": structure_name,
                "actor_name": actor_name,
                "expires_at": expires_at,
                "locale": locale,
            }
            entry = wording.technical_changed_feed(**facts, link=path)
            await add_feed_item(tx, event_id=event_id, user_id=manager.user_id, draft=entry)
            if person is not None:
                email = wording.technical_changed_email(
                    **facts,
                    first_name=person.first_name,
                    accounts_url=links.absolute(self._portal_url, path),
                )
                await email_recipient(tx, event_id=event_id, recipient=person, draft=email)
