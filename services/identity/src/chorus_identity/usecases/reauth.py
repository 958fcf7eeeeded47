"""Re-authentication of a logged-in user before a sensitive change (password, login e-mail,
deactivation, turning two-factor authentication off): the current password again.

Wrong passwords count towards the lockout like failed logins, so a stolen access token
cannot be used to guess the password.
"""

from __future__ import annotations

import asyncio

from chorus_platform.unit_of_work import UnitOfWork

from chorus_identity.domain.accounts import Account
from chorus_identity.domain.audit import ClientContext
from chorus_identity.domain.errors import CurrentPasswordInvalid
from chorus_identity.domain.hashing import SecretHasher
from chorus_identity.domain.password_policy import MAX_LENGTH
from chorus_identity.store import credentials
from chorus_identity.usecases.login_guard import LoginGuard


class Reauthenticator:
    def __init__(self, uow: UnitOfWork, hasher: SecretHasher, guard: LoginGuard) -> None:
        self._uow = uow
        self._hasher = hasher
        self._guard = guard

    async def confirm_password(
        self, account: Account, password: str, client: ClientContext
    ) -> None:
        """Returns when ``password`` is the account's; CurrentPasswordInvalid or
        AccountLocked otherwise."""
        async with self._uow.reading() as conn:
            await self._guard.ensure_not_locked(conn, account.login_email)
            stored = await credentials.get_password_hash(conn, account.id)
        ok = (
            stored is not None
            and len(password) <= MAX_LENGTH
            and await asyncio.to_thread(self._hasher.verify, stored, password)
        )
        if not ok:
            lock = await self._guard.record_failure(
                account.login_email,
                user_id=account.id,
                client=client,
                reason="WRONG_CURRENT_PASSWORD",
            )
            raise lock or CurrentPasswordInvalid()
