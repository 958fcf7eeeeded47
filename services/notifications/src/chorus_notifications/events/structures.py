"""Handlers of structures' events: structure names, and the new member's feed item."""

from __future__ import annotations

import asyncpg
from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from chorus_platform.cloudevents import Envelope
from chorus_platform.consumer import Subscription

from chorus_notifications.config import NotificationsSettings
from chorus_notifications.domain import links, messages
from chorus_notifications.domain.recipients import DEFAULT_LOCALE
from chorus_notifications.events.notify import add_feed_item
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


async def on_member_added(
    conn: asyncpg.Connection, event: events.MemberAdded, envelope: Envelope
) -> None:
    """Tells the user in their feed that they joined the structure, and with which role.

    The structure's StructureCreated comes first on the same partition (same key), so its
    name is normally known; if not, the item names no structure rather than waiting.
    """
    recipient = await recipients.get(conn, event.user_id)
    entry = messages.member_added_feed(
        structure_name=await structures.name_of(conn, event.structure_id) or "",
        role=role_code(event.role),
        link=links.structure_path(event.structure_id),
        locale=recipient.locale if recipient else DEFAULT_LOCALE,
    )
    await add_feed_item(conn, envelope, user_id=event.user_id, entry=entry)


def subscriptions(settings: NotificationsSettings) -> list[Subscription]:
    return [
        Subscription(events.StructureCreated, on_structure_created),
        Subscription(events.MemberAdded, on_member_added),
    ]
