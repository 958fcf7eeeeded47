"""Registration and activation through the real gRPC API, against a migrated database."""

import asyncio
import hashlib

import grpc
from argon2 import PasswordHasher
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.auth import TokenVerifier
from chorus_platform.grpc_client import identity_key_fetcher

from .conftest import open_token


async def test_register_activate_login_and_call_an_authenticated_rpc(flows, stub, channel, db):
    user = await flows.register(
        "  Camille.Martin@Example.FR ", first_name=" Camille ", last_name="Martin"
    )
    assert user.status == pb.USER_STATUS_EN_ATTENTE_ACTIVATION
    assert user.login_email == "camille.martin@example.fr"
    assert user.contact_email == "camille.martin@example.fr"
    assert user.first_name == "Camille"

    [registered] = await flows.events(ev.UserRegistered, user.id)
    assert registered.login_email == "camille.martin@example.fr"
    assert registered.locale == "fr"
    [link] = await flows.events(ev.ActivationLinkIssued, user.id)
    assert link.activation_token == ""  # deprecated: the token only travels sealed
    token = open_token(link)
    assert len(token) >= 43 and token.encode() not in link.sealed_token
    assert link.contact_email == "camille.martin@example.fr"
    stored = await db.fetchval("SELECT token_hash FROM account_tokens WHERE user_id = $1", user.id)
    assert stored == hashlib.sha256(token.encode()).hexdigest()

    activated = (await flows.activation(token)).user
    assert activated.status == pb.USER_STATUS_ACTIF
    [event] = await flows.events(ev.UserActivated, user.id)
    assert event.activated_at.seconds > 0

    tokens = await flows.tokens("CAMILLE.martin@example.fr")
    assert tokens.expires_in == 900
    verifier = TokenVerifier(identity_key_fetcher(channel))
    principal = await verifier.verify(tokens.access_token)
    assert principal.user_id == user.id

    me = (await stub.GetMe(pb.GetMeRequest(), metadata=flows.bearer(tokens.access_token))).user
    assert (me.id, me.login_email, me.status) == (user.id, user.login_email, pb.USER_STATUS_ACTIF)


async def test_only_argon2id_hashes_of_password_and_normalised_answer_are_stored(flows, db):
    user = await flows.register()
    token = await flows.activation_token(user.id)
    await flows.activation(token, secret_answer="  Éléonore   DU Pré ")

    row = await db.fetchrow("SELECT * FROM credentials WHERE user_id = $1", user.id)
    assert row["password_hash"].startswith("$argon2id$")
    assert flows.password not in row["password_hash"]
    assert PasswordHasher().verify(row["password_hash"], flows.password)
    assert PasswordHasher().verify(row["secret_answer_hash"], "eleonore du pre")
    assert row["secret_question"] == "Nom de mon premier chat ?"


def register_request(email: str, **fields) -> pb.RegisterAccountRequest:
    fields = {"first_name": "Intrus", "last_name": "Inconnu", "terms_accepted": True, **fields}
    return pb.RegisterAccountRequest(login_email=email, **fields)


async def audited_outcomes(db, user_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT details ->> 'outcome' AS outcome FROM security_events"
        " WHERE user_id = $1 AND kind = 'EXISTING_ACCOUNT_REGISTRATION_ATTEMPTED' ORDER BY seq",
        user_id,
    )
    return [row["outcome"] for row in rows]


async def test_a_taken_address_answers_like_a_new_one_and_its_owner_is_told(flows, stub, db):
    owner = await flows.active_user()
    new_address = flows.new_email()

    taken = await stub.RegisterAccount(register_request(owner.login_email.upper()))
    free = await stub.RegisterAccount(register_request(new_address))

    assert taken == free == pb.RegisterAccountResponse()
    # Nothing of the account changed, no second one exists.
    assert (
        await db.fetchval("SELECT count(*) FROM users WHERE login_email = $1", owner.login_email)
        == 1
    )
    stored = await flows.account_of(owner.login_email)
    assert (stored.id, stored.first_name, stored.status) == (
        owner.id,
        "Camille",
        pb.USER_STATUS_ACTIF,
    )
    registered = [
        e for e in await flows.events(ev.UserRegistered) if e.login_email == owner.login_email
    ]
    assert len(registered) == 1
    # The owner is told, at the address that was typed.
    [notice] = await flows.events(ev.ExistingAccountRegistrationAttempted, owner.id)
    assert (notice.login_email, notice.first_name, notice.locale) == (
        owner.login_email,
        "Camille",
        "fr",
    )
    assert notice.account_active and notice.attempted_at.seconds > 0
    assert await audited_outcomes(db, owner.id) == ["NOTICE_SENT"]


