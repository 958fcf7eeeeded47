"""Input hygiene at the edge: NUL, lone surrogates and C0 controls in any string (path, query,
form, JSON at any depth), non-finite or oversized numbers, unreadable bodies and wrong content
types are refused with a 4xx naming the field, before any call to a service."""

from __future__ import annotations

from .test_portal import HTML, csrf_of

JSON = {"Content-Type": "application/json"}


def no_calls(services) -> bool:
    return all(not double.calls for double in services.all())


async def test_a_portal_form_with_a_nul_is_the_french_error_page(api, services):
    csrf = csrf_of((await api.get("/connexion", headers=HTML)).text)

    response = await api.post(
        "/connexion",
        data={"csrf_token": csrf, "login_email": "marie\x00@exemple.fr", "password": "x"},
        headers=HTML,
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "caractères interdits" in response.text
    assert "Adresse e-mail" in response.text and "login_email" not in response.text
    assert no_calls(services)


async def test_a_portal_query_with_a_control_character_is_the_french_error_page(api, services):
    response = await api.get("/activation?token=abc%07", headers=HTML)

    assert response.status_code == 422
    assert '<html lang="fr">' in response.text
    assert no_calls(services)


async def test_a_portal_session_cookie_beyond_ascii_is_no_session(api, services):
    response = await api.get("/mon-compte", headers={**HTML, "Cookie": b"chorus_session=\xe9"})

    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?suivant=%2Fmon-compte"
    assert no_calls(services)
