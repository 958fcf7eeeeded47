"""Handlers of structures' events: structure names, and what members are told (e-mail and
feed): attachment requests to the managers, decisions to the requester, direct attachment,
role changes, principal transfers, detachment, space subscriptions.

The people to tell are named by the events (managers at the time of a request, requester of
a decision); their addresses come from the recipients projection. A person missing from it
raises RecipientNotKnownYet, so the event is retried (the projection is fed from another
topic and may lag).
"""

from __future__ import annotations

from functools import partial

import asyncpg
from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from chorus_platform.cloudevents import Envelope
from chorus_platform.consumer import Subscription

from chorus_notifications.config import NotificationsSettings
from chorus_notifications.domain import links, messages
from chorus_notifications.domain import membership_messages as wording
from chorus_notifications.domain.errors import RecipientNotKnownYet
from chorus_notifications.domain.recipients import DEFAULT_LOCALE, Recipient
from chorus_notifications.events.members import projected
from chorus_notifications.events.notify import add_feed_item, queue_email
from chorus_notifications.store import recipients, structures

_ROLE_PREFIX = "ROLE_"


def role_code(value: int) -> str:
    """``ROLE_UTILISATEUR`` (3) → ``"UTILISATEUR"``."""
    try:
        return structures_pb.Role.Name(value).removeprefix(_ROLE_PREFIX)
    except ValueError:  # a role added to the contract after this build
        return str(value)


async def on_structure_created(
    conn: asyncpg.Connection, event: events.StructureCreated, envelope: Envelope
) -> None:
    """Remembers the structure's name, to name it in later messages."""
    structure = event.structure
    if structure.id:
        await structures.upsert_name(
            conn,
            structure.id,
            structure.raison_sociale or structure.libelle or structure.identifier,
        )


async def on_structure_updated(
    conn: asyncpg.Connection, event: events.StructureUpdated, envelope: Envelope
) -> None:
    """Keeps the structure's name up to date."""
    await on_structure_created(conn, event, envelope)  # same fields: structure


async def on_member_added(
    conn: asyncpg.Connection,
    event: events.MemberAdded,
    envelope: Envelope,
    *,
    portal_url: str = "",
) -> None:
    """Tells the user in their feed that they joined the structure, and with which role; a
    user a manager attached directly also gets an e-mail. A membership from an accepted
    request is told by AttachmentDecided instead.

    The structure's StructureCreated comes first on the same partition (same key), so its
    name is normally known; if not, the item names no structure rather than waiting.
    """
    if event.attachment_request_id:
        return
    structure_name = event.structure_name or await structures.name_of(conn, event.structure_id)
    recipient = await recipients.get(conn, event.user_id)
    if event.added_by and recipient is None:
        raise RecipientNotKnownYet(event.user_id)
    path = links.structure_path(event.structure_id)
    entry = messages.member_added_feed(
        structure_name=structure_name or "",
        role=role_code(event.role),
        link=path,
        locale=recipient.locale if recipient else DEFAULT_LOCALE,
    )
    await add_feed_item(conn, envelope, user_id=event.user_id, entry=entry)
    if event.added_by and recipient is not None:
        email = wording.member_attached_email(
            first_name=recipient.first_name,
            role=role_code(event.role),
            structure_name=structure_name or "",
            structure_url=links.absolute(portal_url, path),
            locale=recipient.locale,
        )
        await _email(conn, envelope, recipient, email)


async def _known(conn: asyncpg.Connection, user_id: str) -> Recipient:
    recipient = await recipients.get(conn, user_id)
    if recipient is None:
        raise RecipientNotKnownYet(user_id)
    return recipient


async def _email(conn, envelope: Envelope, recipient: Recipient, content) -> None:
    await queue_email(
        conn, envelope, address=recipient.contact_email, user_id=recipient.user_id, content=content
    )


async def _name_of(conn: asyncpg.Connection, user_id: str, fallback: str) -> str:
    person = await recipients.get(conn, user_id)
    if person is None:
        return fallback
    return wording.person_name(person.first_name, person.last_name, fallback)


