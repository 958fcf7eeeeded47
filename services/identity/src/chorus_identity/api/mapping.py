"""Domain objects to protobuf messages (requests are read field by field in the servicer)."""

from __future__ import annotations

from datetime import datetime, timedelta

from chorus.identity.v1 import identity_service_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_identity.domain.accounts import Account, UserStatus
from chorus_identity.domain.sessions import TokenPair
from chorus_identity.domain.signing_keys import ALGORITHM, VerificationKey

_STATUS = {
    UserStatus.EN_ATTENTE_ACTIVATION: pb.USER_STATUS_EN_ATTENTE_ACTIVATION,
    UserStatus.ACTIF: pb.USER_STATUS_ACTIF,
    UserStatus.DESACTIVE: pb.USER_STATUS_DESACTIVE,
}


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def user_to_proto(account: Account) -> pb.User:
    return pb.User(
        id=account.id,
        login_email=account.login_email,
        contact_email=account.contact_email,
        first_name=account.first_name,
        last_name=account.last_name,
        phone=account.phone,
        status=_STATUS[account.status],
        created_at=timestamp(account.created_at),
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
