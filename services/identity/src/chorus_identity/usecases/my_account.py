""" "Mon compte": the caller's profile, password, contact and login e-mails, deactivation.

Every method takes the caller's :class:`~chorus_platform.access_tokens.Principal` and first
checks that its session is still live (an access token outlives a revocation by up to 15
minutes).
"""

from __future__ import annotations

import asyncio
import logging

from chorus_platform.access_tokens import Principal
from chorus_platform.unit_of_work import UnitOfWork

from chorus_identity.clients.sealing import TokenSealer
from chorus_identity.domain import events
from chorus_identity.domain.accounts import (
    Account,
    login_lookup_forms,
    validate_new_email,
    validate_profile_update,
)
from chorus_identity.domain.audit import ClientContext, SecurityEventKind
from chorus_identity.domain.errors import (
    AccountAlreadyExists,
    EmailChangeTokenInvalid,
    EmailUnchanged,
    PasswordRejected,
    UserNotFound,
)
from chorus_identity.domain.hashing import SecretHasher
from chorus_identity.domain.opaque_tokens import hash_token, new_token
from chorus_identity.domain.sealed_tokens import seal_link_token
from chorus_identity.domain.sessions import RevokeReason
from chorus_identity.store import account_tokens, credentials, security_events, users
from chorus_identity.store.account_tokens import TokenPurpose
from chorus_identity.usecases import revocations
from chorus_identity.usecases.clock import Clock, utc_now
from chorus_identity.usecases.login_guard import LoginGuard
from chorus_identity.usecases.reauth import Reauthenticator
from chorus_identity.usecases.rules import Rules
from chorus_identity.usecases.sessions import Sessions

log = logging.getLogger(__name__)
_EMAIL_CHANGES = (TokenPurpose.CONTACT_EMAIL, TokenPurpose.LOGIN_EMAIL)


