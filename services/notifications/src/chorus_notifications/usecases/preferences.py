"""A user's e-mail preferences: every optional kind on (the default) or off. Account
security kinds are always e-mailed and never listed (``domain/preferences.py``); queueing an
e-mail honours these settings (``usecases/notify.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from chorus_platform.unit_of_work import UnitOfWork

from chorus_notifications.domain import preferences as rules
from chorus_notifications.domain.errors import PreferenceKindUnknown
from chorus_notifications.domain.ids import is_uuid
from chorus_notifications.store import preferences


class Preferences:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def of(self, user_id: str) -> dict[str, bool]:
        """Every optional kind with the user's setting."""
        if not is_uuid(user_id):
            return rules.effective({})
        async with self._uow.reading() as conn:
            stored = await preferences.of_user(conn, user_id)
        return rules.effective(stored)

    async def update(self, user_id: str, wanted: Mapping[str, bool]) -> dict[str, bool]:
        """Sets the kinds given (the others keep their setting); returns every optional kind.
        PreferenceKindUnknown (one violation per kind unknown or mandatory; nothing changed)."""
        refused = sorted(kind for kind in wanted if not rules.is_optional(kind))
        if refused:
            raise PreferenceKindUnknown(refused)
        if wanted and is_uuid(user_id):
            async with self._uow.transaction() as tx:
                await preferences.set_many(tx.conn, user_id, dict(wanted))
        return await self.of(user_id)
