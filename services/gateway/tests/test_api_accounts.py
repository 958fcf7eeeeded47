"""/accounts, /auth and /me through the gateway against service doubles."""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.errors import FieldViolation, InvalidArgument, Unauthenticated
from google.protobuf.timestamp_pb2 import Timestamp

USER_ID = "7b0c2c1e-5a0e-4c55-9a55-3f7e8c3a9d01"


def user(status: int = pb.USER_STATUS_EN_ATTENTE_ACTIVATION) -> pb.User:
    return pb.User(
        id=USER_ID,
        login_email="marie@example.fr",
        contact_email="marie@example.fr",
        first_name="Marie",
        last_name="Curie",
        status=status,
        created_at=Timestamp(seconds=1_767_225_600),
    )


async def test_register_account_answers_202_and_an_empty_body_whatever_the_address(api, services):
    # identity answers the same empty response for a new and a taken address; even an old
    # identity still filling ``user`` must not leak it.
    services.identity.answer("RegisterAccount", pb.RegisterAccountResponse(user=user()))

    response = await api.post(
        "/api/v1/accounts",
        json={"login_email": "marie@example.fr", "first_name": "Marie", "last_name": "Curie"},
    )

    assert response.status_code == 202
    assert response.json() == {}
    [call] = services.identity.calls_to("RegisterAccount")
    assert call.request.login_email == "marie@example.fr"
    assert call.request.contact_email == ""
    assert call.metadata["x-forwarded-for"] == "203.0.113.7"
    assert "authorization" not in call.metadata


async def test_weak_password_is_a_422_problem_with_the_service_reason(api, services):
    services.identity.answer(
        "ActivateAccount",
        InvalidArgument(
            "PASSWORD_TOO_WEAK",
            "Mot de passe trop faible : au moins 12 caractères et 3 types de caractères.",
            [FieldViolation("password", "Ajoutez des majuscules ou des chiffres.")],
        ),
    )

    response = await api.post(
        "/api/v1/accounts/activation",
        json={"token": "t", "password": "court", "secret_question": "q", "secret_answer": "a"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://chorus.example/problems/password-too-weak",
        "title": "Données invalides",
        "status": 422,
        "detail": "Mot de passe trop faible : au moins 12 caractères et 3 types de caractères.",
        "code": "PASSWORD_TOO_WEAK",
        "errors": [{"field": "password", "message": "Ajoutez des majuscules ou des chiffres."}],
    }


async def test_invalid_activation_token_is_a_400(api, services):
    services.identity.answer(
        "ActivateAccount",
        InvalidArgument("ACTIVATION_TOKEN_INVALID", "Lien d'activation invalide ou expiré."),
    )

    response = await api.post(
        "/api/v1/accounts/activation",
        json={"token": "x", "password": "p", "secret_question": "q", "secret_answer": "a"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "ACTIVATION_TOKEN_INVALID"


async def test_successful_activation_answers_the_active_status(api, services):
    services.identity.answer(
        "ActivateAccount", pb.ActivateAccountResponse(user=user(pb.USER_STATUS_ACTIF))
    )

    response = await api.post(
        "/api/v1/accounts/activation",
        json={
            "token": "tok",
            "password": "Un-Bon-Mot2passe",
            "secret_question": "q",
            "secret_answer": "a",
        },
    )

    assert response.status_code == 200
    assert response.json() == {"id": USER_ID, "status": "ACTIF"}


async def test_resend_activation_is_accepted(api, services):
    services.identity.answer("ResendActivation", pb.ResendActivationResponse())

    response = await api.post(
        "/api/v1/accounts/activation/resend", json={"login_email": "x@example.fr"}
    )

    assert response.status_code == 202
    assert response.json() == {}


async def test_login_forwards_client_info_and_answers_a_bearer_pair(api, services):
    services.identity.answer(
        "CreateSession",
        pb.CreateSessionResponse(
            tokens=pb.TokenPair(access_token="acc", refresh_token="ref", expires_in=900)
        ),
    )

    response = await api.post(
        "/api/v1/auth/token",
        json={"login_email": "marie@example.fr", "password": "secret"},
        headers={"User-Agent": "ERP-Connecteur/2.1"},
    )

    assert response.status_code == 200
    assert response.json() == {
        "access_token": "acc",
        "refresh_token": "ref",
        "token_type": "Bearer",
        "expires_in": 900,
    }
    [call] = services.identity.calls_to("CreateSession")
    assert call.request.client.ip_address == "203.0.113.7"
    assert call.request.client.user_agent == "ERP-Connecteur/2.1"


async def test_wrong_credentials_are_a_401_with_www_authenticate(api, services):
    services.identity.answer(
        "CreateSession", Unauthenticated("INVALID_CREDENTIALS", "Identifiants incorrects.")
    )

    response = await api.post(
        "/api/v1/auth/token", json={"login_email": "marie@example.fr", "password": "x"}
    )

    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_CREDENTIALS"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_refresh_and_logout(api, services):
    services.identity.answer(
        "RefreshSession",
        pb.RefreshSessionResponse(
            tokens=pb.TokenPair(access_token="a2", refresh_token="r2", expires_in=900)
        ),
    )
    services.identity.answer("RevokeSession", pb.RevokeSessionResponse())

    refreshed = await api.post("/api/v1/auth/refresh", json={"refresh_token": "r1"})
    logged_out = await api.post("/api/v1/auth/logout", json={"refresh_token": "r2"})

    assert refreshed.json()["refresh_token"] == "r2"
    assert logged_out.status_code == 204
    assert logged_out.content == b""
    assert services.identity.calls_to("RevokeSession")[0].request.refresh_token == "r2"


async def test_missing_bearer_is_a_401_without_calling_the_service(api, services):
    services.identity.answer("GetMe", pb.GetMeResponse(user=user()))

    response = await api.get("/api/v1/me")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert services.identity.calls == []


async def test_me_forwards_the_bearer_token(api, services):
    services.identity.answer("GetMe", pb.GetMeResponse(user=user(pb.USER_STATUS_ACTIF)))

    response = await api.get("/api/v1/me", headers={"Authorization": "Bearer the-token"})

    assert response.status_code == 200
    assert response.json() == {
        "id": USER_ID,
        "login_email": "marie@example.fr",
        "contact_email": "marie@example.fr",
        "first_name": "Marie",
        "last_name": "Curie",
        "phone": None,
        "status": "ACTIF",
        "created_at": "2026-01-01T00:00:00Z",
        "two_factor_enabled": False,
    }
    assert services.identity.calls_to("GetMe")[0].metadata["authorization"] == "Bearer the-token"


async def test_body_validation_is_a_422_with_field_paths(api, services):
    response = await api.post(
        "/api/v1/accounts", json={"login_email": 42, "first_name": "Marie", "surname": "x"}
    )

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_FAILED"
    assert {(e["field"], e["message"]) for e in body["errors"]} == {
        ("login_email", "Texte attendu."),
        ("last_name", "Champ obligatoire."),
        ("surname", "Champ inconnu ; vérifiez son nom."),
    }
    assert services.identity.calls == []


async def test_malformed_json_is_a_400(api):
    response = await api.post(
        "/api/v1/accounts", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_JSON"
