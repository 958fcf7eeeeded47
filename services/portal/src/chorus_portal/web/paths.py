"""Ids in portal paths: a malformed id names nothing (the page answers the French 404)."""

from __future__ import annotations

import uuid

from chorus_edge.problems import ProblemError


def known_id(value: str) -> str | None:
    """The canonical id, or None for anything that is not one (it names nothing)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def path_id(value: str) -> str:
    """A path's id; a malformed one names nothing (ProblemError 404, the French 404 page)."""
    known = known_id(value)
    if known is None:
        raise ProblemError(404, "NOT_FOUND", "Identifiant inconnu.")
    return known