async def test_the_owner_of_a_taken_address_is_told_at_most_once_an_hour(flows, stub, db):
    owner = await flows.active_user()

    for _ in range(3):
        await stub.RegisterAccount(register_request(owner.login_email))

    assert len(await flows.events(ev.ExistingAccountRegistrationAttempted, owner.id)) == 1
    assert await audited_outcomes(db, owner.id) == [
        "NOTICE_SENT",
        "NOTICE_ALREADY_SENT",
        "NOTICE_ALREADY_SENT",
    ]
    # An hour later, the next attempt is told again.
    await db.execute(
        "UPDATE security_events SET occurred_at = occurred_at - interval '61 minutes'"
        " WHERE user_id = $1",
        owner.id,
    )
    await stub.RegisterAccount(register_request(owner.login_email))
    assert len(await flows.events(ev.ExistingAccountRegistrationAttempted, owner.id)) == 2


async def test_a_deactivated_account_is_told_it_is_deactivated(flows, stub):
    owner = await flows.active_user()
    auth = flows.bearer((await flows.tokens(owner.login_email)).access_token)
    await stub.DeactivateMe(pb.DeactivateMeRequest(current_password=flows.password), metadata=auth)

    await stub.RegisterAccount(register_request(owner.login_email))

    [notice] = await flows.events(ev.ExistingAccountRegistrationAttempted, owner.id)
    assert not notice.account_active
    assert await flows.status_of(owner.id) == "DESACTIVE"


async def test_registering_a_pending_address_again_sends_a_new_activation_link(flows, stub, db):
    pending = await flows.register()
    first = await flows.activation_token(pending.id)

    answer = await stub.RegisterAccount(register_request(pending.login_email, first_name="Autre"))

    assert answer == pb.RegisterAccountResponse()
    second = await flows.activation_token(pending.id)
    assert second != first
    assert (await flows.error(flows.activation(first))).reason == "ACTIVATION_TOKEN_INVALID"
    assert await flows.events(ev.ExistingAccountRegistrationAttempted, pending.id) == []
    assert await audited_outcomes(db, pending.id) == ["ACTIVATION_LINK_REISSUED"]
    activated = (await flows.activation(second)).user
    assert (activated.status, activated.first_name) == (pb.USER_STATUS_ACTIF, "Camille")


async def test_two_registrations_of_one_new_address_at_once_make_one_account(flows, stub, db):
    email = flows.new_email()

    answers = await asyncio.gather(
        *(stub.RegisterAccount(register_request(email)) for _ in range(4))
    )

    assert all(answer == pb.RegisterAccountResponse() for answer in answers)
    assert await db.fetchval("SELECT count(*) FROM users WHERE login_email = $1", email) == 1


async def test_malformed_login_email_is_refused_and_nothing_is_stored(flows, db):
    users, events = await db.fetchrow("SELECT (SELECT count(*) FROM users), count(*) FROM outbox")

    error = await flows.error(flows.register("not-an-email@"))

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "EMAIL_INVALID"
    assert [v.field for v in error.violations] == ["login_email"]
    after = await db.fetchrow("SELECT (SELECT count(*) FROM users), count(*) FROM outbox")
    assert tuple(after) == (users, events)


