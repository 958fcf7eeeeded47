"""Identity end to end through the gateway: password reset, "Mon compte", sessions, lockout,
rate limit, tokens, two-factor authentication, audit; and, last, no secret used here appears
in the logs of the run or in identity's events.

Every secret a test handles is added to ``SECRETS`` so the final test can look for it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
import unicodedata
import uuid
from pathlib import Path

import asyncpg
import grpc
import httpx
import jwt
import pyotp
import pytest
from chorus.identity.v1 import identity_service_pb2 as identity_pb
from chorus.identity.v1 import identity_service_pb2_grpc as identity_grpc
from chorus_platform.settings import with_database
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from e2e_support import (
    STRONG_PASSWORD,
    activation_token,
    client_ip,
    link_token,
    registration_body,
    unique_email,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRETS: set[str] = {STRONG_PASSWORD}
"""Every password, answer, token, TOTP secret and recovery code used in this module."""
QUESTION = "Nom de ma première école ?"
ANSWER = "Jules-Ferry Annecy"
NEW_PASSWORD = "Tartiflette-Reblochon-74"


def keep(*secrets: str) -> None:
    SECRETS.update(s for s in secrets if s)


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def new_user(api, mailbox, first_name="Manuela", last_name="Dupont", answer=ANSWER):
    """An activated account: (login e-mail, user id)."""
    prefix = unicodedata.normalize("NFKD", first_name.lower()).encode("ascii", "ignore").decode()
    email = unique_email(prefix)
    created = await api.post("/accounts", json=registration_body(email, first_name, last_name))
    assert created.status_code == 202, created.text
    mail = await mailbox.wait_for(email, "Activez votre compte")
    token = activation_token(mail)
    keep(token, answer)
    activated = await api.post(
        "/accounts/activation",
        json={
            "token": token,
            "password": STRONG_PASSWORD,
            "secret_question": QUESTION,
            "secret_answer": answer,
        },
    )
    assert activated.status_code == 200, activated.text
    return email, activated.json()["id"]


async def login(api, email, password=STRONG_PASSWORD, expected=200) -> dict:
    response = await api.post("/auth/token", json={"login_email": email, "password": password})
    assert response.status_code == expected, response.text
    body = response.json()
    keep(body.get("access_token", ""), body.get("refresh_token", ""))
    return body


async def wait_mail(mailbox, address, subject, count=1, timeout=60):
    """The ``count``-th message to ``address`` whose subject holds ``subject``."""
    async with asyncio.timeout(timeout):
        while True:
            found = [m for m in await mailbox.messages_to(address) if subject in m["Subject"]]
            if len(found) >= count:
                return found[count - 1]
            await asyncio.sleep(0.3)


# --- password reset -------------------------------------------------------------------------


async def test_password_reset_with_secret_answer_revokes_every_session(api, mailbox):
    email, _ = await new_user(api, mailbox)
    first = await login(api, email)
    second = await login(api, email)

    assert (await api.post("/password-resets", json={"login_email": email})).status_code == 202
    token = link_token(
        await wait_mail(mailbox, email, "Réinitialisez"), "/mot-de-passe/reinitialisation"
    )
    keep(token)
    lookup = await api.post("/password-resets/lookup", json={"token": token})
    assert lookup.status_code == 200, lookup.text
    assert lookup.json()["secret_question"] == QUESTION

    confirm = {"token": token, "secret_answer": "mauvaise réponse", "password": NEW_PASSWORD}
    wrong = await api.post("/password-resets/confirm", json=confirm)
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["code"] == "SECRET_ANSWER_INVALID"
    weak = await api.post(
        "/password-resets/confirm",
        json={**confirm, "secret_answer": "  jules-ferry   ANNECY", "password": "court"},
    )
    assert weak.status_code == 422 and weak.json()["code"] == "PASSWORD_TOO_SHORT"

    # The answer is compared without case, accents or extra spaces; the hyphen counts.
    done = await api.post(
        "/password-resets/confirm", json={**confirm, "secret_answer": " JULES-FERRY  annecy "}
    )
    assert done.status_code == 204, done.text

    for session in (first, second):
        refused = await api.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})
        assert refused.status_code == 401
        assert (await api.get("/me", headers=bearer(session))).status_code == 401
    await login(api, email, STRONG_PASSWORD, expected=401)
    await login(api, email, NEW_PASSWORD)
    again = await api.post("/password-resets/confirm", json={**confirm, "secret_answer": ANSWER})
    assert again.status_code == 400 and again.json()["code"] == "RESET_TOKEN_INVALID"
    changed = await wait_mail(mailbox, email, "mot de passe Chorus a été modifié")
    assert "réinitialisation" in changed["Text"]


async def test_a_newer_reset_link_supersedes_the_previous_one(api, mailbox):
    email, _ = await new_user(api, mailbox, "Odile")
    await api.post("/password-resets", json={"login_email": email})
    old = link_token(
        await wait_mail(mailbox, email, "Réinitialisez"), "/mot-de-passe/reinitialisation"
    )
    await api.post("/password-resets", json={"login_email": email})
    await wait_mail(mailbox, email, "Réinitialisez", count=2)
    tokens = {
        link_token(m, "/mot-de-passe/reinitialisation")
        for m in await mailbox.messages_to(email)
        if "Réinitialisez" in m["Subject"]
    }
    [new] = tokens - {old}
    keep(old, new)
    stale = await api.post("/password-resets/lookup", json={"token": old})
    assert stale.status_code == 400 and stale.json()["code"] == "RESET_TOKEN_INVALID"
    assert (await api.post("/password-resets/lookup", json={"token": new})).status_code == 200


async def test_an_expired_reset_link_is_refused(api, mailbox, stack):
    if stack is None:
        pytest.skip("needs the database of the stack this suite starts")
    email, user_id = await new_user(api, mailbox, "Yvette")
    await api.post("/password-resets", json={"login_email": email})
    token = link_token(
        await wait_mail(mailbox, email, "Réinitialisez"), "/mot-de-passe/reinitialisation"
    )
    keep(token)
    conn = await asyncpg.connect(with_database(stack.env["CHORUS_DATABASE_URL"], "chorus_identity"))
    try:
        await conn.execute(
            "UPDATE account_tokens SET expires_at = now() - interval '1 second'"
            " WHERE user_id = $1 AND purpose = 'PASSWORD_RESET'",
            uuid.UUID(user_id),
        )
    finally:
        await conn.close()
    body = {"token": token, "secret_answer": ANSWER, "password": NEW_PASSWORD}
    expired = await api.post("/password-resets/confirm", json=body)
    assert expired.status_code == 400 and expired.json()["code"] == "RESET_TOKEN_INVALID"


async def test_reset_and_resend_answer_alike_whether_or_not_the_account_exists(api, mailbox):
    known, _ = await new_user(api, mailbox, "Gaston")
    pending = unique_email("pending")
    await api.post("/accounts", json=registration_body(pending, "Paul"))
    unknown = unique_email("nobody")
    for path in ("/password-resets", "/accounts/activation/resend"):
        answers = set()
        for email in (known, pending, unknown):
            response = await api.post(path, json={"login_email": email})
            answers.add((response.status_code, response.text))
        assert answers == {(202, "{}")}, (path, answers)
    # Only real accounts get mail: the active one a reset link, the pending one a new link.
    await wait_mail(mailbox, known, "Réinitialisez")
    await wait_mail(mailbox, pending, "Activez votre compte", count=2)
    assert await mailbox.messages_to(unknown) == []


async def test_registration_answers_alike_for_a_taken_address_and_tells_its_owner(api, mailbox):
    known, known_id = await new_user(api, mailbox, "Gaston", "Lagaffe")
    pending = unique_email("pending")
    await api.post("/accounts", json=registration_body(pending, "Paul"))
    unknown = unique_email("nobody")

    answers = set()
    for email in (known.upper(), pending, unknown):
        response = await api.post("/accounts", json=registration_body(email, "Intrus", "Inconnu"))
        answers.add((response.status_code, response.text, response.headers["content-type"]))
    assert answers == {(202, "{}", "application/json")}, answers

    # The new address gets its activation link, the pending one a new link, the owner of the
    # active account a notice (no link), in French, with the way to sign in.
    await wait_mail(mailbox, unknown, "Activez votre compte")
    await wait_mail(mailbox, pending, "Activez votre compte", count=2)
    notice = await wait_mail(mailbox, known, "Tentative de création d'un compte Chorus")
    assert notice["Text"].startswith("Bonjour Gaston,")
    assert "Aucun compte n'a été créé" in notice["Text"]
    assert "/connexion" in notice["Text"] and "/activation?token=" not in notice["Text"]
    # Nothing of the account changed, and its feed says what happened.
    tokens = await login(api, known)
    me = (await api.get("/me", headers=bearer(tokens))).json()
    assert (me["id"], me["first_name"], me["last_name"]) == (known_id, "Gaston", "Lagaffe")
    async with asyncio.timeout(60):
        while True:
            feed = (await api.get("/feed", headers=bearer(tokens))).json()["items"]
            titles = [item["title"] for item in feed]
            if "Tentative d'inscription avec votre adresse" in titles:
                break
            await asyncio.sleep(0.3)


# --- password policy ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Ab1!efgh", "PASSWORD_TOO_SHORT"),
        ("Ab1!" * 33, "PASSWORD_TOO_LONG"),
        ("zqxwvjkpmtrsldfg", "PASSWORD_TOO_WEAK"),
        ("Password123456!", "PASSWORD_TOO_COMMON"),
        ("Rosalinde-Vert-2026", "PASSWORD_CONTAINS_PERSONAL_DATA"),
    ],
)
async def test_each_password_rule_has_its_own_code(api, mailbox, password, code):
    email = unique_email("policy")
    await api.post("/accounts", json=registration_body(email, "Rosalinde", "Vert"))
    token = activation_token(await mailbox.wait_for(email, "Activez votre compte"))
    keep(token, password)
    response = await api.post(
        "/accounts/activation",
        json={"token": token, "password": password, "secret_question": "Q ?", "secret_answer": "R"},
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == code
    assert problem["errors"] and {e["field"] for e in problem["errors"]} == {"password"}
    assert password not in response.text


async def test_terms_of_use_must_be_accepted(api):
    body = {**registration_body(unique_email("terms"), "Théo"), "terms_accepted": False}
    response = await api.post("/accounts", json=body)
    assert response.status_code == 422 and response.json()["code"] == "TERMS_NOT_ACCEPTED"


# --- Mon compte -----------------------------------------------------------------------------


async def test_profile_and_password_change_keep_the_current_session_only(api, mailbox):
    email, user_id = await new_user(api, mailbox, "Camille", "Martin")
    current = await login(api, email)
    other = await login(api, email)

    patched = await api.patch(
        "/me",
        headers=bearer(current),
        json={"first_name": "Camille-Anne", "phone": "+33 6 12 34 56 78"},
    )
    assert patched.status_code == 200, patched.text
    me = patched.json()
    assert (me["id"], me["first_name"], me["last_name"]) == (user_id, "Camille-Anne", "Martin")
    assert me["phone"] == "+33 6 12 34 56 78"
    bad = await api.patch("/me", headers=bearer(current), json={"phone": "appelez-moi"})
    assert bad.status_code == 422 and bad.json()["code"] == "PHONE_INVALID"

    body = {"current_password": "pas-le-bon", "new_password": NEW_PASSWORD}
    wrong = await api.post("/me/password", headers=bearer(current), json=body)
    assert wrong.status_code == 422 and wrong.json()["code"] == "CURRENT_PASSWORD_INVALID"
    body["current_password"] = STRONG_PASSWORD
    weak = await api.post(
        "/me/password", headers=bearer(current), json={**body, "new_password": "camille-anne-2026!"}
    )
    assert weak.status_code == 422, weak.text
    assert weak.json()["errors"][0]["field"] == "new_password"
    changed = await api.post("/me/password", headers=bearer(current), json=body)
    assert changed.status_code == 204, changed.text

    assert (await api.get("/me", headers=bearer(current))).status_code == 200
    assert (await api.get("/me", headers=bearer(other))).status_code == 401
    refused = await api.post("/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert refused.status_code == 401
    notice = await wait_mail(mailbox, email, "mot de passe Chorus a été modifié")
    assert notice["Text"].startswith("Bonjour Camille-Anne,")


async def test_contact_email_changes_only_once_verified(api, mailbox):
    email, _ = await new_user(api, mailbox, "Lucie")
    tokens = await login(api, email)
    new_contact = unique_email("lucie.contact")
    for password in (None, "Pas-Le-Bon-2026"):
        body = {"contact_email": new_contact}
        if password is not None:
            body["current_password"] = password
        refused = await api.post("/me/contact-email", headers=bearer(tokens), json=body)
        assert refused.status_code == 422, refused.text
        code = refused.json()["code"]
        assert code == ("CURRENT_PASSWORD_INVALID" if password else "VALIDATION_FAILED"), code
    asked = await api.post(
        "/me/contact-email",
        headers=bearer(tokens),
        json={"contact_email": new_contact, "current_password": STRONG_PASSWORD},
    )
    assert asked.status_code == 202, asked.text
    me = (await api.get("/me", headers=bearer(tokens))).json()
    assert me["contact_email"] == email  # unchanged until confirmed

    mail = await wait_mail(mailbox, new_contact, "Confirmez votre nouvelle adresse")
    token = link_token(mail, "/mon-compte/adresse")
    keep(token)
    confirmed = await api.post(
        "/me/email-verification/confirm", headers=bearer(tokens), json={"token": token}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["contact_email"] == new_contact
    # The previous address is told where mail (reset links included) goes now.
    moved = await wait_mail(mailbox, email, "adresse de contact Chorus a changé")
    assert moved["Text"].startswith("Bonjour Lucie,") and new_contact in moved["Text"]
    again = await api.post(
        "/me/email-verification/confirm", headers=bearer(tokens), json={"token": token}
    )
    assert again.status_code == 400 and again.json()["code"] == "EMAIL_CHANGE_TOKEN_INVALID"

    # Later notifications go to the new contact address.
    await api.post(
        "/me/password",
        headers=bearer(tokens),
        json={"current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD},
    )
    await wait_mail(mailbox, new_contact, "mot de passe Chorus a été modifié")


async def test_login_email_change_needs_the_password_and_warns_the_old_address(api, mailbox):
    email, _ = await new_user(api, mailbox, "Hugo")
    tokens = await login(api, email)
    new_login = unique_email("hugo.new")
    body = {"login_email": new_login, "current_password": "faux"}
    wrong = await api.post("/me/login-email", headers=bearer(tokens), json=body)
    assert wrong.status_code == 422 and wrong.json()["code"] == "CURRENT_PASSWORD_INVALID"
    body["current_password"] = STRONG_PASSWORD
    assert (await api.post("/me/login-email", headers=bearer(tokens), json=body)).status_code == 202

    token = link_token(await wait_mail(mailbox, new_login, "Confirmez"), "/mon-compte/adresse")
    keep(token)
    # Another user cannot use the link.
    intruder_email, _ = await new_user(api, mailbox, "Ines")
    intruder = await login(api, intruder_email)
    stolen = await api.post(
        "/me/email-verification/confirm", headers=bearer(intruder), json={"token": token}
    )
    assert stolen.status_code == 400 and stolen.json()["code"] == "EMAIL_CHANGE_TOKEN_INVALID"

    confirmed = await api.post(
        "/me/email-verification/confirm", headers=bearer(tokens), json={"token": token}
    )
    assert confirmed.status_code == 200 and confirmed.json()["login_email"] == new_login
    notice = await wait_mail(mailbox, email, "adresse de connexion Chorus a changé")
    assert new_login in notice["Text"]
    await login(api, email, expected=401)
    await login(api, new_login)


async def test_sessions_are_listed_and_revoked_one_by_one(api, mailbox):
    email, _ = await new_user(api, mailbox, "Sacha")
    mine = await login(api, email)
    other = await login(api, email)
    listed = await api.get("/me/sessions", headers={**bearer(mine), "User-Agent": "e2e-navigateur"})
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert len(items) == 2 and [i["current"] for i in items].count(True) == 1
    other_id = next(i["id"] for i in items if not i["current"])
    assert all(i["ip_address"] for i in items)

    revoked = await api.delete(f"/me/sessions/{other_id}", headers=bearer(mine))
    assert revoked.status_code == 204
    refused = await api.post("/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert refused.status_code == 401
    assert (await api.get("/me", headers=bearer(other))).status_code == 401
    gone = await api.delete(f"/me/sessions/{other_id}", headers=bearer(mine))
    assert gone.status_code == 404 and gone.json()["code"] == "SESSION_NOT_FOUND"
    remaining = (await api.get("/me/sessions", headers=bearer(mine))).json()["items"]
    assert [i["current"] for i in remaining] == [True]


async def test_deactivation_revokes_sessions_and_refuses_login(api, mailbox):
    email, _ = await new_user(api, mailbox, "Denise")
    tokens = await login(api, email)
    wrong = await api.post(
        "/me/deactivation", headers=bearer(tokens), json={"current_password": "x"}
    )
    assert wrong.status_code == 422
    done = await api.post(
        "/me/deactivation", headers=bearer(tokens), json={"current_password": STRONG_PASSWORD}
    )
    assert done.status_code == 204, done.text
    assert (await api.get("/me", headers=bearer(tokens))).status_code == 401
    refused = await login(api, email, expected=401)
    assert refused["code"] == "INVALID_CREDENTIALS"


# --- lockout, rate limit, tokens ------------------------------------------------------------


async def test_lockout_after_five_failures_then_unlock(api, mailbox, stack):
    email, _ = await new_user(api, mailbox, "Bernard")
    unknown = unique_email("inconnu")
    for target in (email, unknown):
        for attempt in range(4):
            failed = await api.post(
                "/auth/token",
                json={"login_email": target, "password": f"Faux-{attempt}"},
                headers={"X-Forwarded-For": client_ip()},
            )
            assert failed.status_code == 401, failed.text
            assert failed.json()["code"] == "INVALID_CREDENTIALS"
        fifth = await api.post(
            "/auth/token",
            json={"login_email": target, "password": "Faux-5"},
            headers={"X-Forwarded-For": client_ip()},
        )
        # An unknown address locks exactly like a real one: nothing to enumerate.
        assert fifth.status_code == 423, fifth.text
        assert fifth.json()["code"] == "ACCOUNT_LOCKED"
        assert int(fifth.headers["Retry-After"]) >= 1
    locked = await api.post("/auth/token", json={"login_email": email, "password": STRONG_PASSWORD})
    assert locked.status_code == 423 and "verrouillé jusqu'au" in locked.json()["detail"]
    await wait_mail(mailbox, email, "temporairement verrouillé")
    assert await mailbox.messages_to(unknown) == []

    if stack is None:
        return  # the default lockout lasts 15 minutes
    async with asyncio.timeout(30):
        while True:
            response = await api.post(
                "/auth/token",
                json={"login_email": email, "password": STRONG_PASSWORD},
                headers={"X-Forwarded-For": client_ip()},
            )
            if response.status_code == 200:
                break
            assert response.status_code == 423, response.text
            await asyncio.sleep(int(response.headers["Retry-After"]))
    keep(response.json()["access_token"], response.json()["refresh_token"])


async def test_per_ip_rate_limit_answers_429(api):
    ip = client_ip()
    codes = []
    for _ in range(12):
        response = await api.post(
            "/password-resets",
            json={"login_email": unique_email("flood")},
            headers={"X-Forwarded-For": ip},
        )
        codes.append(response.status_code)
    assert codes[:10] == [202] * 10
    assert codes[10:] == [429, 429]
    assert response.json()["code"] == "RATE_LIMITED"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["Retry-After"]) >= 1
    elsewhere = await api.post(
        "/password-resets",
        json={"login_email": unique_email("flood")},
        headers={"X-Forwarded-For": client_ip()},
    )
    assert elsewhere.status_code == 202


async def test_forged_and_tampered_access_tokens_are_refused(api, mailbox, gateway_url):
    email, user_id = await new_user(api, mailbox, "Fabrice")
    tokens = await login(api, email)
    header = jwt.get_unverified_header(tokens["access_token"])
    async with httpx.AsyncClient() as http:
        jwks = (await http.get(f"{gateway_url}/.well-known/jwks.json")).json()
    assert header["kid"] in {k["kid"] for k in jwks["keys"]}

    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=header)
    head, _, signature = tokens["access_token"].split(".")
    other = {**claims, "sub": str(uuid.uuid4())}
    tampered_payload = base64.urlsafe_b64encode(json.dumps(other).encode()).rstrip(b"=").decode()
    tampered = f"{head}.{tampered_payload}.{signature}"
    unsigned = jwt.encode(claims, None, algorithm="none")
    expired = jwt.encode(
        {**claims, "iat": 1_000_000, "exp": 1_000_900},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers=header,
    )
    for token in (forged, tampered, unsigned, expired, "pas-un-jeton"):
        response = await api.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (token, response.text)
    assert (await api.get("/me", headers=bearer(tokens))).json()["id"] == user_id


async def test_a_spent_refresh_token_presented_again_revokes_the_session(api, mailbox):
    email, _ = await new_user(api, mailbox, "Rémi")
    first = await login(api, email)
    rotated = await api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    keep(second["access_token"], second["refresh_token"])
    reuse = await api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401 and reuse.json()["code"] == "REFRESH_TOKEN_INVALID"
    family = await api.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert family.status_code == 401
    assert (await api.get("/me", headers=bearer(second))).status_code == 401


# --- two-factor authentication --------------------------------------------------------------


async def mfa_login(api, email) -> str:
    answer = await login(api, email)
    assert answer["mfa_required"] is True and "access_token" not in answer
    return answer["challenge_id"]


async def test_two_factor_with_wrong_reused_and_recovery_codes(api, mailbox):
    email, _ = await new_user(api, mailbox, "Tristan")
    tokens = await login(api, email)
    enrolment = await api.post("/me/mfa/totp", headers=bearer(tokens))
    assert enrolment.status_code == 200, enrolment.text
    body = enrolment.json()
    keep(body["secret"], *body["recovery_codes"])
    assert body["otpauth_uri"].startswith("otpauth://totp/Chorus:")
    assert len(body["recovery_codes"]) == len(set(body["recovery_codes"])) == 10
    totp = pyotp.TOTP(body["secret"])

    bad = await api.post("/me/mfa/totp/confirm", headers=bearer(tokens), json={"code": "000000"})
    assert bad.status_code == 422 and bad.json()["code"] == "TOTP_CODE_INVALID"
    enrol_step = int(time.time()) // 30
    enrol_code = totp.at(enrol_step * 30)
    enrolled = await api.post(
        "/me/mfa/totp/confirm", headers=bearer(tokens), json={"code": enrol_code}
    )
    assert enrolled.status_code == 204, enrolled.text
    assert (await api.get("/me", headers=bearer(tokens))).json()["two_factor_enabled"] is True
    await wait_mail(mailbox, email, "Double authentification activée")

    # The code used at enrolment (same time step) cannot open a session.
    challenge = await mfa_login(api, email)
    reused = await api.post("/auth/token/mfa", json={"challenge_id": challenge, "code": enrol_code})
    assert reused.status_code == 401 and reused.json()["code"] == "MFA_CODE_INVALID"
    wrong = await api.post("/auth/token/mfa", json={"challenge_id": challenge, "code": "123456"})
    assert wrong.status_code == 401

    # A code of the next time step works once (a real user waits for the next code).
    next_code = totp.at((enrol_step + 1) * 30)
    completed = await api.post(
        "/auth/token/mfa", json={"challenge_id": challenge, "code": next_code}
    )
    assert completed.status_code == 200, completed.text
    keep(completed.json()["access_token"], completed.json()["refresh_token"])
    spent_challenge = await api.post(
        "/auth/token/mfa", json={"challenge_id": challenge, "code": next_code}
    )
    assert spent_challenge.status_code == 401
    assert spent_challenge.json()["code"] == "MFA_CHALLENGE_INVALID"

    recovery = body["recovery_codes"][3]
    challenge = await mfa_login(api, email)
    by_recovery = await api.post(
        "/auth/token/mfa", json={"challenge_id": challenge, "code": recovery.upper()}
    )
    assert by_recovery.status_code == 200, by_recovery.text
    keep(by_recovery.json()["access_token"], by_recovery.json()["refresh_token"])
    challenge = await mfa_login(api, email)
    used_again = await api.post(
        "/auth/token/mfa", json={"challenge_id": challenge, "code": recovery}
    )
    assert used_again.status_code == 401 and used_again.json()["code"] == "MFA_CODE_INVALID"

    off = await api.request(
        "DELETE", "/me/mfa/totp", headers=bearer(tokens), json={"current_password": STRONG_PASSWORD}
    )
    assert off.status_code == 204, off.text
    plain = await login(api, email)
    assert "access_token" in plain


# --- audit over gRPC (admins only) ----------------------------------------------------------


async def test_security_events_are_listed_for_admins_only(api, mailbox, stack):
    if stack is None:
        pytest.skip("needs the stack this suite starts (grants the admin flag with the CLI)")
    admin_email, _ = await new_user(api, mailbox, "Adèle")
    user_email, user_id = await new_user(api, mailbox, "Ulysse")
    await login(api, user_email, "Mauvais-Mot-De-Passe-1", expected=401)
    user_tokens = await login(api, user_email)
    admin_tokens = await login(api, admin_email)

    async with grpc.aio.insecure_channel(stack.addresses["identity"]) as channel:
        stub = identity_grpc.IdentityServiceStub(channel)
        request = identity_pb.ListSecurityEventsRequest(user_id=user_id)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.ListSecurityEvents(
                request, metadata=(("authorization", f"Bearer {user_tokens['access_token']}"),)
            )
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED

        cli = Path(sys.executable).parent / "chorus-identity"
        granted = await asyncio.to_thread(
            subprocess.run,
            [str(cli), "grant-admin", admin_email],
            env=stack.child_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert granted.returncode == 0, granted.stderr
        response = await stub.ListSecurityEvents(
            request, metadata=(("authorization", f"Bearer {admin_tokens['access_token']}"),)
        )
    kinds = [event.kind for event in response.events]
    assert kinds[:3] == ["LOGIN_SUCCEEDED", "LOGIN_FAILED", "ACCOUNT_ACTIVATED"]
    assert kinds[-1] == "ACCOUNT_REGISTERED"
    failed = response.events[1]
    assert failed.details["reason"] == "WRONG_PASSWORD"
    assert failed.ip_address.startswith("198.18.") and failed.occurred_at.seconds > 0


# --- last: no secret in the logs or in identity's events ------------------------------------


async def test_zz_no_secret_used_here_appears_in_logs_or_events(stack):
    if stack is None:
        pytest.skip("needs the logs of the stack this suite starts")
    secrets = {s for s in SECRETS if len(s) >= 6}
    assert len(secrets) > 30
    await asyncio.sleep(1)  # let the last log lines reach the files
    logs = sorted(Path(stack.logs_dir).glob("*"))
    assert logs, "no log files"
    for path in logs:
        text = path.read_text(errors="replace")
        leaked = [s[:6] + "…" for s in secrets if s in text]
        assert not leaked, f"secrets found in {path.name}: {leaked}"
    conn = await asyncpg.connect(with_database(stack.env["CHORUS_DATABASE_URL"], "chorus_identity"))
    try:
        payloads = [bytes(row["payload"]) for row in await conn.fetch("SELECT payload FROM outbox")]
    finally:
        await conn.close()
    assert payloads
    for secret in secrets:
        assert not any(secret.encode() in payload for payload in payloads), secret[:6]
