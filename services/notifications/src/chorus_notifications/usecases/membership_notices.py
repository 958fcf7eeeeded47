"""Membership notices (structures' events), by e-mail and in the feed: attachment requests
to the managers, decisions to the requester, direct attachment, role changes, principal
transfers, detachment.

The people to tell are named by the events (managers at the time of a request, requester of
a decision); their addresses come from the recipients projection. A person to e-mail who is
missing from it raises RecipientNotKnownYet, so the event is retried (the projection is fed
from another topic and may lag).
"""

from __future__ import annotations

from collections.abc import Sequence

from chorus_platform.unit_of_work import Transaction

from chorus_notifications.domain import links, messages
from chorus_notifications.domain import membership_messages as wording
from chorus_notifications.domain.errors import RecipientNotKnownYet
from chorus_notifications.domain.recipients import DEFAULT_LOCALE
from chorus_notifications.store import structures
from chorus_notifications.usecases.notify import (
    add_feed_item,
    email_recipient,
    known_recipient,
    name_of,
    recipient,
)


class MembershipNotices:
    """Links in e-mails point into the portal at ``portal_url``; roles are codes such as
    ``GESTIONNAIRE_SECONDAIRE``."""

    def __init__(self, *, portal_url: str) -> None:
        self._portal_url = portal_url

    async def member_added(
        self,
        tx: Transaction,
        *,
        event_id: str,
        structure_id: str,
        structure_name: str,
        user_id: str,
        role: str,
        added_by: str,
        attachment_request_id: str,
    ) -> None:
        """Tells the user in their feed that they joined the structure, and with which role;
        a user a manager attached directly (``added_by``) also gets an e-mail. A membership
        from an accepted request is told by the decision instead.

        The structure's StructureCreated comes first on the same partition (same key), so
        its name is normally known; if not, the item names no structure rather than waiting.
        """
        if attachment_request_id:
            return
        name = structure_name or await structures.name_of(tx.conn, structure_id)
        person = await recipient(tx, user_id)
        if added_by and person is None:
            raise RecipientNotKnownYet(user_id)
        path = links.structure_path(structure_id)
        entry = messages.member_added_feed(
            structure_name=name or "",
            role=role,
            link=path,
            locale=person.locale if person else DEFAULT_LOCALE,
        )
        await add_feed_item(tx, event_id=event_id, user_id=user_id, draft=entry)
        if added_by and person is not None:
            email = wording.member_attached_email(
                first_name=person.first_name,
                role=role,
                structure_name=name or "",
                structure_url=links.absolute(self._portal_url, path),
                locale=person.locale,
            )
            await email_recipient(tx, event_id=event_id, recipient=person, draft=email)

    async def attachment_requested(
        self,
        tx: Transaction,
        *,
        event_id: str,
        structure_id: str,
        structure_name: str,
        requester_id: str,
        comment: str,
        manager_ids: Sequence[str],
    ) -> None:
        """E-mails each manager named and adds the request to their feed."""
        requester = await recipient(tx, requester_id)
        requester_name = (
            wording.person_name(requester.first_name, requester.last_name, "Un utilisateur")
            if requester
            else "Un utilisateur"
        )
        path = links.structure_path(structure_id)
        for manager_id in manager_ids:
            manager = await known_recipient(tx, manager_id)
            email = wording.attachment_requested_email(
                first_name=manager.first_name,
                requester_name=requester_name,
                requester_email=requester.contact_email if requester else "",
                structure_name=structure_name,
                comment=comment,
                requests_url=links.absolute(self._portal_url, path),
                locale=manager.locale,
            )
            await email_recipient(tx, event_id=event_id, recipient=manager, draft=email)
            entry = wording.attachment_requested_feed(
                requester_name=requester_name,
                structure_name=structure_name,
                link=path,
                locale=manager.locale,
            )
            await add_feed_item(tx, event_id=event_id, user_id=manager_id, draft=entry)

    async def attachment_decided(
        self,
        tx: Transaction,
        *,
        event_id: str,
        structure_id: str,
        structure_name: str,
        requester_id: str,
        accepted: bool,
        role: str,
        comment: str,
    ) -> None:
        """E-mails the requester the decision (``role`` when accepted, the manager's
        ``comment``) and adds it to their feed."""
        requester = await known_recipient(tx, requester_id)
        facts = {
            "accepted": accepted,
            "role": role,
            "structure_name": structure_name,
            "comment": comment,
            "locale": requester.locale,
        }
        path = links.structure_path(structure_id)
        email = wording.attachment_decided_email(
            **facts,
            first_name=requester.first_name,
            structure_url=links.absolute(self._portal_url, path),
        )
        await email_recipient(tx, event_id=event_id, recipient=requester, draft=email)
        entry = wording.attachment_decided_feed(**facts, link=path)
        await add_feed_item(tx, event_id=event_id, user_id=requester.user_id, draft=entry)

    async def role_changed(
        self,
        tx: Transaction,
        *,
        event_id: str,
        structure_id: str,
        structure_name: str,
        user_id: str,
        previous_role: str,
        role: str,
    ) -> None:
        """Tells the member their new role, by e-mail and in their feed."""
        member = await known_recipient(tx, user_id)
        path = links.structure_path(structure_id)
        email = wording.role_changed_email(
            first_name=member.first_name,
            previous_role=previous_role,
            role=role,
            structure_name=structure_name,
            structure_url=links.absolute(self._portal_url, path),
            locale=member.locale,
        )
        await email_recipient(tx, event_id=event_id, recipient=member, draft=email)
        entry = wording.role_changed_feed(
            role=role, structure_name=structure_name, link=path, locale=member.locale
        )
        await add_feed_item(tx, event_id=event_id, user_id=member.user_id, draft=entry)

    async def principal_transferred(
        self,
        tx: Transaction,
        *,
        event_id: str,
        structure_id: str,
        structure_name: str,
        new_principal_id: str,
        previous_principal_id: str,
    ) -> None:
        """Tells both the new principal manager and the previous one (now secondary)."""
        path = links.structure_path(structure_id)
        sides = (
            (new_principal_id, previous_principal_id, True),
            (previous_principal_id, new_principal_id, False),
        )
        for user_id, other_id, is_new in sides:
            person = await known_recipient(tx, user_id)
            other_name = await name_of(tx, other_id, "un autre membre")
            email = wording.principal_transferred_email(
                first_name=person.first_name,
                is_new_principal=is_new,
                other_name=other_name,
                structure_name=structure_name,
                structure_url=links.absolute(self._portal_url, path),
                locale=person.locale,
            )
            await email_recipient(tx, event_id=event_id, recipient=person, draft=email)
            entry = wording.principal_transferred_feed(
                is_new_principal=is_new,
                other_name=other_name,
                structure_name=structure_name,
                link=path,
                locale=person.locale,
            )
            await add_feed_item(tx, event_id=event_id, user_id=user_id, draft=entry)

    async def member_detached(
        self, tx: Transaction, *, event_id: str, structure_name: str, user_id: str, left: bool
    ) -> None:
        """Tells a member a manager detached (not one who ``left``) in their feed."""
        if left:
            return
        member = await recipient(tx, user_id)
        entry = wording.member_detached_feed(
            structure_name=structure_name,
            link="/",
            locale=member.locale if member else DEFAULT_LOCALE,
        )
        await add_feed_item(tx, event_id=event_id, user_id=user_id, draft=entry)