class MyAccount:
    def __init__(
        self,
        uow: UnitOfWork,
        hasher: SecretHasher,
        sealer: TokenSealer,
        sessions_: Sessions,
        rules: Rules,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._sealer = sealer
        self._sessions = sessions_
        self._rules = rules
        self._clock = clock
        self._reauth = Reauthenticator(uow, hasher, LoginGuard(uow, rules.lockout, clock))

    async def me(self, principal: Principal) -> Account:
        """The caller's account (live session required)."""
        await self._sessions.require_live(principal)
        async with self._uow.reading() as conn:
            account = await users.get_user(conn, principal.user_id)
        if account is None:
            raise UserNotFound()
        return account

    async def person(self, principal: Principal) -> Account:
        """:meth:`me` for a change: a technical account's token changes nothing here
        (TECHNICAL_ACCOUNT_FORBIDDEN)."""
        await self._sessions.require_person(principal)
        async with self._uow.reading() as conn:
            account = await users.get_user(conn, principal.user_id)
        if account is None:
            raise UserNotFound()
        return account

    async def update_profile(
        self,
        principal: Principal,
        *,
        first_name: str | None,
        last_name: str | None,
        phone: str | None,
        client: ClientContext,
    ) -> Account:
        """Changes names and/or phone (None = unchanged); UserProfileUpdated when names
        changed. Errors: FIELD_REQUIRED, FIELD_TOO_LONG, PHONE_INVALID."""
        update = validate_profile_update(first_name=first_name, last_name=last_name, phone=phone)
        before = await self.person(principal)
        now = self._clock()
        async with self._uow.transaction() as tx:
            await users.get_user(tx.conn, principal.user_id, for_update=True)
            account = await users.update_profile(tx.conn, principal.user_id, update, now)
            changed = [
                name
                for name in ("first_name", "last_name", "phone")
                if getattr(before, name) != getattr(account, name)
            ]
            if {"first_name", "last_name"} & set(changed):
                tx.emit(events.UserProfileUpdated(account))
            if changed:
                await security_events.record(
                    tx.conn,
                    SecurityEventKind.PROFILE_UPDATED,
                    user_id=account.id,
                    client=client,
                    now=now,
                    fields=",".join(changed),
                )
        return account

    async def change_password(
        self,
        principal: Principal,
        *,
        current_password: str,
        new_password: str,
        client: ClientContext,
    ) -> None:
        """New password (current one required); every other session is revoked and the user
        told by e-mail. Errors: CurrentPasswordInvalid / AccountLocked; PasswordRejected
        (field ``new_password``)."""
        account = await self.person(principal)
        await self._reauth.confirm_password(account, current_password, client)
        problems = self._rules.password_problems(new_password, account.personal_data)
        if problems:
            raise PasswordRejected(problems, field="new_password")
        password_hash = await asyncio.to_thread(self._hasher.hash, new_password)
        now = self._clock()
        async with self._uow.transaction() as tx:
            await users.get_user(tx.conn, account.id, for_update=True)
            await credentials.set_password_hash(tx.conn, account.id, password_hash, now)
            revoked = await revocations.revoke_user_sessions(
                tx,
                account.id,
                reason=RevokeReason.PASSWORD_CHANGED,
                now=now,
                rules=self._rules,
                except_session=principal.session_id,
            )
            tx.emit(events.PasswordChanged(account.id, by_reset=False, at=now))
            await security_events.record(
                tx.conn,
                SecurityEventKind.PASSWORD_CHANGED,
                user_id=account.id,
                client=client,
                now=now,
                other_sessions_revoked=str(len(revoked)),
            )

    async def request_email_change(
        self,
        principal: Principal,
        *,
        new_email: str,
        login: bool,
        current_password: str,
        client: ClientContext,
    ) -> None:
        """Sends a verification link to ``new_email`` (EmailChangeRequested); nothing changes
        until it is confirmed. Both changes need the current password: the login address
        signs in, and the contact address receives the password reset links, so a stolen
        session alone must not divert either. Errors: EMAIL_INVALID, FIELD_REQUIRED,
        EMAIL_UNCHANGED; CurrentPasswordInvalid / AccountLocked (wrong passwords count
        towards the lockout); NotificationsUnavailable."""
        field = "new_login_email" if login else "new_contact_email"
        email = validate_new_email(field, new_email)
        account = await self.person(principal)
        if email == (account.login_email if login else account.contact_email):
            raise EmailUnchanged(field)
        await self._reauth.confirm_password(account, current_password, client)
        sealing_key = await self._sealer.public_key()
        purpose = TokenPurpose.LOGIN_EMAIL if login else TokenPurpose.CONTACT_EMAIL
        now = self._clock()
        async with self._uow.transaction() as tx:
            await users.get_user(tx.conn, account.id, for_update=True)
            await account_tokens.invalidate_outstanding(
                tx.conn, user_id=account.id, purpose=purpose, now=now
            )
            token = new_token()
            expires_at = now + self._rules.email_change_ttl
            await account_tokens.insert_token(
                tx.conn,
                user_id=account.id,
                purpose=purpose,
                token_hash=hash_token(token),
                now=now,
                expires_at=expires_at,
                new_email=email,
            )
            sealed = seal_link_token(
                sealing_key, token, event_type=events.EmailChangeRequested, user_id=account.id
            )
            tx.emit(
                events.EmailChangeRequested(
                    account,
                    login=login,
                    new_email=email,
                    expires_at=expires_at,
                    sealed_token=sealed,
                )
            )
            await security_events.record(
                tx.conn,
                SecurityEventKind.EMAIL_CHANGE_REQUESTED,
                user_id=account.id,
                client=client,
                now=now,
                address=purpose.value,
            )

    async def confirm_email_change(
        self, principal: Principal, *, token: str, client: ClientContext
    ) -> Account:
        """Applies the change the link was sent for: ContactEmailChanged or
        LoginEmailChanged; either way a notice goes to the previous address (so a change the
        owner did not make cannot pass unseen, nor reset links be diverted silently).

        Errors: EmailChangeTokenInvalid (unknown, expired, used, superseded, or another
        user's link); AccountAlreadyExists when the new login e-mail got taken meanwhile.
        """
        await self.person(principal)
        now = self._clock()
        async with self._uow.transaction() as tx:
            before = await users.get_user(tx.conn, principal.user_id, for_update=True)
            usable = await account_tokens.find_usable(
                tx.conn,
                purpose=_EMAIL_CHANGES,
                token_hash=hash_token(token),
                now=now,
                for_update=True,
            )
            if not token or usable is None or before is None or usable.user_id != before.id:
                raise EmailChangeTokenInvalid()
            await account_tokens.mark_used(tx.conn, usable.id, now)
            new_email = usable.new_email or ""
            if usable.purpose is TokenPurpose.LOGIN_EMAIL:
                # The unique index sees the exact form only: a legacy row of this mailbox
                # (Unicode domain, see legacy_emails) holds it too.
                found = await users.find_by_login_forms(tx.conn, login_lookup_forms(new_email))
                if any(other.id != before.id for other in found):
                    raise AccountAlreadyExists()
                account = await users.set_login_email(tx.conn, before.id, new_email, now)
                await LoginGuard.clear(tx.conn, before.login_email)
                tx.emit(events.LoginEmailChanged(account, previous_login_email=before.login_email))
                kind = SecurityEventKind.LOGIN_EMAIL_CHANGED
            else:
                account = await users.set_contact_email(tx.conn, before.id, new_email, now)
                tx.emit(
                    events.ContactEmailChanged(account, previous_contact_email=before.contact_email)
                )
                kind = SecurityEventKind.CONTACT_EMAIL_CHANGED
            await security_events.record(tx.conn, kind, user_id=account.id, client=client, now=now)
        return account

    async def deactivate(
        self, principal: Principal, *, current_password: str, client: ClientContext
    ) -> None:
        """DESACTIVE: every session revoked, login refused, data kept (UserDeactivated).
        Errors: CurrentPasswordInvalid / AccountLocked."""
        account = await self.person(principal)
        await self._reauth.confirm_password(account, current_password, client)
        now = self._clock()
        async with self._uow.transaction() as tx:
            await users.get_user(tx.conn, account.id, for_update=True)
            await users.deactivate(tx.conn, account.id, kind="BY_USER", now=now)
            await revocations.revoke_user_sessions(
                tx, account.id, reason=RevokeReason.DEACTIVATED, now=now, rules=self._rules
            )
            await revocations.revoke_user_api_clients(tx, account.id, now=now, rules=self._rules)
            tx.emit(events.UserDeactivated(account.id, by_admin=False, at=now))
            await security_events.record(
                tx.conn,
                SecurityEventKind.ACCOUNT_DEACTIVATED,
                user_id=account.id,
                client=client,
                now=now,
            )
        log.info("account deactivated by its owner", extra={"user_id": account.id})