async def on_attachment_requested(
    conn: asyncpg.Connection,
    event: events.AttachmentRequested,
    envelope: Envelope,
    *,
    portal_url: str,
) -> None:
    """E-mails each manager named by the event and adds the request to their feed."""
    request = event.request
    requester_id = request.requester.user_id
    requester = await recipients.get(conn, requester_id)
    requester_name = (
        wording.person_name(requester.first_name, requester.last_name, "Un utilisateur")
        if requester
        else "Un utilisateur"
    )
    path = links.structure_path(request.structure_id)
    for manager_id in event.manager_user_ids:
        manager = await _known(conn, manager_id)
        email = wording.attachment_requested_email(
            first_name=manager.first_name,
            requester_name=requester_name,
            requester_email=requester.contact_email if requester else "",
            structure_name=event.structure_name,
            comment=request.comment,
            requests_url=links.absolute(portal_url, path),
            locale=manager.locale,
        )
        await _email(conn, envelope, manager, email)
        entry = wording.attachment_requested_feed(
            requester_name=requester_name,
            structure_name=event.structure_name,
            link=path,
            locale=manager.locale,
        )
        await add_feed_item(conn, envelope, user_id=manager_id, entry=entry)


async def on_attachment_decided(
    conn: asyncpg.Connection,
    event: events.AttachmentDecided,
    envelope: Envelope,
    *,
    portal_url: str,
) -> None:
    """E-mails the requester the decision (role when accepted, comment when refused) and adds
    it to their feed."""
    requester = await _known(conn, event.requester_user_id)
    accepted = event.decision == structures_pb.DECISION_VALIDEE
    facts = {
        "accepted": accepted,
        "role": role_code(event.role) if event.role else "",
        "structure_name": event.structure_name,
        "comment": event.comment,
        "locale": requester.locale,
    }
    path = links.structure_path(event.request.structure_id)
    email = wording.attachment_decided_email(
        **facts, first_name=requester.first_name, structure_url=links.absolute(portal_url, path)
    )
    await _email(conn, envelope, requester, email)
    await add_feed_item(
        conn,
        envelope,
        user_id=requester.user_id,
        entry=wording.attachment_decided_feed(**facts, link=path),
    )


async def on_member_role_changed(
    conn: asyncpg.Connection,
    event: events.MemberRoleChanged,
    envelope: Envelope,
    *,
    portal_url: str,
) -> None:
    """Tells the member their new role, by e-mail and in their feed."""
    member = await _known(conn, event.user_id)
    path = links.structure_path(event.structure_id)
    email = wording.role_changed_email(
        first_name=member.first_name,
        previous_role=role_code(event.previous_role),
        role=role_code(event.role),
        structure_name=event.structure_name,
        structure_url=links.absolute(portal_url, path),
        locale=member.locale,
    )
    await _email(conn, envelope, member, email)
    entry = wording.role_changed_feed(
        role=role_code(event.role),
        structure_name=event.structure_name,
        link=path,
        locale=member.locale,
    )
    await add_feed_item(conn, envelope, user_id=member.user_id, entry=entry)


async def on_principal_transferred(
    conn: asyncpg.Connection,
    event: events.PrincipalTransferred,
    envelope: Envelope,
    *,
    portal_url: str,
) -> None:
    """Tells both the new principal manager and the previous one (now secondary)."""
    path = links.structure_path(event.structure_id)
    pairs = (
        (event.new_principal_user_id, event.previous_principal_user_id, True),
        (event.previous_principal_user_id, event.new_principal_user_id, False),
    )
    for user_id, other_id, is_new in pairs:
        person = await _known(conn, user_id)
        other_name = await _name_of(conn, other_id, "un autre membre")
        email = wording.principal_transferred_email(
            first_name=person.first_name,
            is_new_principal=is_new,
            other_name=other_name,
            structure_name=event.structure_name,
            structure_url=links.absolute(portal_url, path),
            locale=person.locale,
        )
        await _email(conn, envelope, person, email)
        entry = wording.principal_transferred_feed(
            is_new_principal=is_new,
            other_name=other_name,
            structure_name=event.structure_name,
            link=path,
            locale=person.locale,
        )
        await add_feed_item(conn, envelope, user_id=user_id, entry=entry)


