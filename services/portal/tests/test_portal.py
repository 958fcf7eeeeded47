"""The French web portal: landing, activation, login, logout; and the access log."""

from __future__ import annotations

import re

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.errors import FieldViolation, InvalidArgument, Unauthenticated
from chorus_platform.logging import JsonFormatter

HTML = {"Accept": "text/html"}
ACTIVATION_TOKEN = "act-7f3a9c-secret"


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF field in the page"
    return match.group(1)


async def open_activation(api) -> str:
    page = await api.get("/activation", params={"token": ACTIVATION_TOKEN}, headers=HTML)
    assert page.status_code == 200
    return csrf_of(page.text)


def activation_form(csrf: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "token": ACTIVATION_TOKEN,
        "password": "Un-Bon-Mot2passe",
        "password_confirmation": "Un-Bon-Mot2passe",
        "secret_question": "Ville de naissance ?",
        "secret_answer": "Lyon",
    }
    return {**form, **changes}


async def test_landing_page_is_french_and_links_the_way_in(api):
    response = await api.get("/", headers=HTML)

    assert response.status_code == 200
    assert '<html lang="fr">' in response.text
    assert "facturation électronique" in response.text
    for link in ('href="/inscription"', 'href="/connexion"', 'href="/api/v1/docs"'):
        assert link in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


async def test_activation_page_renders_the_form_in_french(api):
    response = await api.get("/activation", params={"token": ACTIVATION_TOKEN}, headers=HTML)

    assert "Activer votre compte" in response.text
    assert "Question secrète" in response.text
    assert f'name="token" value="{ACTIVATION_TOKEN}"' in response.text
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "chorus_csrf" in response.cookies


async def test_activation_form_posts_to_identity_and_confirms(api, services):
    services.identity.answer(
        "ActivateAccount",
        pb.ActivateAccountResponse(user=pb.User(id="u1", status=pb.USER_STATUS_ACTIF)),
    )
    csrf = await open_activation(api)

    response = await api.post("/activation", data=activation_form(csrf), headers=HTML)

    assert response.status_code == 200
    assert "Votre compte est activé" in response.text
    [call] = services.identity.calls_to("ActivateAccount")
    assert call.request.token == ACTIVATION_TOKEN
    assert call.request.password == "Un-Bon-Mot2passe"
    assert call.request.secret_question == "Ville de naissance ?"
    assert call.request.secret_answer == "Lyon"


async def test_weak_password_shows_the_service_message_and_what_to_fix(api, services):
    services.identity.answer(
        "ActivateAccount",
        InvalidArgument(
            "PASSWORD_TOO_WEAK",
            "Mot de passe trop faible : 12 caractères au moins.",
            [FieldViolation("password", "Ajoutez 4 caractères.")],
        ),
    )
    csrf = await open_activation(api)

    response = await api.post(
        "/activation",
        data=activation_form(csrf, password="court", password_confirmation="court"),
        headers=HTML,
    )

    assert response.status_code == 422
    assert "Mot de passe trop faible : 12 caractères au moins." in response.text
    assert 'id="password-error">Ajoutez 4 caractères.' in response.text
    assert 'value="court"' not in response.text
    assert 'value="Ville de naissance ?"' in response.text


async def test_expired_link_offers_a_new_one(api, services):
    services.identity.answer(
        "ActivateAccount",
        InvalidArgument("ACTIVATION_TOKEN_INVALID", "Ce lien a expiré ; demandez-en un nouveau."),
    )
    services.identity.answer("ResendActivation", pb.ResendActivationResponse())
    csrf = await open_activation(api)

    refused = await api.post("/activation", data=activation_form(csrf), headers=HTML)
    resent = await api.post(
        "/activation/renvoi",
        data={"csrf_token": csrf, "login_email": "m@example.fr"},
        headers=HTML,
    )

    assert refused.status_code == 400
    assert "Ce lien a expiré" in refused.text
    assert 'action="/activation/renvoi"' in refused.text
    assert "un nouveau lien vient de lui être envoyé" in resent.text
    assert services.identity.calls_to("ResendActivation")[0].request.login_email == "m@example.fr"


