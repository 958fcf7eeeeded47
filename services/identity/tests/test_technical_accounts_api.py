"""Technical accounts through the real gRPC API, structures answering from a double: the
structure's managers activate, list, renew and revoke them; a connector authenticates with
one (AuthenticateTechnicalAccount, public) and gets a short token naming the structure; every
refusal has its own reason; the expiry scan reminds once per threshold."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import jwt
import pytest
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_identity.clients.structures import StructuresClient
from chorus_identity.domain.technical_accounts import (
    MAX_LIVE_ACCOUNTS_PER_STRUCTURE,
    PASSWORD_LENGTH,
    paris_date,
)
from chorus_identity.main import key_ring, rules_of
from chorus_identity.usecases.sessions import Sessions
from chorus_identity.usecases.technical_accounts import TechnicalAccounts
from chorus_platform import grpc_client
from chorus_platform.access_tokens import AUDIENCE, TECHNICAL_STRUCTURE_CLAIM
from chorus_platform.auth import TokenVerifier
from chorus_platform.grpc_client import identity_key_fetcher

from .conftest import Clock, own_unit_of_work, serving, structures_double


@pytest.fixture(scope="module")
async def structures():
    async with structures_double() as fake:
        yield fake


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
async def channel(identity_settings, structures, clock):
    """This module's server: calls to structures go to the double, expiry follows ``clock``."""
    async with serving(identity_settings, structures=structures, clock=clock) as channel:
        yield channel


@pytest.fixture(autouse=True)
def clock_back_to_now(clock):
    yield
    clock.offset = timedelta()


class Manager:
    """A user with a live session, manager of a structure of the double."""

    def __init__(self, flows, structures, user: pb.User, metadata, structure_id: str) -> None:
        self.flows, self.structures = flows, structures
        self.user, self.metadata, self.structure_id = user, metadata, structure_id

    def create(self, structure_id: str | None = None):
        request = pb.CreateTechnicalAccountRequest(structure_id=structure_id or self.structure_id)
        return self.flows.stub.CreateTechnicalAccount(request, metadata=self.metadata)

    def list(self, structure_id: str | None = None):
        request = pb.ListTechnicalAccountsRequest(structure_id=structure_id or self.structure_id)
        return self.flows.stub.ListTechnicalAccounts(request, metadata=self.metadata)

    def rotate(self, account_id: str, structure_id: str = ""):
        request = pb.RotateTechnicalAccountPasswordRequest(id=account_id, structure_id=structure_id)
        return self.flows.stub.RotateTechnicalAccountPassword(request, metadata=self.metadata)

    def revoke(self, account_id: str, structure_id: str = ""):
        request = pb.RevokeTechnicalAccountRequest(id=account_id, structure_id=structure_id)
        return self.flows.stub.RevokeTechnicalAccount(request, metadata=self.metadata)


async def person(flows) -> tuple[pb.User, tuple]:
    user = await flows.active_user()
    return user, flows.bearer((await flows.tokens(user.login_email)).access_token)


@pytest.fixture
async def manager(flows, structures) -> Manager:
    user, metadata = await person(flows)
    return Manager(flows, structures, user, metadata, structures.add(manager=user.id))


def authenticate(flows, login: str, password: str):
    request = pb.AuthenticateTechnicalAccountRequest(login=login, password=password)
    return flows.stub.AuthenticateTechnicalAccount(request)


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def test_a_manager_activates_an_account_whose_password_is_shown_once(manager, flows):
    before = datetime.now(UTC)

    created = await manager.create()

    account, password = created.account, created.password
    assert account.login.startswith("TECH_") and account.login.endswith("@cpro.chorus.local")
    assert len(password) == PASSWORD_LENGTH and password.isalnum()
    assert account.status == pb.TECHNICAL_ACCOUNT_STATUS_ACTIF
    assert account.structure_id == manager.structure_id
    assert account.created_by == manager.user.id
    expires_at = account.expires_at.ToDatetime(UTC)
    assert before + timedelta(days=365) <= expires_at <= datetime.now(UTC) + timedelta(days=365)
    row = await flows.db.fetchrow(
        "SELECT t.password_sha256, u.kind, u.status FROM technical_accounts t"
        " JOIN users u ON u.id = t.user_id WHERE t.user_id = $1",
        uuid.UUID(account.id),
    )
    assert row["password_sha256"] == hashlib.sha256(password.encode()).hexdigest()
    assert (row["kind"], row["status"]) == ("TECHNIQUE", "ACTIF")
    [activated] = await flows.events(ev.TechnicalAccountActivated, account.id)
    assert (activated.structure_id, activated.actor_user_id) == (
        manager.structure_id,
        manager.user.id,
    )
    assert password.encode() not in activated.SerializeToString()
    audit = await flows.db.fetchrow(
        "SELECT actor_id, details FROM security_events"
        " WHERE user_id = $1 AND kind = 'TECHNICAL_ACCOUNT_ACTIVATED'",
        uuid.UUID(account.id),
    )
    assert str(audit["actor_id"]) == manager.user.id and password not in audit["details"]
    listed = await manager.list()
    assert [a.id for a in listed.accounts] == [account.id] and password not in str(listed)
    # structures was asked with the manager's own token.
    assert manager.structures.authorizations[-1] == dict(manager.metadata)["authorization"]


