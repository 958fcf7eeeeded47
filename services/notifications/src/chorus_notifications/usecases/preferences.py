"""A user's e-mail preferences: every optional kind on (the default) or off, and how invoice
e-mails reach them (at once, or in an hourly or daily digest: ``usecases/digests.py``).
Account security kinds are always e-mailed at once and never listed
(``domain/preferences.py``); queueing an e-mail honours these settings (``usecases/notify.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from chorus_platform.unit_of_work import UnitOfWork

from chorus_notifications.domain import preferences as rules
from chorus_notifications.domain.digests import DigestFrequency
from chorus_notifications.domain.errors import PreferenceKindUnknown
from chorus_notifications.domain.ids import is_uuid
from chorus_notifications.store import digests, preferences


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

    async def frequency_of(self, user_id: str) -> DigestFrequency:
        """How the user's invoice e-mails reach them (IMMEDIATE by default)."""
        if not is_uuid(user_id):
            return DigestFrequency.IMMEDIATE
        async with self._uow.reading() as conn:
            return await digests.frequency_of(conn, user_id)

    async def update(
        self,
        user_id: str,
        wanted: Mapping[str, bool],
        frequency: DigestFrequency | None = None,
    ) -> dict[str, bool]:
        """Sets the kinds given (the others keep their setting) and, unless None, the invoice
        e-mail frequency; returns every optional kind. PreferenceKindUnknown (one violation
        per kind unknown or mandatory; nothing changed)."""
        refused = sorted(kind for kind in wanted if not rules.is_optional(kind))
        if refused:
            raise PreferenceKindUnknown(refused)
        if (wanted or frequency is not None) and is_uuid(user_id):
            async with self._uow.transaction() as tx:
                if wanted:
                    await preferences.set_many(tx.conn, user_id, dict(wanted))
                if frequency is not None:
                    await digests.set_frequency(tx.conn, user_id, frequency)
        return await self.of(user_id)
