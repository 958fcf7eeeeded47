"""Portal "Mon compte" against service doubles: profile, contact e-mail, password, two-factor
enrolment, sessions, e-mail preferences and deactivation, with their refusals (CSRF, a
service's error beside its field, mismatched passwords, unconfirmed deactivation)."""

from __future__ import annotations

import pytest
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2 as npb
from chorus_platform.errors import FieldViolation, InvalidArgument, Unauthenticated, Unavailable
from google.protobuf.timestamp_pb2 import Timestamp

from .test_portal import HTML, csrf_of

USER = pb.User(
    id="u1",
    login_email="alice@exemple.fr",
    contact_email="compta@exemple.fr",
    first_name="Alice",
    last_name="Martin",
    phone="0601020304",
    status=pb.USER_STATUS_ACTIF,
)
PASSWORD = "Correct-Cheval-42"


def with_account(services, user: pb.User = USER) -> None:
    services.identity.answer("GetMe", pb.GetMeResponse(user=user))
    services.identity.answer(
        "ListMySessions",
        pb.ListMySessionsResponse(
            sessions=[
                pb.Session(
                    id="s-current",
                    created_at=Timestamp(seconds=1_767_225_600),
                    ip_address="203.0.113.7",
                    user_agent="Firefox",
                    current=True,
                ),
                pb.Session(id="s-phone", ip_address="198.51.100.2", user_agent="Safari iOS"),
            ]
        ),
    )
    services.notifications.answer(
        "GetPreferences",
        npb.GetPreferencesResponse(email={"INVOICE_RECEIVED": True, "ROLE_CHANGED": False}),
    )


@pytest.fixture
def signed_in(api):
    api.cookies.set("chorus_session", "acc-1")
    return api


async def page_csrf(client) -> str:
    page = await client.get("/mon-compte", headers=HTML)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def test_account_page_shows_profile_sessions_two_factor_and_preferences(signed_in, services):
    with_account(services)

    response = await signed_in.get("/mon-compte", headers=HTML)

    page = response.text
    assert response.status_code == 200
    for text in (
        "<h1>Mon compte</h1>",
        "alice@exemple.fr",
        "compta@exemple.fr",
        'value="Alice"',
        'value="0601020304"',
        "Désactivée.",
        'action="/mon-compte/double-authentification"',
        "Safari iOS",
        "Cette session",
        'action="/mon-compte/sessions/s-phone/revocation"',
        "Facture reçue par ma structure",
        "Changement de mon rôle dans une structure",
        'action="/mon-compte/desactivation"',
    ):
        assert text in page, text
    assert "/sessions/s-current/revocation" not in page
    assert 'value="INVOICE_RECEIVED" checked' in page
    assert 'value="ROLE_CHANGED">' in page
    for call in services.identity.calls + services.notifications.calls:
        assert call.metadata["authorization"] == "Bearer acc-1"


async def test_page_stays_usable_when_preferences_are_unavailable(signed_in, services):
    with_account(services)
    services.notifications.answer(
        "GetPreferences",
        Unavailable("NOTIFICATIONS_UNAVAILABLE", "Préférences indisponibles pour le moment."),
    )

    response = await signed_in.get("/mon-compte", headers=HTML)

    assert response.status_code == 200
    assert "Préférences indisponibles pour le moment." in response.text
    assert 'action="/mon-compte/mot-de-passe"' in response.text