async def on_member_detached(
    conn: asyncpg.Connection, event: events.MemberDetached, envelope: Envelope
) -> None:
    """Tells a member a manager detached (not one who left) in their feed."""
    if event.left:
        return
    member = await recipients.get(conn, event.user_id)
    entry = wording.member_detached_feed(
        structure_name=event.structure_name,
        link="/",
        locale=member.locale if member else DEFAULT_LOCALE,
    )
    await add_feed_item(conn, envelope, user_id=event.user_id, entry=entry)


def _space_code(value: int) -> str:
    try:
        return structures_pb.Space.Name(value).removeprefix("SPACE_")
    except ValueError:
        return str(value)


def _mode_code(value: int) -> str:
    try:
        return structures_pb.AccessMode.Name(value).removeprefix("ACCESS_MODE_")
    except ValueError:
        return str(value)


async def on_subscription_requested(
    conn: asyncpg.Connection, event: events.SubscriptionRequested, envelope: Envelope
) -> None:
    """Adds the pending subscription to each manager's feed."""
    subscription = event.subscription
    requester_name = await _name_of(conn, subscription.user.user_id, "Un utilisateur")
    for manager_id in event.manager_user_ids:
        manager = await recipients.get(conn, manager_id)
        entry = wording.subscription_requested_feed(
            requester_name=requester_name,
            space=_space_code(subscription.space),
            mode=_mode_code(subscription.mode),
            structure_name=event.structure_name,
            link=links.structure_path(subscription.structure_id),
            locale=manager.locale if manager else DEFAULT_LOCALE,
        )
        await add_feed_item(conn, envelope, user_id=manager_id, entry=entry)


async def on_subscription_decided(
    conn: asyncpg.Connection,
    event: events.SubscriptionDecided,
    envelope: Envelope,
    *,
    portal_url: str,
) -> None:
    """Tells the user the manager's decision by e-mail and in their feed; a subscription
    validated at once (no manager decided) only gets the feed item."""
    subscription = event.subscription
    user = await _known(conn, subscription.user.user_id)
    facts = {
        "accepted": subscription.status == structures_pb.SUBSCRIPTION_STATUS_VALIDEE,
        "space": _space_code(subscription.space),
        "mode": _mode_code(subscription.mode),
        "structure_name": event.structure_name,
        "comment": subscription.decision_comment,
        "locale": user.locale,
    }
    path = links.structure_path(subscription.structure_id)
    if subscription.decided_by:
        email = wording.subscription_decided_email(
            **facts, first_name=user.first_name, structure_url=links.absolute(portal_url, path)
        )
        await _email(conn, envelope, user, email)
    entry = wording.subscription_decided_feed(**facts, link=path)
    await add_feed_item(conn, envelope, user_id=user.user_id, entry=entry)


def subscriptions(settings: NotificationsSettings) -> list[Subscription]:
    portal = {"portal_url": settings.portal_url}
    return [
        Subscription(events.StructureCreated, on_structure_created),
        Subscription(events.StructureUpdated, on_structure_updated),
        Subscription(events.MemberAdded, projected(partial(on_member_added, **portal))),
        Subscription(events.AttachmentRequested, partial(on_attachment_requested, **portal)),
        Subscription(events.AttachmentDecided, partial(on_attachment_decided, **portal)),
        Subscription(
            events.MemberRoleChanged, projected(partial(on_member_role_changed, **portal))
        ),
        Subscription(
            events.PrincipalTransferred, projected(partial(on_principal_transferred, **portal))
        ),
        Subscription(events.MemberDetached, projected(on_member_detached)),
        Subscription(events.MemberServicesChanged, projected()),
        Subscription(events.SubscriptionRequested, on_subscription_requested),
        Subscription(events.SubscriptionDecided, partial(on_subscription_decided, **portal)),
    ]
