"""Who to tell of an event, with what they chose, in one query: the projected user (or None),
whether it is a technical account, and their setting for the kind of e-mail at hand
(switched off? digest frequency?). Invoice events read these for every member of a structure;
one round trip instead of one per member and per setting."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from chorus_notifications.domain.digests import DigestFrequency
from chorus_notifications.domain.members import Member
from chorus_notifications.domain.preferences import EmailSetting
from chorus_notifications.domain.recipients import Recipient


@dataclass(frozen=True)
class Addressee:
    user_id: str
    recipient: Recipient | None
    """None while the user is not (yet) in the recipients projection."""
    technical: bool
    setting: EmailSetting


def _addressee(user_id: str, row: asyncpg.Record) -> Addressee:
    recipient = (
        Recipient(
            user_id=user_id,
            contact_email=row["contact_email"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            locale=row["locale"],
        )
        if row["contact_email"] is not None
        else None
    )
    setting = EmailSetting(
        enabled=row["enabled"] is not False,
        frequency=DigestFrequency(row["frequency"] or DigestFrequency.IMMEDIATE),
    )
    return Addressee(user_id, recipient, row["technical"], setting)


async def addressee(conn: asyncpg.Connection, user_id: str, kind: str) -> Addressee:
    """``user_id`` with their setting for ``kind``."""
    row = await conn.fetchrow(
        """SELECT r.contact_email, r.first_name, r.last_name, r.locale,
                  t.user_id IS NOT NULL AS technical, f.frequency, p.enabled
             FROM (SELECT $1::uuid AS user_id) u
             LEFT JOIN recipients r ON r.user_id = u.user_id
             LEFT JOIN technical_users t ON t.user_id = u.user_id
             LEFT JOIN invoice_email_frequencies f ON f.user_id = u.user_id
             LEFT JOIN email_preferences p ON p.user_id = u.user_id AND p.kind = $2""",
        user_id,
        kind,
    )
    return _addressee(user_id, row)


async def of_structure(
    conn: asyncpg.Connection, structure_id: str, kind: str
) -> list[tuple[Member, Addressee]]:
    """The structure's members (by user id, as ``members.of_structure``), each with their
    setting for ``kind``."""
    rows = await conn.fetch(
        """SELECT u.user_id, u.role, u.service_ids, u.service_codes,
                  r.contact_email, r.first_name, r.last_name, r.locale,
                  t.user_id IS NOT NULL AS technical, f.frequency, p.enabled
             FROM structure_members u
             LEFT JOIN recipients r ON r.user_id = u.user_id
             LEFT JOIN technical_users t ON t.user_id = u.user_id
             LEFT JOIN invoice_email_frequencies f ON f.user_id = u.user_id
             LEFT JOIN email_preferences p ON p.user_id = u.user_id AND p.kind = $2
            WHERE u.structure_id = $1
            ORDER BY u.user_id""",
        structure_id,
        kind,
    )
    found = []
    for row in rows:
        user_id = str(row["user_id"])
        member = Member(
            user_id=user_id,
            role=row["role"],
            service_ids=tuple(row["service_ids"]),
            service_codes=tuple(row["service_codes"]),
        )
        found.append((member, _addressee(user_id, row)))
    return found