async def test_activation_without_csrf_token_is_refused_without_a_call(api, services):
    await open_activation(api)

    response = await api.post("/activation", data=activation_form("forged"), headers=HTML)

    assert response.status_code == 403
    assert "Rechargez la page" in response.text
    assert services.identity.calls == []


async def test_mismatched_confirmation_is_caught_before_a_call(api, services):
    csrf = await open_activation(api)

    response = await api.post(
        "/activation", data=activation_form(csrf, password_confirmation="autre"), headers=HTML
    )

    assert response.status_code == 422
    assert "ne correspondent pas" in response.text
    assert services.identity.calls == []


async def test_login_sets_an_httponly_lax_session_cookie(api, services):
    services.identity.answer(
        "CreateSession",
        pb.CreateSessionResponse(
            tokens=pb.TokenPair(access_token="acc-1", refresh_token="ref-1", expires_in=900)
        ),
    )
    services.identity.answer(
        "GetMe", pb.GetMeResponse(user=pb.User(id="u1", first_name="Marie", last_name="Curie"))
    )
    csrf = csrf_of((await api.get("/connexion", headers=HTML)).text)

    response = await api.post(
        "/connexion",
        data={"csrf_token": csrf, "login_email": "marie@example.fr", "password": "pw"},
        headers=HTML,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    session_cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("chorus_session=")
    )
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie
    assert "Max-Age=900" in session_cookie
    home = await api.get("/", headers=HTML)
    assert "Bonjour Marie Curie" in home.text
    assert services.identity.calls_to("GetMe")[0].metadata["authorization"] == "Bearer acc-1"


async def test_failed_login_shows_the_message(api, services):
    services.identity.answer(
        "CreateSession",
        Unauthenticated("INVALID_CREDENTIALS", "Adresse ou mot de passe incorrect."),
    )
    csrf = csrf_of((await api.get("/connexion", headers=HTML)).text)

    response = await api.post(
        "/connexion",
        data={"csrf_token": csrf, "login_email": "marie@example.fr", "password": "pw"},
        headers=HTML,
    )

    assert response.status_code == 401
    assert "Adresse ou mot de passe incorrect." in response.text
    assert 'value="marie@example.fr"' in response.text


async def test_logout_revokes_the_session_and_clears_cookies(api, services):
    services.identity.answer("RevokeSession", pb.RevokeSessionResponse())
    api.cookies.set("chorus_session", "acc-1")
    api.cookies.set("chorus_refresh", "ref-1")
    csrf = csrf_of((await api.get("/deconnexion", headers=HTML)).text)

    response = await api.post("/deconnexion", data={"csrf_token": csrf}, headers=HTML)

    assert response.status_code == 303
    assert services.identity.calls_to("RevokeSession")[0].request.refresh_token == "ref-1"
    cleared = response.headers.get_list("set-cookie")
    assert any(h.startswith('chorus_session=""') and "Max-Age=0" in h for h in cleared)


async def test_unknown_portal_page_is_a_french_404_page(api):
    response = await api.get("/nulle-part", headers=HTML)

    assert response.status_code == 404
    assert "Page introuvable" in response.text


async def test_access_log_never_contains_query_strings(api, services, access_log):
    # The REST API's side is services/gateway/tests/test_access_log.py.
    await api.get("/activation", params={"token": ACTIVATION_TOKEN}, headers=HTML)

    formatter = JsonFormatter("portal")
    lines = [formatter.format(r) for r in access_log.records if r.name == "chorus_portal.access"]
    assert any('"path": "/activation"' in line and '"status": 200' in line for line in lines)
    assert not any(ACTIVATION_TOKEN in line for line in lines)


def _empty_search():
    from chorus.structures.v1 import structures_service_pb2

    return structures_service_pb2.SearchStructuresResponse()
