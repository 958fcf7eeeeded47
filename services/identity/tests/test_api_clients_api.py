"""API applications through the real gRPC API: a user creates, lists and revokes them; a
connector exchanges client_id + secret for a token (IssueClientToken, public) that only the
Chorus Pro-compatible API's audience accepts; revoking one lists it as a revoked session."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, timedelta

import grpc
import jwt
import pytest
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_identity.domain.api_clients import MAX_LIVE_CLIENTS_PER_USER
from chorus_identity.usecases.admin import grant_admin
from chorus_platform.access_tokens import CPRO_CLIENT_AUDIENCE
from chorus_platform.auth import TokenVerifier
from chorus_platform.errors import Unauthenticated
from chorus_platform.grpc_client import identity_key_fetcher
from chorus_platform.revocation import RevocationList

from .conftest import own_unit_of_work


async def owner(flows) -> tuple[pb.User, tuple]:
    """An active user and the metadata of their access token."""
    user = await flows.active_user()
    tokens = await flows.tokens(user.login_email)
    return user, flows.bearer(tokens.access_token)


async def create(flows, metadata, name: str = "ERP comptable") -> pb.CreateApiClientResponse:
    return await flows.stub.CreateApiClient(pb.CreateApiClientRequest(name=name), metadata=metadata)


def token_request(created: pb.CreateApiClientResponse, **changes) -> pb.IssueClientTokenRequest:
    fields = {"client_id": created.client.client_id, "client_secret": created.client_secret}
    return pb.IssueClientTokenRequest(**{**fields, **changes})


async def test_an_application_is_created_with_a_secret_shown_once_and_stored_hashed(flows):
    user, metadata = await owner(flows)

    created = await create(flows, metadata, name="  ERP   comptable ")

    client, secret = created.client, created.client_secret
    assert client.name == "ERP comptable" and not client.HasField("revoked_at")
    assert uuid.UUID(client.id) and uuid.UUID(client.client_id) and client.id != client.client_id
    assert len(secret) == 43 and "=" not in secret  # 32 bytes, base64url unpadded
    row = await flows.db.fetchrow(
        "SELECT owner_id, secret_sha256 FROM api_clients WHERE id = $1", uuid.UUID(client.id)
    )
    assert str(row["owner_id"]) == user.id
    assert row["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    listed = await flows.stub.ListApiClients(pb.ListApiClientsRequest(), metadata=metadata)
    assert [c.id for c in listed.clients] == [client.id]
    assert secret not in str(listed)
    [published] = await flows.events(ev.ApiClientCreated, user.id)
    assert (published.application_id, published.client_id) == (client.id, client.client_id)
    assert secret.encode() not in published.SerializeToString()
    audit = await flows.db.fetchval(
        "SELECT count(*) FROM security_events WHERE user_id = $1 AND kind = 'API_CLIENT_CREATED'",
        uuid.UUID(user.id),
    )
    assert audit == 1


async def test_the_token_is_for_the_cpro_audience_only_and_names_the_application(flows):
    _, metadata = await owner(flows)
    created = await create(flows, metadata)

    issued = await flows.stub.IssueClientToken(token_request(created, scope="openid  profile"))
    default_scope = await flows.stub.IssueClientToken(token_request(created))

    assert issued.expires_in == 3600 and issued.application_id == created.client.id
    assert (issued.scope, default_scope.scope) == ("openid profile", "openid")
    cpro = TokenVerifier(identity_key_fetcher(flows.channel), audience=CPRO_CLIENT_AUDIENCE)
    claims = await cpro.verify_claims(issued.access_token)
    assert claims["sub"] == claims["sid"] == created.client.id
    assert claims["aud"] == CPRO_CLIENT_AUDIENCE and claims["scope"] == "openid profile"
    assert claims["exp"] - claims["iat"] == 3600
    # Worthless against the services (audience "chorus"), identity included.
    with pytest.raises(Unauthenticated):
        await TokenVerifier(identity_key_fetcher(flows.channel)).verify(issued.access_token)
    refused = await flows.error(
        flows.stub.GetMe(pb.GetMeRequest(), metadata=flows.bearer(issued.access_token))
    )
    assert refused.code == grpc.StatusCode.UNAUTHENTICATED
    listed = await flows.stub.ListApiClients(pb.ListApiClientsRequest(), metadata=metadata)
    assert listed.clients[0].HasField("last_used_at")


async def test_each_wrong_credential_is_refused_with_its_own_reason(flows):
    user, metadata = await owner(flows)
    created = await create(flows, metadata)

    unknown = await flows.error(
        flows.stub.IssueClientToken(token_request(created, client_id=str(uuid.uuid4())))
    )
    garbage = await flows.error(
        flows.stub.IssueClientToken(token_request(created, client_id="pas-un-uuid"))
    )
    wrong = await flows.error(
        flows.stub.IssueClientToken(
            token_request(created, client_secret=created.client_secret[:-1])
        )
    )
    scope = await flows.error(flows.stub.IssueClientToken(token_request(created, scope='a"b')))

    assert (unknown.code, unknown.reason) == (grpc.StatusCode.UNAUTHENTICATED, "CLIENT_UNKNOWN")
    assert garbage.reason == "CLIENT_UNKNOWN"
    assert (wrong.code, wrong.reason) == (grpc.StatusCode.UNAUTHENTICATED, "CLIENT_SECRET_INVALID")
    assert "portail" in wrong.message and created.client_secret not in wrong.message
    assert (scope.code, scope.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "SCOPE_INVALID")
    refusals = await flows.db.fetch(
        "SELECT details FROM security_events WHERE user_id = $1 AND kind = 'CLIENT_TOKEN_REFUSED'",
        uuid.UUID(user.id),
    )
    assert len(refusals) == 1 and "CLIENT_SECRET_INVALID" in refusals[0]["details"]


async def test_names_are_checked_and_a_refused_creation_changes_nothing(flows):
    user, metadata = await owner(flows)

    empty = await flows.error(create(flows, metadata, name="   "))
    long = await flows.error(create(flows, metadata, name="x" * 101))
    anonymous = await flows.error(flows.stub.CreateApiClient(pb.CreateApiClientRequest(name="a")))

    assert (empty.code, empty.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "API_CLIENT_NAME_REQUIRED",
    )
    assert empty.violations[0].field == "name"
    assert long.reason == "API_CLIENT_NAME_TOO_LONG"
    assert anonymous.code == grpc.StatusCode.UNAUTHENTICATED
    count = "SELECT count(*) FROM api_clients WHERE owner_id = $1"
    assert await flows.db.fetchval(count, uuid.UUID(user.id)) == 0


async def test_a_user_holds_a_bounded_number_of_live_applications(flows):
    _, metadata = await owner(flows)
    made = [
        await create(flows, metadata, name=f"app {n}") for n in range(MAX_LIVE_CLIENTS_PER_USER)
    ]

    over = await flows.error(create(flows, metadata, name="une de trop"))
    assert (over.code, over.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "API_CLIENT_LIMIT_REACHED",
    )

    await flows.stub.RevokeApiClient(
        pb.RevokeApiClientRequest(id=made[0].client.id), metadata=metadata
    )
    assert (await create(flows, metadata, name="à la place")).client_secret


async def test_revoking_lists_the_application_as_a_revoked_session_for_a_client_token_lifetime(
    flows,
):
    user, metadata = await owner(flows)
    created = await create(flows, metadata)
    issued = await flows.stub.IssueClientToken(token_request(created))
    app_id = created.client.id

    answer = await flows.stub.RevokeApiClient(
        pb.RevokeApiClientRequest(id=app_id), metadata=metadata
    )
    again = await flows.stub.RevokeApiClient(
        pb.RevokeApiClientRequest(id=app_id), metadata=metadata
    )

    assert answer.client.HasField("revoked_at") and again.client == answer.client
    revoked_at = answer.client.revoked_at.ToDatetime(UTC)
    [session_revoked] = [
        e for e in await flows.events(ev.SessionRevoked, user.id) if e.session_id == app_id
    ]
    assert session_revoked.reason == ev.SESSION_REVOCATION_REASON_API_CLIENT_REVOKED
    assert session_revoked.tokens_valid_until.ToDatetime(UTC) == revoked_at + timedelta(hours=1)
    assert len(await flows.events(ev.ApiClientRevoked, user.id)) == 1
    # What every deny-list loads: the application, until its last token has expired.
    listed = await flows.stub.ListRevokedSessions(pb.ListRevokedSessionsRequest())
    [entry] = [s for s in listed.sessions if s.session_id == app_id]
    assert entry.tokens_valid_until.ToDatetime(UTC) == revoked_at + timedelta(hours=1)
    deny_list = RevocationList()
    for s in listed.sessions:
        deny_list.add(s.session_id, s.tokens_valid_until.seconds)
    cpro = TokenVerifier(
        identity_key_fetcher(flows.channel), audience=CPRO_CLIENT_AUDIENCE, revoked=deny_list
    )
    with pytest.raises(Unauthenticated) as refused:
        await cpro.verify_claims(issued.access_token)
    assert refused.value.reason == "SESSION_REVOKED"
    # And no token any more.
    gone = await flows.error(flows.stub.IssueClientToken(token_request(created)))
    assert (gone.code, gone.reason) == (grpc.StatusCode.UNAUTHENTICATED, "CLIENT_REVOKED")
    assert "révoquée le" in gone.message


async def test_a_revocation_older_than_a_user_token_lifetime_is_still_listed(flows):
    """Application tokens last an hour: their revocation stays listed that long, while a
    user's session revoked as long ago is not (its tokens are expired)."""
    _, metadata = await owner(flows)
    created = await create(flows, metadata)
    await flows.stub.RevokeApiClient(
        pb.RevokeApiClientRequest(id=created.client.id), metadata=metadata
    )
    await flows.db.execute(
        "UPDATE api_clients SET revoked_at = now() - interval '30 minutes' WHERE id = $1",
        uuid.UUID(created.client.id),
    )
    listed = await flows.stub.ListRevokedSessions(pb.ListRevokedSessionsRequest())
    assert created.client.id in {s.session_id for s in listed.sessions}

    await flows.db.execute(
        "UPDATE api_clients SET revoked_at = now() - interval '61 minutes' WHERE id = $1",
        uuid.UUID(created.client.id),
    )
    listed = await flows.stub.ListRevokedSessions(pb.ListRevokedSessionsRequest())
    assert created.client.id not in {s.session_id for s in listed.sessions}