async def test_the_token_is_a_short_access_token_naming_the_structure(manager, flows):
    created = await manager.create()

    issued = await authenticate(flows, created.account.login.lower(), created.password)

    assert issued.expires_in == 300
    assert (issued.structure_id, issued.user_id) == (manager.structure_id, created.account.id)
    assert issued.password_expires_at == created.account.expires_at
    claims = claims_of(issued.access_token)
    assert claims["aud"] == AUDIENCE and claims["exp"] - claims["iat"] == 300
    assert claims[TECHNICAL_STRUCTURE_CLAIM] == manager.structure_id
    session = await flows.db.fetchval(
        "SELECT session_id FROM technical_accounts WHERE user_id = $1",
        uuid.UUID(created.account.id),
    )
    assert claims["sid"] == str(session)
    principal = await TokenVerifier(identity_key_fetcher(flows.channel)).verify(issued.access_token)
    assert principal.user_id == created.account.id
    assert principal.technical_structure_id == manager.structure_id
    me = await flows.stub.GetMe(pb.GetMeRequest(), metadata=flows.bearer(issued.access_token))
    assert me.user.id == created.account.id


async def test_each_authentication_refusal_has_its_own_reason(manager, flows, clock):
    created = await manager.create()
    login, password = created.account.login, created.password

    unknown = await flows.error(authenticate(flows, "TECH_0@cpro.chorus.local", password))
    empty = await flows.error(authenticate(flows, "", password))
    wrong = await flows.error(authenticate(flows, login, password.swapcase()))
    clock.advance(timedelta(days=366))
    expired = await flows.error(authenticate(flows, login, password))
    expired_wrong = await flows.error(authenticate(flows, login, "x"))

    assert (unknown.code, unknown.reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "TECHNICAL_ACCOUNT_UNKNOWN",
    )
    assert empty.reason == "TECHNICAL_ACCOUNT_UNKNOWN"
    assert (wrong.code, wrong.reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "TECHNICAL_PASSWORD_INVALID",
    )
    day = paris_date(created.account.expires_at.ToDatetime(UTC))
    assert (expired.code, expired.reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "TECHNICAL_PASSWORD_EXPIRED",
    )
    assert expired.message == (
        f"Le mot de passe du compte technique a expiré le {day} : un gestionnaire de la "
        "structure doit le renouveler dans le portail."
    )
    assert expired.metadata["expired_on"] == day
    # Only who has the password learns that it expired.
    assert expired_wrong.reason == "TECHNICAL_PASSWORD_INVALID"
    listed = await manager.list()
    assert listed.accounts[0].status == pb.TECHNICAL_ACCOUNT_STATUS_EXPIRE


