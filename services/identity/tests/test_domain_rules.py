"""Pure rules: registration validation, secret answers, opaque tokens, refresh verdicts."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from chorus_identity.domain.accounts import (
    Account,
    UserStatus,
    parse_user_ids,
    validate_registration,
)
from chorus_identity.domain.opaque_tokens import hash_token, new_token
from chorus_identity.domain.secret_question import normalise_answer, validate_secret_question
from chorus_identity.domain.sessions import (
    PresentedRefreshToken,
    RefreshVerdict,
    judge_refresh,
)
from chorus_platform.errors import InvalidArgument

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def register(**fields):
    values = {
        "login_email": "jean@example.fr",
        "contact_email": "",
        "first_name": "Jean",
        "last_name": "Dupont",
        "phone": "",
    }
    return validate_registration(**{**values, **fields})


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Minou", "minou"),
        ("  Élodie   DUPONT ", "elodie dupont"),
        ("Straße", "strasse"),
        ("ÇA\tVA\n bien", "ca va bien"),
        ("l'Hôpital-Saint-Éloi", "l'hopital-saint-eloi"),
        ("ｆｕｌｌｗｉｄｔｈ", "fullwidth"),
        ("   ", ""),
    ],
)
def test_secret_answers_ignore_case_accents_and_spacing(raw, normalised):
    assert normalise_answer(raw) == normalised


def test_secret_question_is_trimmed_and_answer_normalised():
    secret = validate_secret_question("  Ville de naissance ?  ", " Saint-Étienne ")

    assert (secret.question, secret.normalised_answer) == ("Ville de naissance ?", "saint-etienne")


def test_overlong_secret_answer_is_refused():
    with pytest.raises(InvalidArgument) as error:
        validate_secret_question("Question ?", "x" * 201)

    assert error.value.reason == "FIELD_TOO_LONG"


def test_tokens_are_long_random_and_stored_as_sha256():
    tokens = {new_token() for _ in range(100)}

    assert len(tokens) == 100
    assert all(len(t) >= 43 for t in tokens)
    token = tokens.pop()
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert hash_token(token) == hash_token(token)
    assert token not in hash_token(token)


def test_registration_is_normalised():
    registration = register(
        login_email=" Jean.Dupont@EXAMPLE.Fr ",
        first_name="  Jean  Pierre ",
        phone=" 06 12 34 56 78 ",
    )

    assert registration.login_email == "jean.dupont@example.fr"
    assert registration.contact_email == "jean.dupont@example.fr"
    assert registration.first_name == "Jean Pierre"
    assert registration.phone == "06 12 34 56 78"


@pytest.mark.parametrize("email", ["plainaddress", "a@b", "a@@example.fr", "a b@example.fr"])
def test_malformed_emails_are_refused(email):
    with pytest.raises(InvalidArgument) as error:
        register(login_email=email)

    assert error.value.reason == "EMAIL_INVALID"
    assert [v.field for v in error.value.violations] == ["login_email"]


def test_accents_before_the_at_sign_are_refused_with_a_clear_message():
    with pytest.raises(InvalidArgument) as error:
        register(login_email="solène.martin@exemple.fr")

    assert error.value.reason == "EMAIL_INVALID"
    assert "accentuées" in error.value.violations[0].description


def test_an_internationalised_domain_is_kept_in_its_ascii_form():
    registration = register(login_email="Marie@Mairie-Orléans.fr")

    assert registration.login_email == "marie@xn--mairie-orlans-khb.fr"


def test_names_may_be_100_characters_but_not_more():
    assert register(last_name="x" * 100).last_name == "x" * 100
    with pytest.raises(InvalidArgument) as error:
        register(last_name="x" * 101)
    assert error.value.reason == "FIELD_TOO_LONG"


def test_malformed_phone_is_refused():
    with pytest.raises(InvalidArgument) as error:
        register(phone="call me")

    assert error.value.reason == "PHONE_INVALID"


def test_other_users_do_not_see_the_login_email():
    account = Account(
        id="u1",
        login_email="a@example.fr",
        contact_email="c@example.fr",
        first_name="A",
        last_name="B",
        phone="",
        locale="fr",
        status=UserStatus.ACTIF,
        created_at=NOW,
    )

    assert account.as_seen_by("u1").login_email == "a@example.fr"
    assert account.as_seen_by("u2").login_email == ""
    assert account.as_seen_by("u2").contact_email == "c@example.fr"


def test_user_ids_are_deduplicated_in_order():
    a, b = uuid.uuid4(), uuid.uuid4()

    assert parse_user_ids([str(b), str(a), str(b)]) == [b, a]


def presented(**changes) -> PresentedRefreshToken:
    values = {
        "session_id": "s",
        "user_id": "u",
        "generation": 1,
        "expires_at": NOW + timedelta(days=1),
        "spent_at": None,
        "session_revoked_at": None,
        "user_status": UserStatus.ACTIF,
    }
    return PresentedRefreshToken(**{**values, **changes})


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ({}, RefreshVerdict.ROTATE),
        ({"spent_at": NOW}, RefreshVerdict.REVOKE_SESSION),
        ({"expires_at": NOW}, RefreshVerdict.REFUSE),
        ({"session_revoked_at": NOW}, RefreshVerdict.REFUSE),
        ({"session_revoked_at": NOW, "spent_at": NOW}, RefreshVerdict.REFUSE),
        ({"user_status": UserStatus.DESACTIVE}, RefreshVerdict.REFUSE),
    ],
)
def test_refresh_verdicts(changes, verdict):
    assert judge_refresh(presented(**changes), NOW) is verdict