async def test_only_the_owner_revokes_and_bad_ids_are_refused(flows):
    _, metadata = await owner(flows)
    _, intruder = await owner(flows)
    created = await create(flows, metadata)

    foreign = await flows.error(
        flows.stub.RevokeApiClient(
            pb.RevokeApiClientRequest(id=created.client.id), metadata=intruder
        )
    )
    malformed = await flows.error(
        flows.stub.RevokeApiClient(pb.RevokeApiClientRequest(id="42"), metadata=metadata)
    )

    assert (foreign.code, foreign.reason) == (grpc.StatusCode.NOT_FOUND, "API_CLIENT_NOT_FOUND")
    assert (malformed.code, malformed.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "API_CLIENT_ID_INVALID",
    )
    assert (await flows.stub.IssueClientToken(token_request(created))).access_token
    others = await flows.stub.ListApiClients(pb.ListApiClientsRequest(), metadata=intruder)
    assert list(others.clients) == []


async def test_deactivating_the_account_revokes_its_applications_at_once(flows):
    user, metadata = await owner(flows)
    created = await create(flows, metadata)
    other = await create(flows, metadata, name="Script")
    await flows.stub.RevokeApiClient(
        pb.RevokeApiClientRequest(id=other.client.id), metadata=metadata
    )
    await flows.stub.DeactivateMe(
        pb.DeactivateMeRequest(current_password=flows.password), metadata=metadata
    )

    refused = await flows.error(flows.stub.IssueClientToken(token_request(created)))

    assert (refused.code, refused.reason) == (grpc.StatusCode.UNAUTHENTICATED, "CLIENT_REVOKED")
    revocations = [
        e
        for e in await flows.events(ev.SessionRevoked, user.id)
        if e.reason == ev.SESSION_REVOCATION_REASON_API_CLIENT_REVOKED
    ]
    # One each: the application revoked before is not revoked again.
    assert sorted(e.session_id for e in revocations) == sorted([created.client.id, other.client.id])
    assert len(await flows.events(ev.ApiClientRevoked, user.id)) == 2


