"""Domain objects to protobuf messages (requests are read field by field in the servicer)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.errors import FieldViolation, InvalidArgument
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_identity.domain.accounts import Account, UserStatus
from chorus_identity.domain.api_clients import ApiClient
from chorus_identity.domain.audit import SecurityEvent
from chorus_identity.domain.sessions import RevokedSession, TokenPair
from chorus_identity.domain.signing_keys import ALGORITHM, VerificationKey
from chorus_identity.domain.technical_accounts import TechnicalAccount, TechnicalAccountStatus
from chorus_identity.usecases.sessions import MySession

_STATUS = {
    UserStatus.EN_ATTENTE_ACTIVATION: pb.USER_STATUS_EN_ATTENTE_ACTIVATION,
    UserStatus.ACTIF: pb.USER_STATUS_ACTIF,
    UserStatus.DESACTIVE: pb.USER_STATUS_DESACTIVE,
}


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def user_to_proto(account: Account, *, two_factor_enabled: bool = False) -> pb.User:
    return pb.User(
        id=account.id,
        login_email=account.login_email,
        contact_email=account.contact_email,
        first_name=account.first_name,
        last_name=account.last_name,
        phone=account.phone,
        status=_STATUS[account.status],
        created_at=timestamp(account.created_at),
        two_factor_enabled=two_factor_enabled,
    )


def tokens_to_proto(pair: TokenPair) -> pb.TokenPair:
    return pb.TokenPair(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
    )


def public_key_to_proto(key: VerificationKey, access_token_ttl: timedelta) -> pb.PublicKey:
    message = pb.PublicKey(kid=key.kid, algorithm=ALGORITHM, x=key.public_x)
    not_after = key.not_after(access_token_ttl)
    if not_after is not None:
        message.not_after.CopyFrom(timestamp(not_after))
    return message


def session_to_proto(mine: MySession) -> pb.Session:
    return pb.Session(
        id=mine.session.id,
        created_at=timestamp(mine.session.created_at),
        last_used_at=timestamp(mine.session.last_used_at),
        ip_address=mine.session.ip_address,
        user_agent=mine.session.user_agent,
        current=mine.current,
    )


def optional_moment(stamp: Timestamp, present: bool, field: str) -> datetime | None:
    """The moment a request's optional timestamp field holds; None when unset.
    InvalidArgument TIMESTAMP_INVALID for one out of range (year 1 to 9999)."""
    if not present:
        return None
    try:
        return stamp.ToDatetime(UTC)
    except ValueError:
        message = "Horodatage invalide (années 1 à 9999)."
        raise InvalidArgument(
            "TIMESTAMP_INVALID", message, [FieldViolation(field, message)]
        ) from None


def revoked_session_to_proto(session: RevokedSession) -> pb.RevokedSession:
    return pb.RevokedSession(
        session_id=session.id,
        revoked_at=timestamp(session.revoked_at),
        tokens_valid_until=timestamp(session.tokens_valid_until),
    )


def security_event_to_proto(event: SecurityEvent) -> pb.SecurityEvent:
    return pb.SecurityEvent(
        id=event.id,
        kind=event.kind,
        user_id=event.user_id or "",
        occurred_at=timestamp(event.occurred_at),
        ip_address=event.ip_address,
        user_agent=event.user_agent,
        actor_id=event.actor_id or "",
        details=event.details,
    )


def api_client_to_proto(client: ApiClient) -> pb.ApiClient:
    message = pb.ApiClient(
        id=client.id,
        client_id=client.client_id,
        name=client.name,
        created_at=timestamp(client.created_at),
    )
    if client.revoked_at is not None:
        message.revoked_at.CopyFrom(timestamp(client.revoked_at))
    if client.last_used_at is not None:
        message.last_used_at.CopyFrom(timestamp(client.last_used_at))
    return message


_TECHNICAL_STATUS = {
    TechnicalAccountStatus.ACTIF: pb.TECHNICAL_ACCOUNT_STATUS_ACTIF,
    TechnicalAccountStatus.EXPIRE: pb.TECHNICAL_ACCOUNT_STATUS_EXPIRE,
    TechnicalAccountStatus.REVOQUE: pb.TECHNICAL_ACCOUNT_STATUS_REVOQUE,
}


def technical_account_to_proto(account: TechnicalAccount, now: datetime) -> pb.TechnicalAccount:
    message = pb.TechnicalAccount(
        id=account.id,
        structure_id=account.structure_id,
        login=account.login,
        status=_TECHNICAL_STATUS[account.status(now)],
        created_at=timestamp(account.created_at),
        created_by=account.created_by,
        expires_at=timestamp(account.expires_at),
    )
    if account.revoked_at is not None:
        message.revoked_at.CopyFrom(timestamp(account.revoked_at))
    return message
