"""Turning TOTP two-factor authentication on (enrol, then confirm with a first code) and off."""

from __future__ import annotations

from dataclasses import dataclass

from chorus_platform.access_tokens import Principal
from chorus_platform.key_encryption import KekRing
from chorus_platform.unit_of_work import UnitOfWork

from chorus_identity.domain import events, two_factor
from chorus_identity.domain.audit import ClientContext, SecurityEventKind
from chorus_identity.domain.errors import (
    TotpAlreadyEnabled,
    TotpCodeInvalid,
    TotpNotEnabled,
    TotpNotEnrolling,
)
from chorus_identity.store import security_events
from chorus_identity.store import two_factor as factors
from chorus_identity.usecases.clock import Clock, utc_now
from chorus_identity.usecases.my_account import MyAccount
from chorus_identity.usecases.reauth import Reauthenticator
from chorus_identity.usecases.rules import Rules


@dataclass(frozen=True)
class Enrolment:
    """Shown once: the secret (for manual entry), its otpauth URI and the recovery codes."""

    secret: str
    otpauth_uri: str
    recovery_codes: list[str]

    def __repr__(self) -> str:
        return "Enrolment(...)"


class TwoFactor:
    def __init__(
        self,
        uow: UnitOfWork,
        my_account: MyAccount,
        reauth: Reauthenticator,
        rules: Rules,
        *,
        kek: KekRing,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._kek = kek
        self._my_account = my_account
        self._reauth = reauth
        self._rules = rules
        self._clock = clock

    async def start(self, principal: Principal) -> Enrolment:
        """A new secret and 10 recovery codes, replacing an unconfirmed enrolment.
        TotpAlreadyEnabled when two-factor authentication is already on."""
        account = await self._my_account.person(principal)
        secret = two_factor.new_secret()
        codes = two_factor.new_recovery_codes()
        async with self._uow.transaction() as tx:
            if await factors.lock_factor(tx.conn, account.id):
                raise TotpAlreadyEnabled()
            await factors.start_enrolment(
                tx.conn,
                account.id,
                secret=secret,
                code_hashes=codes.hashes,
                now=self._clock(),
                kek=self._kek,
            )
        uri = two_factor.provisioning_uri(
            secret, account_name=account.login_email, issuer=self._rules.totp_issuer
        )
        return Enrolment(secret=secret, otpauth_uri=uri, recovery_codes=codes.codes)

    async def confirm(self, principal: Principal, *, code: str, client: ClientContext) -> None:
        """Turns two-factor authentication on with a first valid code (TwoFactorChanged).
        Errors: TotpNotEnrolling, TotpAlreadyEnabled, TotpCodeInvalid."""
        account = await self._my_account.person(principal)
        now = self._clock()
        async with self._uow.transaction() as tx:
            factor = await factors.get_factor(tx.conn, account.id, self._kek, for_update=True)
            if factor is None:
                raise TotpNotEnrolling()
            if factor.confirmed:
                raise TotpAlreadyEnabled()
            step = two_factor.matching_step(
                factor.secret, code, now=now, after_step=factor.last_used_step
            )
            if step is None:
                raise TotpCodeInvalid()
            await factors.confirm(tx.conn, account.id, step=step, now=now)
            tx.emit(events.TwoFactorChanged(account.id, enabled=True, at=now))
            await security_events.record(
                tx.conn,
                SecurityEventKind.TWO_FACTOR_ENABLED,
                user_id=account.id,
                client=client,
                now=now,
            )

    async def disable(
        self, principal: Principal, *, current_password: str, client: ClientContext
    ) -> None:
        """Turns it off (current password required); secret and recovery codes are erased.
        Errors: CurrentPasswordInvalid / AccountLocked, TotpNotEnabled."""
        account = await self._my_account.person(principal)
        await self._reauth.confirm_password(account, current_password, client)
        now = self._clock()
        async with self._uow.transaction() as tx:
            if not await factors.lock_factor(tx.conn, account.id):
                raise TotpNotEnabled()
            await factors.remove(tx.conn, account.id)
            tx.emit(events.TwoFactorChanged(account.id, enabled=False, at=now))
            await security_events.record(
                tx.conn,
                SecurityEventKind.TWO_FACTOR_DISABLED,
                user_id=account.id,
                client=client,
                now=now,
            )

    async def is_enabled(self, user_id: str) -> bool:
        async with self._uow.reading() as conn:
            return await factors.is_enabled(conn, user_id)