async def test_renewing_the_password_ends_the_old_one_and_its_tokens_at_once(manager, flows, clock):
    created = await manager.create()
    old = await authenticate(flows, created.account.login, created.password)
    clock.advance(timedelta(days=400))  # expired: renewing is how it comes back

    renewed = await manager.rotate(created.account.id, manager.structure_id)

    assert renewed.password != created.password and len(renewed.password) == PASSWORD_LENGTH
    assert renewed.account.status == pb.TECHNICAL_ACCOUNT_STATUS_ACTIF
    assert renewed.account.expires_at.ToDatetime(UTC) > datetime.now(UTC) + timedelta(days=700)
    refused = await flows.error(authenticate(flows, created.account.login, created.password))
    assert refused.reason == "TECHNICAL_PASSWORD_INVALID"
    new = await authenticate(flows, created.account.login, renewed.password)
    assert claims_of(new.access_token)["sid"] != claims_of(old.access_token)["sid"]
    revoked = await flows.error(
        flows.stub.GetMe(pb.GetMeRequest(), metadata=flows.bearer(old.access_token))
    )
    assert (revoked.code, revoked.reason) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_REVOKED")
    await flows.stub.GetMe(pb.GetMeRequest(), metadata=flows.bearer(new.access_token))
    [ended] = await flows.events(ev.SessionRevoked, created.account.id)
    assert ended.session_id == claims_of(old.access_token)["sid"]
    assert ended.reason == ev.SESSION_REVOCATION_REASON_TECHNICAL_PASSWORD_ROTATED
    listed = await flows.stub.ListRevokedSessions(pb.ListRevokedSessionsRequest())
    assert ended.session_id in {s.session_id for s in listed.sessions}
    [rotated] = await flows.events(ev.TechnicalAccountPasswordRotated, created.account.id)
    assert rotated.password_expires_at == renewed.account.expires_at


async def test_a_revoked_account_is_refused_for_good(manager, flows):
    created = await manager.create()
    token = await authenticate(flows, created.account.login, created.password)

    revoked = await manager.revoke(created.account.id)
    again = await manager.revoke(created.account.id)

    assert revoked.account.status == pb.TECHNICAL_ACCOUNT_STATUS_REVOQUE
    assert again.account == revoked.account
    refusal = await flows.error(authenticate(flows, created.account.login, created.password))
    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "TECHNICAL_ACCOUNT_REVOKED",
    )
    assert "révoqué le" in refusal.message
    stale = await flows.error(
        flows.stub.GetMe(pb.GetMeRequest(), metadata=flows.bearer(token.access_token))
    )
    assert stale.reason == "SESSION_REVOKED"
    [ended] = await flows.events(ev.SessionRevoked, created.account.id)
    assert ended.reason == ev.SESSION_REVOCATION_REASON_TECHNICAL_ACCOUNT_REVOKED
    assert len(await flows.events(ev.TechnicalAccountRevoked, created.account.id)) == 1
    cannot = await flows.error(manager.rotate(created.account.id))
    assert (cannot.code, cannot.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "TECHNICAL_ACCOUNT_REVOKED",
    )


async def test_only_the_structure_s_managers_manage_its_accounts(manager, flows, structures):
    created = await manager.create()
    member, member_md = await person(flows)
    structures.members.add((member.id, manager.structure_id))
    _, outsider_md = await person(flows)
    as_member = Manager(flows, structures, member, member_md, manager.structure_id)
    as_outsider = Manager(flows, structures, member, outsider_md, manager.structure_id)
    rows_before = await flows.db.fetchval("SELECT count(*) FROM technical_accounts")

    for call in (as_member.create(), as_member.list(), as_outsider.create(), as_outsider.list()):
        refused = await flows.error(call)
        assert (refused.code, refused.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "MANAGER_REQUIRED",
        )
    simple = await flows.error(as_member.rotate(created.account.id))
    assert simple.reason == "MANAGER_REQUIRED"
    # An account of a structure the caller has nothing to do with is "not found".
    for call in (as_outsider.rotate(created.account.id), as_outsider.revoke(created.account.id)):
        hidden = await flows.error(call)
        assert (hidden.code, hidden.reason) == (
            grpc.StatusCode.NOT_FOUND,
            "TECHNICAL_ACCOUNT_NOT_FOUND",
        )
    assert await flows.db.fetchval("SELECT count(*) FROM technical_accounts") == rows_before
    assert (await authenticate(flows, created.account.login, created.password)).access_token


