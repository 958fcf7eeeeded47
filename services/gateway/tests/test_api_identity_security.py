"""Login with two-factor authentication, lockout (423) and the per-IP rate limit (429)
through the gateway against service doubles."""

from __future__ import annotations

from datetime import UTC, datetime

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.errors import FailedPrecondition, Unavailable
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_edge.rate_limits import RateLimiter

LOGIN = {"login_email": "marie@example.fr", "password": "Correct-Cheval-42"}


async def test_login_of_a_two_factor_account_answers_a_challenge(api, services):
    expires = Timestamp()
    expires.FromDatetime(datetime(2026, 11, 27, 12, 5, tzinfo=UTC))
    services.identity.answer(
        "CreateSession",
        pb.CreateSessionResponse(
            mfa_required=True, mfa_challenge_id="ch-1", mfa_challenge_expires_at=expires
        ),
    )
    services.identity.answer(
        "CompleteMfaChallenge",
        pb.CompleteMfaChallengeResponse(
            tokens=pb.TokenPair(access_token="a", refresh_token="r", expires_in=900)
        ),
    )

    first = await api.post("/api/v1/auth/token", json=LOGIN)
    second = await api.post(
        "/api/v1/auth/token/mfa",
        json={"challenge_id": "ch-1", "code": "123456"},
        headers={"User-Agent": "navigateur-test"},
    )

    assert first.json() == {
        "mfa_required": True,
        "challenge_id": "ch-1",
        "expires_at": "2026-11-27T12:05:00Z",
    }
    assert second.json()["access_token"] == "a"
    [call] = services.identity.calls_to("CompleteMfaChallenge")
    assert (call.request.challenge_id, call.request.code) == ("ch-1", "123456")
    assert call.request.client.user_agent == "navigateur-test"
    assert call.metadata["x-forwarded-user-agent"] == "navigateur-test"


async def test_account_locked_is_a_423_with_retry_after(api, services):
    services.identity.answer(
        "CreateSession",
        FailedPrecondition(
            "ACCOUNT_LOCKED",
            "Compte verrouillé jusqu'au 27/11/2026 à 12:15:00 UTC.",
            metadata={"locked_until": "2026-11-27T12:15:00+00:00", "retry_after_seconds": "840"},
        ),
    )

    response = await api.post("/api/v1/auth/token", json=LOGIN)

    assert response.status_code == 423
    assert response.headers["retry-after"] == "840"
    assert response.json()["code"] == "ACCOUNT_LOCKED"
    assert response.json()["title"] == "Compte verrouillé"


async def test_a_service_reason_for_unavailable_is_kept(api, services):
    services.identity.answer(
        "RequestPasswordReset",
        Unavailable("NOTIFICATIONS_UNAVAILABLE", "L'envoi des e-mails est indisponible."),
    )

    response = await api.post("/api/v1/password-resets", json={"login_email": "a@b.fr"})

    assert response.status_code == 503
    assert response.json()["code"] == "NOTIFICATIONS_UNAVAILABLE"
    assert response.headers["retry-after"] == "2"  # the service gave no retry_after_seconds


async def test_the_rate_limit_is_per_client_ip_and_endpoint(services, gateway):
    services.identity.answer("RequestPasswordReset", pb.RequestPasswordResetResponse())
    services.identity.answer("ResendActivation", pb.ResendActivationResponse())
    settings = services.settings(rate_limit_burst=2, rate_limit_per_minute=6)
    async with gateway(settings) as api:
        codes = [
            (await api.post("/api/v1/password-resets", json={"login_email": "a@b.fr"})).status_code
            for _ in range(3)
        ]
        limited = await api.post("/api/v1/password-resets", json={"login_email": "a@b.fr"})
        other_endpoint = await api.post(
            "/api/v1/accounts/activation/resend", json={"login_email": "a@b.fr"}
        )

    assert codes == [202, 202, 429]
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(limited.headers["retry-after"]) <= 10
    assert other_endpoint.status_code == 202
    assert len(services.identity.calls_to("RequestPasswordReset")) == 2


def test_buckets_refill_over_time():
    now = [0.0]
    limiter = RateLimiter(burst=1, per_minute=60, clock=lambda: now[0])
    assert limiter.acquire("1.2.3.4", "/x") is None
    assert limiter.acquire("1.2.3.4", "/x") == 1.0
    assert limiter.acquire("5.6.7.8", "/x") is None
    now[0] += 1.0
    assert limiter.acquire("1.2.3.4", "/x") is None


async def test_me_routes_map_to_their_rpcs(api, services):
    auth = {"Authorization": "Bearer t"}
    services.identity.answer(
        "ListMySessions",
        pb.ListMySessionsResponse(
            sessions=[pb.Session(id="s1", ip_address="203.0.113.7", current=True)]
        ),
    )
    services.identity.answer("RevokeMySession", pb.RevokeMySessionResponse())
    services.identity.answer("DisableTotp", pb.DisableTotpResponse())
    services.identity.answer("ChangePassword", pb.ChangePasswordResponse())

    sessions = await api.get("/api/v1/me/sessions", headers=auth)
    revoked = await api.delete("/api/v1/me/sessions/s1", headers=auth)
    disabled = await api.request(
        "DELETE", "/api/v1/me/mfa/totp", headers=auth, json={"current_password": "p"}
    )
    changed = await api.post(
        "/api/v1/me/password", headers=auth, json={"current_password": "a", "new_password": "b"}
    )

    assert sessions.json()["items"][0]["current"] is True
    assert (revoked.status_code, disabled.status_code, changed.status_code) == (204, 204, 204)
    assert services.identity.calls_to("RevokeMySession")[0].request.session_id == "s1"
    assert services.identity.calls_to("DisableTotp")[0].request.current_password == "p"
