"""Space subscription notices (structures' events): a pending subscription in each named
manager's feed, the decision to the user by e-mail and in their feed. Spaces and access
modes are codes (``FACTURES_RECUES``, ``CONSULTATION``), worded by the domain."""

from __future__ import annotations

from collections.abc import Sequence

from chorus_platform.unit_of_work import Transaction

from chorus_notifications.domain import links
from chorus_notifications.domain import membership_messages as wording
from chorus_notifications.domain.recipients import DEFAULT_LOCALE
from chorus_notifications.usecases.notify import (
    add_feed_item,
    email_recipient,
    known_recipient,
    name_of,
    recipient,
)


class SubscriptionNotices:
    """Links in e-mails point into the portal at ``portal_url``."""

    def __init__(self, *, portal_url: str) -> None:
        self._portal_url = portal_url

    async def requested(
        self,
        tx: Transaction,
        *,
        event_id: str,
        structure_id: str,
        structure_name: str,
        user_id: str,
        space: str,
        mode: str,
        manager_ids: Sequence[str],
    ) -> None:
        """Adds the pending subscription of ``user_id`` to each manager's feed."""
        requester_name = await name_of(tx, user_id, "Un utilisateur")
        for manager_id in manager_ids:
            manager = await recipient(tx, manager_id)
            entry = wording.subscription_requested_feed(
                requester_name=requester_name,
                space=space,
                mode=mode,
                structure_name=structure_name,
                link=links.structure_path(structure_id),
                locale=manager.locale if manager else DEFAULT_LOCALE,
            )
            await add_feed_item(tx, event_id=event_id, user_id=manager_id, draft=entry)

    async def decided(
        self,
        tx: Transaction,
        *,
        event_id: str,
        structure_id: str,
        structure_name: str,
        user_id: str,
        space: str,
        mode: str,
        accepted: bool,
        comment: str,
        decided_by_manager: bool,
    ) -> None:
        """Tells the user the manager's decision by e-mail and in their feed; a subscription
        validated at once (no manager decided) only gets the feed item."""
        user = await known_recipient(tx, user_id)
        facts = {
            "accepted": accepted,
            "space": space,
            "mode": mode,
            "structure_name": structure_name,
            "comment": comment,
            "locale": user.locale,
        }
        path = links.structure_path(structure_id)
        if decided_by_manager:
            email = wording.subscription_decided_email(
                **facts,
                first_name=user.first_name,
                structure_url=links.absolute(self._portal_url, path),
            )
            await email_recipient(tx, event_id=event_id, recipient=user, draft=email)
        entry = wording.subscription_decided_feed(**facts, link=path)
        await add_feed_item(tx, event_id=event_id, user_id=user.user_id, draft=entry)