async def test_an_admin_disabling_the_account_revokes_its_applications(flows, identity_settings):
    admin = await flows.active_user()
    async with own_unit_of_work(identity_settings) as uow:
        await grant_admin(uow, admin.login_email)
    admin_auth = flows.bearer((await flows.tokens(admin.login_email)).access_token)
    user, metadata = await owner(flows)
    created = await create(flows, metadata)

    await flows.stub.DisableUser(pb.DisableUserRequest(user_id=user.id), metadata=admin_auth)

    refused = await flows.error(flows.stub.IssueClientToken(token_request(created)))
    assert refused.reason == "CLIENT_REVOKED" and "révoquée le" in refused.message
    listed = await flows.stub.ListRevokedSessions(pb.ListRevokedSessionsRequest())
    assert created.client.id in {s.session_id for s in listed.sessions}


async def test_an_application_whose_owner_is_not_active_gets_no_token(flows):
    """Belt and braces: were an application left unrevoked, its owner's status still counts."""
    user, metadata = await owner(flows)
    created = await create(flows, metadata)
    await flows.db.execute(
        "UPDATE users SET status = 'DESACTIVE' WHERE id = $1", uuid.UUID(user.id)
    )

    refused = await flows.error(flows.stub.IssueClientToken(token_request(created)))

    assert (refused.code, refused.reason) == (grpc.StatusCode.UNAUTHENTICATED, "CLIENT_REVOKED")
    assert "désactivé" in refused.message


async def test_the_token_endpoint_is_cheap_on_the_database(flows):
    """last_used_at is written at most once a minute per application."""
    _, metadata = await owner(flows)
    created = await create(flows, metadata)
    await flows.stub.IssueClientToken(token_request(created))
    first = await flows.db.fetchval(
        "SELECT last_used_at FROM api_clients WHERE id = $1", uuid.UUID(created.client.id)
    )
    started = time.monotonic()
    for _ in range(5):
        await flows.stub.IssueClientToken(token_request(created))
    assert time.monotonic() - started < 5
    assert first == await flows.db.fetchval(
        "SELECT last_used_at FROM api_clients WHERE id = $1", uuid.UUID(created.client.id)
    )
    latest = await flows.stub.IssueClientToken(token_request(created))
    assert jwt.get_unverified_header(latest.access_token)["alg"] == "EdDSA"
