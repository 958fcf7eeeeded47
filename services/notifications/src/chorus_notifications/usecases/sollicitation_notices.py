"""Sollicitation notices (structures' events): the addressees of a new sollicitation, and
the other side of each new message, are e-mailed and get a feed item; a closing is a feed
item only.

The people to tell are named by the events (the addressed structure's managers or the support
users at the time, the sender). A person to e-mail who is missing from the recipients
projection raises RecipientNotKnownYet, so the event is retried (the projection is fed from
identity's topic and may lag).
"""

from __future__ import annotations

from collections.abc import Sequence

from chorus_platform.unit_of_work import Transaction

from chorus_notifications.domain import links
from chorus_notifications.domain import sollicitation_messages as wording
from chorus_notifications.domain.recipients import DEFAULT_LOCALE
from chorus_notifications.usecases.notify import (
    add_feed_item,
    email_recipient,
    known_recipient,
    name_of,
    recipient,
)

SOMEONE = {"fr": "Un utilisateur", "en": "A user"}


class SollicitationNotices:
    """Links in e-mails point into the portal at ``portal_url``."""

    def __init__(self, *, portal_url: str) -> None:
        self._portal_url = portal_url

    async def created(
        self,
        tx: Transaction,
        *,
        event_id: str,
        sollicitation_id: str,
        sender_id: str,
        sender_structure_name: str,
        addressee_structure_name: str,
        subject: str,
        invoice_number: str,
        structure_name: str,
        addressee_ids: Sequence[str],
    ) -> None:
        """E-mails each addressee named and adds the sollicitation to their feed."""
        sender_name = await name_of(tx, sender_id, "")
        path = links.sollicitation_path(sollicitation_id)
        for addressee_id in addressee_ids:
            person = await known_recipient(tx, addressee_id)
            locale = person.locale
            who = sender_name or SOMEONE.get(locale, SOMEONE[DEFAULT_LOCALE])
            email = wording.received_email(
                first_name=person.first_name,
                sender_name=who,
                sender_structure_name=sender_structure_name,
                addressee_name=addressee_structure_name,
                subject=subject,
                about_text=wording.about(invoice_number, structure_name, locale),
                url=links.absolute(self._portal_url, path),
                locale=locale,
            )
            await email_recipient(tx, event_id=event_id, recipient=person, draft=email)
            entry = wording.received_feed(
                sender_name=who, subject=subject, link=path, locale=locale
            )
            await add_feed_item(tx, event_id=event_id, user_id=addressee_id, draft=entry)

    async def replied(
        self,
        tx: Transaction,
        *,
        event_id: str,
        sollicitation_id: str,
        author_id: str,
        subject: str,
        invoice_number: str,
        structure_name: str,
        recipient_ids: Sequence[str],
    ) -> None:
        """E-mails each person of the other side and adds the message to their feed."""
        author_name = await name_of(tx, author_id, "")
        path = links.sollicitation_path(sollicitation_id)
        for person_id in recipient_ids:
            person = await known_recipient(tx, person_id)
            locale = person.locale
            who = author_name or SOMEONE.get(locale, SOMEONE[DEFAULT_LOCALE])
            email = wording.replied_email(
                first_name=person.first_name,
                author_name=who,
                subject=subject,
                about_text=wording.about(invoice_number, structure_name, locale),
                url=links.absolute(self._portal_url, path),
                locale=locale,
            )
            await email_recipient(tx, event_id=event_id, recipient=person, draft=email)
            entry = wording.replied_feed(author_name=who, subject=subject, link=path, locale=locale)
            await add_feed_item(tx, event_id=event_id, user_id=person_id, draft=entry)

    async def closed(
        self,
        tx: Transaction,
        *,
        event_id: str,
        sollicitation_id: str,
        closed_by: str,
        subject: str,
        recipient_ids: Sequence[str],
    ) -> None:
        """A feed item for each person of the other side (no e-mail)."""
        closer_name = await name_of(tx, closed_by, "")
        path = links.sollicitation_path(sollicitation_id)
        for person_id in recipient_ids:
            person = await recipient(tx, person_id)
            locale = person.locale if person else DEFAULT_LOCALE
            who = closer_name or SOMEONE.get(locale, SOMEONE[DEFAULT_LOCALE])
            entry = wording.closed_feed(closer_name=who, subject=subject, link=path, locale=locale)
            await add_feed_item(tx, event_id=event_id, user_id=person_id, draft=entry)
