"""The recipients projection: where and in which language to reach each user, and by which
name to greet them, kept from identity's events in the consumer's transaction."""

from __future__ import annotations

from chorus_platform.unit_of_work import Transaction

from chorus_notifications.domain.errors import RecipientNotKnownYet
from chorus_notifications.domain.recipients import Recipient, normalise_locale
from chorus_notifications.store import recipients


class RecipientsProjection:
    async def registered(
        self,
        tx: Transaction,
        *,
        user_id: str,
        login_email: str,
        contact_email: str,
        first_name: str,
        last_name: str,
        locale: str,
    ) -> None:
        """Adds the user (or refreshes them: a redelivered registration changes nothing).
        Messages go to the contact address, the login address when there is none."""
        recipient = Recipient(
            user_id=user_id,
            contact_email=contact_email or login_email,
            first_name=first_name,
            last_name=last_name,
            locale=normalise_locale(locale),
        )
        await recipients.upsert(tx.conn, recipient)

    async def contact_email_changed(
        self, tx: Transaction, *, user_id: str, contact_email: str
    ) -> None:
        """Notifications go to the new contact address from now on; RecipientNotKnownYet
        (retried) while the user is not projected yet."""
        if not await recipients.set_contact_email(tx.conn, user_id, contact_email):
            raise RecipientNotKnownYet(user_id)

    async def renamed(
        self, tx: Transaction, *, user_id: str, first_name: str, last_name: str
    ) -> None:
        """Messages greet the user by the new names; RecipientNotKnownYet (retried) while the
        user is not projected yet."""
        if not await recipients.set_names(tx.conn, user_id, first_name, last_name):
            raise RecipientNotKnownYet(user_id)
