"""Link tokens as they travel to notifications: sealed to its public key, never in clear.

The token of an e-mailed link (activation, password reset, e-mail change) reaches
notifications only inside the link event, encrypted with :func:`chorus_platform.sealing.seal`
(pure crypto) to notifications' X25519 key, which the use case fetched beforehand
(``clients/sealing.py``). The context is ``<full event name>/<user id>``, the one
notifications opens it with (see ``identity_events.proto``), so a sealed token lifted from one
event, or one user's event, opens in no other. A domain event in ``domain/events.py`` has the
name of its message in ``chorus.identity.events.v1`` (a test keeps them equal).
"""

from __future__ import annotations

from chorus_platform import sealing

EVENTS_PACKAGE = "chorus.identity.events.v1"
"""The protobuf package of identity's events, whose full names the sealing contexts use."""


def sealing_context(event_type: type, user_id: str) -> bytes:
    """``<full event name>/<user id>``: what a token in this event, for this user, is sealed
    with."""
    return f"{EVENTS_PACKAGE}.{event_type.__name__}/{user_id}".encode()


def seal_link_token(public_key: bytes, token: str, *, event_type: type, user_id: str) -> bytes:
    """``token`` sealed to notifications' ``public_key``, to travel in an ``event_type`` event
    of ``user_id``."""
    return sealing.seal(public_key, token.encode(), sealing_context(event_type, user_id))