async def test_unknown_malformed_and_inactive_structures_are_refused(manager, flows, structures):
    unknown = await flows.error(manager.create(str(uuid.uuid4())))
    malformed = await flows.error(manager.create("structure-42"))
    bad_account = await flows.error(manager.rotate("42"))
    missing = await flows.error(manager.revoke(str(uuid.uuid4())))
    created = await manager.create()
    elsewhere = await flows.error(manager.rotate(created.account.id, str(uuid.uuid4())))
    structures.inactive.add(manager.structure_id)
    inactive = await flows.error(manager.create())

    assert (unknown.code, unknown.reason) == (grpc.StatusCode.NOT_FOUND, "STRUCTURE_NOT_FOUND")
    assert (malformed.code, malformed.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "STRUCTURE_ID_INVALID",
    )
    assert (bad_account.code, bad_account.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "TECHNICAL_ACCOUNT_ID_INVALID",
    )
    assert (missing.code, missing.reason) == (
        grpc.StatusCode.NOT_FOUND,
        "TECHNICAL_ACCOUNT_NOT_FOUND",
    )
    assert elsewhere.reason == "TECHNICAL_ACCOUNT_NOT_FOUND"
    assert (inactive.code, inactive.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "STRUCTURE_INACTIVE",
    )


async def test_a_structure_holds_a_bounded_number_of_live_accounts(manager, flows):
    made = [await manager.create() for _ in range(MAX_LIVE_ACCOUNTS_PER_STRUCTURE)]

    over = await flows.error(manager.create())

    assert (over.code, over.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "TECHNICAL_ACCOUNT_LIMIT_REACHED",
    )
    await manager.revoke(made[0].account.id)
    assert (await manager.create()).password
    assert len(set(m.account.login for m in made)) == MAX_LIVE_ACCOUNTS_PER_STRUCTURE


