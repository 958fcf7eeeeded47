"""Portal pages of the account lifecycle: terms at sign-up, second factor at login, password
reset with the secret question."""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.errors import InvalidArgument

from .test_portal import HTML, csrf_of


async def test_sign_up_sends_the_terms_acceptance(api, services):
    services.identity.answer("RegisterAccount", pb.RegisterAccountResponse())
    page = await api.get("/inscription", headers=HTML)
    assert 'name="terms_accepted"' in page.text

    response = await api.post(
        "/inscription",
        data={
            "csrf_token": csrf_of(page.text),
            "login_email": "marie@example.fr",
            "first_name": "Marie",
            "last_name": "Curie",
            "terms_accepted": "on",
        },
        headers=HTML,
    )

    assert response.status_code == 200
    assert services.identity.calls_to("RegisterAccount")[0].request.terms_accepted is True
    # The same page whether or not the address had an account: it says what each case gets.
    assert "si elle en a déjà un, il vous\n       indique comment vous connecter" in response.text
    assert "Votre compte est créé" not in response.text


async def test_login_with_two_factor_asks_for_the_code(api, services):
    services.identity.answer(
        "CreateSession", pb.CreateSessionResponse(mfa_required=True, mfa_challenge_id="ch-9")
    )
    services.identity.answer(
        "CompleteMfaChallenge",
        pb.CompleteMfaChallengeResponse(
            tokens=pb.TokenPair(access_token="acc", refresh_token="ref", expires_in=900)
        ),
    )
    csrf = csrf_of((await api.get("/connexion", headers=HTML)).text)
    asked = await api.post(
        "/connexion",
        data={"csrf_token": csrf, "login_email": "marie@example.fr", "password": "pw"},
        headers=HTML,
    )
    assert asked.status_code == 200
    assert 'value="ch-9"' in asked.text and "Double authentification" in asked.text

    done = await api.post(
        "/connexion/code",
        data={"csrf_token": csrf, "challenge_id": "ch-9", "code": " 123456 "},
        headers=HTML,
    )
    assert done.status_code == 303
    [call] = services.identity.calls_to("CompleteMfaChallenge")
    assert call.request.code == "123456"


async def test_reset_page_shows_the_secret_question_and_the_refusals(api, services):
    services.identity.answer(
        "GetPasswordReset", pb.GetPasswordResetResponse(secret_question="Ville natale ?")
    )
    services.identity.answer(
        "ConfirmPasswordReset",
        InvalidArgument(
            "SECRET_ANSWER_INVALID", "La réponse à la question secrète est incorrecte."
        ),
    )
    page = await api.get("/mot-de-passe/reinitialisation", params={"token": "t-1"}, headers=HTML)
    assert "Ville natale ?" in page.text

    refused = await api.post(
        "/mot-de-passe/reinitialisation",
        data={
            "csrf_token": csrf_of(page.text),
            "token": "t-1",
            "question": "Ville natale ?",
            "secret_answer": "Paris",
            "password": "Un-Bon-Mot2passe",
            "password_confirmation": "Un-Bon-Mot2passe",
        },
        headers=HTML,
    )
    assert refused.status_code == 422
    assert "La réponse à la question secrète est incorrecte." in refused.text
    assert "Un-Bon-Mot2passe" not in refused.text
