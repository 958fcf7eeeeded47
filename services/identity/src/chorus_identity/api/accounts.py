"""Handlers of the account lifecycle up to activation, and of account lookups by other
services."""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.auth import current_principal

from chorus_identity.api.client_context import client_context
from chorus_identity.api.mapping import user_to_proto
from chorus_identity.usecases.accounts import Accounts


class AccountHandlers:
    """RegisterAccount, ActivateAccount, ResendActivation, GetUser, BatchGetUsers,
    FindUserByLoginEmail."""

    _accounts: Accounts

    async def RegisterAccount(self, request, context) -> pb.RegisterAccountResponse:
        """Registers a login e-mail and answers the same empty response whether or not it
        already had an account, no sooner than ``anonymous_answer_min_ms``.

        A free address: an account EN_ATTENTE_ACTIVATION, UserRegistered and
        ActivationLinkIssued (single-use link, ``activation_ttl_minutes``, token sealed for
        notifications); the current terms-of-use version is recorded. An address with an
        account (whatever its case or stored form): nothing of it changes; a pending account
        gets a new activation link, an active or deactivated one
        ExistingAccountRegistrationAttempted (notifications tells its owner; at most one
        notice per hour). The login e-mail is normalised and lower-cased; the contact e-mail
        defaults to it.

        Errors, alike for every address: INVALID_ARGUMENT EMAIL_INVALID, FIELD_REQUIRED,
        FIELD_TOO_LONG (names over 100 characters) or PHONE_INVALID, with field violations,
        TERMS_NOT_ACCEPTED, TERMS_VERSION_OUTDATED; UNAVAILABLE NOTIFICATIONS_UNAVAILABLE
        (nothing stored).
        """
        await self._accounts.register(
            login_email=request.login_email,
            contact_email=request.contact_email,
            first_name=request.first_name,
            last_name=request.last_name,
            phone=request.phone,
            terms_accepted=request.terms_accepted,
            terms_version=request.terms_version,
            client=client_context(context),
        )
        return pb.RegisterAccountResponse()

    async def ActivateAccount(self, request, context) -> pb.ActivateAccountResponse:
        """Sets password and secret question/answer, spends the link, makes the account ACTIF
        and emits UserActivated.

        Errors (nothing changes): INVALID_ARGUMENT ACTIVATION_TOKEN_INVALID (unknown, expired,
        used or superseded link); the password policy's PASSWORD_TOO_SHORT, PASSWORD_TOO_LONG,
        PASSWORD_TOO_WEAK, PASSWORD_TOO_COMMON, PASSWORD_CONTAINS_PERSONAL_DATA (reason = first
        rule broken, one violation per rule); FIELD_REQUIRED / FIELD_TOO_LONG for the secret
        question or answer.
        """
        account = await self._accounts.activate(
            token=request.token,
            password=request.password,
            secret_question=request.secret_question,
            secret_answer=request.secret_answer,
            client=client_context(context),
        )
        return pb.ActivateAccountResponse(user=user_to_proto(account))

    async def ResendActivation(self, request, context) -> pb.ResendActivationResponse:
        """Issues a new activation link for a pending account, superseding the previous ones,
        and emits ActivationLinkIssued.

        Answers OK whether or not such an account exists (no enumeration), no sooner than
        ``anonymous_answer_min_ms``. Errors: INVALID_ARGUMENT
        EMAIL_INVALID for an address that is not an e-mail at all; UNAVAILABLE
        NOTIFICATIONS_UNAVAILABLE (for every address alike).
        """
        await self._accounts.resend_activation(
            login_email=request.login_email, client=client_context(context)
        )
        return pb.ResendActivationResponse()

    async def GetUser(self, request, context) -> pb.GetUserResponse:
        """One account by id; the login e-mail is blanked unless it is the caller's.
        Errors: UNAUTHENTICATED; NOT_FOUND USER_NOT_FOUND (unknown or malformed id)."""
        account = await self._accounts.get_as_seen_by(
            viewer_id=current_principal().user_id, user_id=request.user_id
        )
        return pb.GetUserResponse(user=user_to_proto(account))

    async def BatchGetUsers(self, request, context) -> pb.BatchGetUsersResponse:
        """Accounts by id (at most 100), in request order, unknown ids left out; the login
        e-mail is blanked for everyone but the caller.

        Errors: UNAUTHENTICATED; INVALID_ARGUMENT TOO_MANY_USER_IDS or USER_ID_INVALID.
        """
        accounts = await self._accounts.batch_get(
            viewer_id=current_principal().user_id, user_ids=list(request.user_ids)
        )
        return pb.BatchGetUsersResponse(users=[user_to_proto(a) for a in accounts])

    async def FindUserByLoginEmail(self, request, context) -> pb.FindUserByLoginEmailResponse:
        """The account with this login e-mail (normalised, any case). Errors: UNAUTHENTICATED;
        NOT_FOUND USER_NOT_FOUND."""
        account = await self._accounts.find_by_login_email(
            viewer_id=current_principal().user_id, login_email=request.login_email
        )
        return pb.FindUserByLoginEmailResponse(user=user_to_proto(account))