async def test_expired_session_goes_back_to_login(signed_in, services):
    with_account(services)
    services.identity.answer("GetMe", Unauthenticated("TOKEN_EXPIRED", "Session expirée."))

    response = await signed_in.get("/mon-compte", headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?suivant=%2Fmon-compte"


async def test_profile_update_sends_names_and_phone(signed_in, services):
    with_account(services)
    services.identity.answer("UpdateMe", pb.UpdateMeResponse(user=USER))
    csrf = await page_csrf(signed_in)

    response = await signed_in.post(
        "/mon-compte/profil",
        data={"csrf_token": csrf, "first_name": "Alicia", "last_name": "Martin", "phone": ""},
        headers=HTML,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/mon-compte?avis=profil"
    [call] = services.identity.calls_to("UpdateMe")
    assert (call.request.first_name, call.request.last_name) == ("Alicia", "Martin")
    assert call.request.HasField("phone") and call.request.phone == ""
    shown = await signed_in.get(response.headers["location"], headers=HTML)
    assert "Vos informations ont été enregistrées." in shown.text


async def test_profile_refusal_is_shown_beside_the_field_with_what_was_typed(signed_in, services):
    with_account(services)
    message = "Le numéro de téléphone n'est pas reconnu : 10 chiffres attendus."
    services.identity.answer(
        "UpdateMe", InvalidArgument("PHONE_INVALID", message, [FieldViolation("phone", message)])
    )
    csrf = await page_csrf(signed_in)

    response = await signed_in.post(
        "/mon-compte/profil",
        data={"csrf_token": csrf, "first_name": "Alice", "last_name": "Martin", "phone": "12"},
        headers=HTML,
    )

    assert response.status_code == 422
    escaped = message.replace("'", "&#39;")
    assert f'<p class="field-error" id="phone-error">{escaped}</p>' in response.text
    assert 'value="12"' in response.text


async def test_contact_email_change_sends_the_verification_link_with_the_password(
    signed_in, services
):
    with_account(services)
    services.identity.answer("RequestContactEmailChange", pb.RequestContactEmailChangeResponse())
    page = await signed_in.get("/mon-compte", headers=HTML)
    assert 'id="contact-current_password"' in page.text
    csrf = csrf_of(page.text)

    response = await signed_in.post(
        "/mon-compte/adresse-de-contact",
        data={
            "csrf_token": csrf,
            "contact_email": "nouvelle@exemple.fr",
            "current_password": "Mot-De-Passe-2026",
        },
        headers=HTML,
    )

    assert response.headers["location"] == "/mon-compte?avis=adresse"
    [call] = services.identity.calls_to("RequestContactEmailChange")
    assert call.request.new_contact_email == "nouvelle@exemple.fr"
    assert call.request.current_password == "Mot-De-Passe-2026"


async def test_contact_email_change_with_a_wrong_password_shows_it_beside_the_field(
    signed_in, services
):
    with_account(services)
    services.identity.answer(
        "RequestContactEmailChange",
        InvalidArgument(
            "CURRENT_PASSWORD_INVALID",
            "Le mot de passe actuel est incorrect.",
            [FieldViolation("current_password", "Mot de passe actuel incorrect.")],
        ),
    )
    csrf = await page_csrf(signed_in)

    response = await signed_in.post(
        "/mon-compte/adresse-de-contact",
        data={"csrf_token": csrf, "contact_email": "nouvelle@exemple.fr", "current_password": "x"},
        headers=HTML,
    )

    assert response.status_code == 422
    assert "Mot de passe actuel incorrect." in response.text
    assert 'value="x"' not in response.text  # a password is never sent back into the page


async def test_password_change_checks_the_confirmation_then_asks_identity(signed_in, services):
    with_account(services)
    services.identity.answer("ChangePassword", pb.ChangePasswordResponse())
    csrf = await page_csrf(signed_in)
    form = {
        "csrf_token": csrf,
        "current_password": PASSWORD,
        "new_password": "Nouveau-Cheval-43",
        "new_password_confirmation": "Autre-Chose-44",
    }

    mismatch = await signed_in.post("/mon-compte/mot-de-passe", data=form, headers=HTML)
    changed = await signed_in.post(
        "/mon-compte/mot-de-passe",
        data={**form, "new_password_confirmation": "Nouveau-Cheval-43"},
        headers=HTML,
    )

    assert mismatch.status_code == 422
    assert 'id="new_password_confirmation-error">Les deux mots de passe' in mismatch.text
    assert PASSWORD not in mismatch.text and "Nouveau-Cheval-43" not in mismatch.text
    assert changed.headers["location"] == "/mon-compte?avis=mot-de-passe"
    [call] = services.identity.calls_to("ChangePassword")
    assert (call.request.current_password, call.request.new_password) == (
        PASSWORD,
        "Nouveau-Cheval-43",
    )


async def test_wrong_current_password_is_shown_beside_it(signed_in, services):
    with_account(services)
    message = "Mot de passe actuel incorrect."
    services.identity.answer(
        "ChangePassword",
        InvalidArgument(
            "CURRENT_PASSWORD_INVALID", message, [FieldViolation("current_password", message)]
        ),
    )
    csrf = await page_csrf(signed_in)

    response = await signed_in.post(
        "/mon-compte/mot-de-passe",
        data={
            "csrf_token": csrf,
            "current_password": "faux",
            "new_password": "Nouveau-Cheval-43",
            "new_password_confirmation": "Nouveau-Cheval-43",
        },
        headers=HTML,
    )

    assert response.status_code == 422
    assert f'<p class="field-error" id="password-current_password-error">{message}</p>' in (
        response.text
    )
    assert 'id="deactivate-current_password-error"' not in response.text


async def test_two_factor_enrolment_shows_the_secret_once_then_confirms_a_code(signed_in, services):
    with_account(services)
    services.identity.answer(
        "StartTotpEnrolment",
        pb.StartTotpEnrolmentResponse(
            secret="JBSWY3DPEHPK3PXP",
            otpauth_uri="otpauth://totp/Chorus:alice?secret=JBSWY3DPEHPK3PXP",
            recovery_codes=["abcd-efgh", "ijkl-mnop"],
        ),
    )
    services.identity.answer("ConfirmTotpEnrolment", pb.ConfirmTotpEnrolmentResponse())
    csrf = await page_csrf(signed_in)

    started = await signed_in.post(
        "/mon-compte/double-authentification", data={"csrf_token": csrf}, headers=HTML
    )
    confirmed = await signed_in.post(
        "/mon-compte/double-authentification/confirmation",
        data={"csrf_token": csrf, "code": "123456"},
        headers=HTML,
    )

    assert started.status_code == 200
    assert "JBSWY3DPEHPK3PXP" in started.text and "ijkl-mnop" in started.text
    assert confirmed.headers["location"] == "/mon-compte?avis=double-authentification"
    assert services.identity.calls_to("ConfirmTotpEnrolment")[0].request.code == "123456"


async def test_wrong_two_factor_code_is_shown_beside_the_code(signed_in, services):
    with_account(services)
    message = "Code incorrect : saisissez le code affiché par votre application."
    services.identity.answer(
        "ConfirmTotpEnrolment",
        InvalidArgument("TOTP_CODE_INVALID", message, [FieldViolation("code", message)]),
    )
    csrf = await page_csrf(signed_in)

    response = await signed_in.post(
        "/mon-compte/double-authentification/confirmation",
        data={"csrf_token": csrf, "code": "000000"},
        headers=HTML,
    )

    assert response.status_code == 422
    assert f'<p class="field-error" id="code-error">{message}</p>' in response.text


async def test_two_factor_can_be_turned_off_with_the_password(signed_in, services):
    with_account(services, pb.User(id="u1", login_email="a@x.fr", two_factor_enabled=True))
    services.identity.answer("DisableTotp", pb.DisableTotpResponse())
    csrf = await page_csrf(signed_in)

    page = (await signed_in.get("/mon-compte", headers=HTML)).text
    response = await signed_in.post(
        "/mon-compte/double-authentification/desactivation",
        data={"csrf_token": csrf, "current_password": PASSWORD},
        headers=HTML,
    )

    assert "Activée" in page
    assert response.headers["location"] == "/mon-compte?avis=double-authentification-desactivee"
    assert services.identity.calls_to("DisableTotp")[0].request.current_password == PASSWORD


async def test_revoking_another_session(signed_in, services):
    with_account(services)
    services.identity.answer("RevokeMySession", pb.RevokeMySessionResponse())
    csrf = await page_csrf(signed_in)

    response = await signed_in.post(
        "/mon-compte/sessions/s-phone/revocation", data={"csrf_token": csrf}, headers=HTML
    )

    assert response.headers["location"] == "/mon-compte?avis=session"
    assert services.identity.calls_to("RevokeMySession")[0].request.session_id == "s-phone"


async def test_preferences_send_every_kind_shown_on_or_off(signed_in, services):
    with_account(services)
    services.notifications.answer(
        "UpdatePreferences", npb.UpdatePreferencesResponse(email={"INVOICE_RECEIVED": False})
    )
    csrf = await page_csrf(signed_in)

    response = await signed_in.post(
        "/mon-compte/notifications",
        data={
            "csrf_token": csrf,
            "kinds": ["INVOICE_RECEIVED", "ROLE_CHANGED"],
            "email": ["ROLE_CHANGED"],
        },
        headers=HTML,
    )

    assert response.headers["location"] == "/mon-compte?avis=notifications"
    [call] = services.notifications.calls_to("UpdatePreferences")
    assert dict(call.request.email) == {"INVOICE_RECEIVED": False, "ROLE_CHANGED": True}


async def test_deactivation_needs_the_confirmation_then_ends_the_session(signed_in, services):
    with_account(services)
    services.identity.answer("DeactivateMe", pb.DeactivateMeResponse())
    csrf = await page_csrf(signed_in)

    unconfirmed = await signed_in.post(
        "/mon-compte/desactivation",
        data={"csrf_token": csrf, "current_password": PASSWORD},
        headers=HTML,
    )
    done = await signed_in.post(
        "/mon-compte/desactivation",
        data={"csrf_token": csrf, "current_password": PASSWORD, "confirm": "on"},
        headers=HTML,
    )

    assert unconfirmed.status_code == 422
    assert 'id="confirm-error">Cochez la case pour confirmer' in unconfirmed.text
    assert done.status_code == 200
    assert "Compte désactivé" in done.text
    assert 'href="/mon-compte"' not in done.text
    assert 'chorus_session=""' in done.headers.get("set-cookie", "")
    [call] = services.identity.calls_to("DeactivateMe")
    assert call.request.current_password == PASSWORD


async def test_forms_without_csrf_token_are_refused_without_a_call(signed_in, services):
    with_account(services)
    await page_csrf(signed_in)

    for path, data in (
        ("/mon-compte/profil", {"first_name": "X"}),
        ("/mon-compte/mot-de-passe", {"current_password": PASSWORD}),
        ("/mon-compte/desactivation", {"current_password": PASSWORD, "confirm": "on"}),
        ("/mon-compte/double-authentification/confirmation", {"code": "123456"}),
    ):
        response = await signed_in.post(path, data={"csrf_token": "forged", **data}, headers=HTML)
        assert response.status_code == 403, path
        assert "Rechargez la page" in response.text
    for method in ("UpdateMe", "ChangePassword", "DeactivateMe", "ConfirmTotpEnrolment"):
        assert services.identity.calls_to(method) == []


async def test_the_invoice_email_frequency_is_a_select_with_french_labels(signed_in, services):
    with_account(services)
    services.notifications.answer(
        "GetPreferences",
        npb.GetPreferencesResponse(
            email={"INVOICE_RECEIVED": True},
            invoice_email_frequency=npb.INVOICE_EMAIL_FREQUENCY_DAILY,
        ),
    )

    page = await signed_in.get("/mon-compte", headers=HTML)

    assert page.status_code == 200, page.text
    assert '<select id="invoice_email_frequency" name="invoice_email_frequency"' in page.text
    assert '<option value="IMMEDIATE">Immédiat (un e-mail à chaque événement)</option>' in (
        page.text
    )
    assert '<option value="HOURLY">Un résumé par heure</option>' in page.text
    assert '<option value="DAILY" selected>Un résumé par jour</option>' in page.text


async def test_the_chosen_frequency_is_sent_with_the_kinds(signed_in, services):
    with_account(services)
    services.notifications.answer("UpdatePreferences", npb.UpdatePreferencesResponse())
    csrf = await page_csrf(signed_in)

    response = await signed_in.post(
        "/mon-compte/notifications",
        data={
            "csrf_token": csrf,
            "kinds": ["INVOICE_RECEIVED"],
            "email": ["INVOICE_RECEIVED"],
            "invoice_email_frequency": "HOURLY",
        },
        headers=HTML,
    )

    assert response.headers["location"] == "/mon-compte?avis=notifications"
    [call] = services.notifications.calls_to("UpdatePreferences")
    assert call.request.invoice_email_frequency == npb.INVOICE_EMAIL_FREQUENCY_HOURLY
    assert dict(call.request.email) == {"INVOICE_RECEIVED": True}


async def test_an_unknown_frequency_is_refused_beside_the_select(signed_in, services):
    with_account(services)
    csrf = await page_csrf(signed_in)

    response = await signed_in.post(
        "/mon-compte/notifications",
        data={"csrf_token": csrf, "kinds": ["INVOICE_RECEIVED"], "invoice_email_frequency": "X"},
        headers=HTML,
    )

    assert response.status_code == 422
    assert 'id="invoice_email_frequency-error"' in response.text
    assert "un résumé par heure ou un résumé par jour" in response.text
    assert services.notifications.calls_to("UpdatePreferences") == []