async def test_every_missing_or_too_long_field_is_reported(flows):
    error = await flows.error(
        flows.register("", first_name="  ", last_name="x" * 101, contact_email="nope")
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "FIELD_REQUIRED"
    assert [v.field for v in error.violations] == [
        "login_email",
        "contact_email",
        "first_name",
        "last_name",
    ]


async def test_contact_email_and_phone_are_kept_when_given(flows):
    user = await flows.register(contact_email="Compta@Example.fr", phone="+33 1 23 45 67 89")

    assert user.contact_email == "compta@example.fr"
    assert user.phone == "+33 1 23 45 67 89"


async def test_unknown_activation_token_is_refused(flows):
    error = await flows.error(flows.activation("no-such-token"))

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "ACTIVATION_TOKEN_INVALID"


async def test_expired_activation_token_is_refused_and_changes_nothing(flows, db):
    user = await flows.register()
    token = await flows.activation_token(user.id)
    await db.execute(
        "UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1",
        user.id,
    )

    error = await flows.error(flows.activation(token))

    assert error.reason == "ACTIVATION_TOKEN_INVALID"
    assert await flows.status_of(user.id) == "EN_ATTENTE_ACTIVATION"
    assert await db.fetchval("SELECT count(*) FROM credentials WHERE user_id = $1", user.id) == 0
    assert await flows.events(ev.UserActivated, user.id) == []


async def test_activation_token_works_only_once(flows, db):
    user = await flows.register()
    token = await flows.activation_token(user.id)
    await flows.activation(token)

    error = await flows.error(flows.activation(token, password="Another-Pass-2024"))

    assert error.reason == "ACTIVATION_TOKEN_INVALID"
    assert len(await flows.events(ev.UserActivated, user.id)) == 1
    used_at = await db.fetchval("SELECT used_at FROM account_tokens WHERE user_id = $1", user.id)
    assert used_at is not None
    await flows.tokens(user.login_email)  # the first password still works


async def test_weak_password_is_refused_with_what_is_missing_and_changes_nothing(flows, db):
    user = await flows.register()
    token = await flows.activation_token(user.id)

    error = await flows.error(flows.activation(token, password="motdepasse"))

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    # Every rule broken is reported; the reason is the first one's.
    assert error.reason == "PASSWORD_TOO_SHORT"
    assert error.metadata["codes"] == "PASSWORD_TOO_SHORT,PASSWORD_TOO_WEAK,PASSWORD_TOO_COMMON"
    assert "au moins 12 caractères" in error.message
    assert "majuscules" in error.message and "chiffres" in error.message
    assert "motdepasse" not in error.message
    assert [v.field for v in error.violations] == ["password"] * 3
    assert await flows.status_of(user.id) == "EN_ATTENTE_ACTIVATION"
    assert await flows.events(ev.UserActivated, user.id) == []
    # The link was not spent: a valid password still activates the account.
    assert (await flows.activation(token)).user.status == pb.USER_STATUS_ACTIF


async def test_secret_question_and_answer_are_required(flows):
    user = await flows.register()
    token = await flows.activation_token(user.id)

    error = await flows.error(flows.activation(token, secret_question="", secret_answer=" \t"))

    assert error.reason == "FIELD_REQUIRED"
    assert [v.field for v in error.violations] == ["secret_question", "secret_answer"]
    assert await flows.status_of(user.id) == "EN_ATTENTE_ACTIVATION"


async def test_resend_supersedes_the_previous_link(flows, stub):
    user = await flows.register()
    first = await flows.activation_token(user.id)

    await stub.ResendActivation(pb.ResendActivationRequest(login_email=user.login_email.upper()))

    second = await flows.activation_token(user.id)
    assert second != first
    assert (await flows.error(flows.activation(first))).reason == "ACTIVATION_TOKEN_INVALID"
    assert (await flows.activation(second)).user.status == pb.USER_STATUS_ACTIF


async def test_resend_answers_the_same_for_unknown_and_active_accounts(flows, stub):
    active = await flows.active_user()
    links_before = len(await flows.events(ev.ActivationLinkIssued))

    for email in (flows.new_email(), active.login_email):
        response = await stub.ResendActivation(pb.ResendActivationRequest(login_email=email))
        assert response == pb.ResendActivationResponse()

    assert len(await flows.events(ev.ActivationLinkIssued)) == links_before


async def test_batch_get_users_shows_login_email_only_to_its_owner(flows, stub):
    me, other = await flows.active_user(), await flows.active_user()
    tokens = await flows.tokens(me.login_email)

    response = await stub.BatchGetUsers(
        pb.BatchGetUsersRequest(user_ids=[other.id, me.id, other.id]),
        metadata=flows.bearer(tokens.access_token),
    )

    assert [u.id for u in response.users] == [other.id, me.id]
    assert response.users[0].login_email == ""
    assert response.users[0].last_name == "Martin"
    assert response.users[1].login_email == me.login_email


async def test_batch_get_users_refuses_more_than_100_ids_and_malformed_ids(flows, stub):
    me = await flows.active_user()
    metadata = flows.bearer((await flows.tokens(me.login_email)).access_token)

    too_many = pb.BatchGetUsersRequest(user_ids=[me.id] * 101)
    error = await flows.error(stub.BatchGetUsers(too_many, metadata=metadata))
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "TOO_MANY_USER_IDS")

    malformed = pb.BatchGetUsersRequest(user_ids=[me.id, "42"])
    error = await flows.error(stub.BatchGetUsers(malformed, metadata=metadata))
    assert error.reason == "USER_ID_INVALID"
    assert [v.field for v in error.violations] == ["user_ids[1]"]


async def test_a_nul_or_control_character_in_any_string_is_refused_before_anything_runs(
    flows, stub, db
):
    """Unauthenticated RPCs included (registration, login): the platform's request hygiene
    names the field, nothing is stored, and no 500 comes out of it."""
    email = flows.new_email()
    before = await db.fetchval("SELECT count(*) FROM users")

    registration = await flows.error(
        stub.RegisterAccount(
            pb.RegisterAccountRequest(
                login_email=email, first_name="Cami\x00lle", last_name="Mar\x1btin",
                terms_accepted=True,
            )
        )
    )  # fmt: skip
    login = await flows.error(flows.login(f"{email}\x00", user_agent="curl\x07"))

    assert (registration.code, registration.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "STRING_INVALID",
    )
    assert [v.field for v in registration.violations] == ["first_name", "last_name"]
    assert "caractère interdit" in registration.violations[0].description
    assert (login.reason, [v.field for v in login.violations]) == (
        "STRING_INVALID",
        ["login_email", "client.user_agent"],
    )
    assert await db.fetchval("SELECT count(*) FROM users") == before