async def test_wrong_passwords_lock_the_login_like_a_person_s(manager, flows):
    created = await manager.create()
    login, password = created.account.login, created.password

    for _ in range(flows.settings.login_max_failures - 1):
        assert (await flows.error(authenticate(flows, login, "faux"))).reason == (
            "TECHNICAL_PASSWORD_INVALID"
        )
    locking = await flows.error(authenticate(flows, login, "faux"))
    locked = await flows.error(authenticate(flows, login.lower(), password))

    assert (locking.code, locking.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ACCOUNT_LOCKED")
    assert (locked.code, locked.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ACCOUNT_LOCKED")
    assert int(locked.metadata["retry_after_seconds"]) > 0
    # No mailbox behind a technical account: nobody is e-mailed, the lock is audited.
    assert await flows.events(ev.AccountLocked, created.account.id) == []
    audit = await flows.db.fetchval(
        "SELECT count(*) FROM security_events WHERE user_id = $1 AND kind = 'ACCOUNT_LOCKED'",
        uuid.UUID(created.account.id),
    )
    assert audit == 1


async def test_a_technical_account_is_no_person(manager, flows):
    created = await manager.create()
    login, password = created.account.login, created.password
    token = await authenticate(flows, login, password)
    as_technical = flows.bearer(token.access_token)

    portal = await flows.error(flows.login(login, password))
    found = await flows.error(
        flows.stub.FindUserByLoginEmail(
            pb.FindUserByLoginEmailRequest(login_email=login), metadata=manager.metadata
        )
    )
    reset = await flows.error(
        flows.stub.RequestPasswordReset(pb.RequestPasswordResetRequest(login_email=login))
    )

    assert (portal.code, portal.reason) == (grpc.StatusCode.UNAUTHENTICATED, "INVALID_CREDENTIALS")
    # Its login is in a special-use domain (.local): no person's address, no reset link.
    assert found.code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)
    assert (reset.code, reset.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "EMAIL_INVALID")
    assert await flows.events(ev.PasswordResetRequested, created.account.id) == []
    # Its token manages no credential and changes nothing of "Mon compte".
    forbidden_calls = [
        flows.stub.CreateApiClient(pb.CreateApiClientRequest(name="x"), metadata=as_technical),
        flows.stub.ListApiClients(pb.ListApiClientsRequest(), metadata=as_technical),
        flows.stub.CreateTechnicalAccount(
            pb.CreateTechnicalAccountRequest(structure_id=manager.structure_id),
            metadata=as_technical,
        ),
        flows.stub.UpdateMe(pb.UpdateMeRequest(first_name="Robot"), metadata=as_technical),
        flows.stub.StartTotpEnrolment(pb.StartTotpEnrolmentRequest(), metadata=as_technical),
        flows.stub.RevokeMySession(
            pb.RevokeMySessionRequest(session_id=claims_of(token.access_token)["sid"]),
            metadata=as_technical,
        ),
    ]
    for call in forbidden_calls:
        refused = await flows.error(call)
        assert (refused.code, refused.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "TECHNICAL_ACCOUNT_FORBIDDEN",
        )
    assert (await authenticate(flows, login, password)).access_token


async def test_structures_unreachable_changes_nothing(isolated_flows):
    """A server whose structures does not answer: UNAVAILABLE, nothing stored."""
    other = isolated_flows
    user = await other.active_user()
    metadata = other.bearer((await other.tokens(user.login_email)).access_token)

    refused = await other.error(
        other.stub.CreateTechnicalAccount(
            pb.CreateTechnicalAccountRequest(structure_id=str(uuid.uuid4())), metadata=metadata
        )
    )

    assert (refused.code, refused.reason) == (grpc.StatusCode.UNAVAILABLE, "STRUCTURES_UNAVAILABLE")
    assert await other.db.fetchval("SELECT count(*) FROM technical_accounts") == 0


# --- the expiry scan ---


def scanner(settings, uow, clock) -> TechnicalAccounts:
    rules = rules_of(settings)
    keys = key_ring(settings, uow)
    unused = StructuresClient(grpc_client.open_channel("127.0.0.1:1", 1))
    return TechnicalAccounts(uow, keys, Sessions(uow, keys, rules), unused, rules, clock=clock)


async def expiring_events(flows, account_id: str) -> list[int]:
    return [
        e.days_left for e in await flows.events(ev.TechnicalAccountPasswordExpiring, account_id)
    ]


async def test_the_scan_reminds_30_then_7_days_before_once_each(manager, flows, clock):
    soon = (await manager.create()).account
    later = (await manager.create()).account
    gone = (await manager.create()).account
    await manager.revoke(gone.id)
    async with own_unit_of_work(flows.settings) as uow:
        scan = scanner(flows.settings, uow, clock)

        clock.advance(timedelta(days=365 - 20))  # 20 days left
        first = await scan.send_expiry_reminders()
        again = await scan.send_expiry_reminders()
        clock.advance(timedelta(days=14))  # 6 days left
        week = await scan.send_expiry_reminders()
        week_again = await scan.send_expiry_reminders()

    mine = {soon.id, later.id, gone.id}
    assert sorted(r.days_left for r in first if r.account_id in mine) == [30, 30]
    assert [r for r in again if r.account_id in mine] == []
    assert sorted(r.days_left for r in week if r.account_id in mine) == [7, 7]
    assert [r for r in week_again if r.account_id in mine] == []
    assert await expiring_events(flows, soon.id) == [30, 7]
    assert await expiring_events(flows, gone.id) == []
    [event] = (await flows.events(ev.TechnicalAccountPasswordExpiring, later.id))[:1]
    assert (event.structure_id, event.login) == (manager.structure_id, later.login)
    assert event.expires_at == later.expires_at


async def test_an_account_found_within_7_days_gets_that_reminder_only_and_renewal_resets(
    manager, flows, clock
):
    account = (await manager.create()).account
    async with own_unit_of_work(flows.settings) as uow:
        scan = scanner(flows.settings, uow, clock)
        clock.advance(timedelta(days=365 - 3))
        await scan.send_expiry_reminders()
        assert await expiring_events(flows, account.id) == [7]
        clock.offset = timedelta()
        renewed = await manager.rotate(account.id)  # the clock of the server: now + 0
        assert renewed.account.expires_at.ToDatetime(UTC) > datetime.now(UTC) + timedelta(days=300)
        clock.advance(timedelta(days=365 - 25))
        await scan.send_expiry_reminders()
    assert await expiring_events(flows, account.id) == [7, 30]


async def test_replicas_scanning_together_remind_each_account_once(manager, flows, clock):
    accounts = [(await manager.create()).account for _ in range(5)]
    clock.advance(timedelta(days=365 - 10))
    async with own_unit_of_work(flows.settings) as one, own_unit_of_work(flows.settings) as two:
        replicas = [scanner(flows.settings, uow, clock) for uow in (one, two, one, two)]
        await asyncio.gather(*(r.send_expiry_reminders() for r in replicas))
    for account in accounts:
        assert await expiring_events(flows, account.id) == [30]
