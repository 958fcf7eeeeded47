"""``/api/v1/me/notification-preferences`` against the notifications double: the per-kind
switches and the invoice e-mail frequency (immediate, hourly or daily digest), and the
refusals (an unknown frequency or field never reaches the service)."""

from __future__ import annotations

from chorus.notifications.v1 import notifications_service_pb2 as pb

AUTH = {"Authorization": "Bearer the-token"}
PATH = "/api/v1/me/notification-preferences"


async def test_get_answers_the_kinds_and_the_invoice_email_frequency(api, services):
    services.notifications.answer(
        "GetPreferences",
        pb.GetPreferencesResponse(
            email={"INVOICE_RECEIVED": True},
            invoice_email_frequency=pb.INVOICE_EMAIL_FREQUENCY_HOURLY,
        ),
    )

    response = await api.get(PATH, headers=AUTH)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "email": {"INVOICE_RECEIVED": True},
        "invoice_email_frequency": "HOURLY",
    }


async def test_put_sets_the_frequency_alone_and_keeps_the_kinds(api, services):
    services.notifications.answer(
        "UpdatePreferences",
        pb.UpdatePreferencesResponse(
            email={"INVOICE_RECEIVED": True},
            invoice_email_frequency=pb.INVOICE_EMAIL_FREQUENCY_DAILY,
        ),
    )

    response = await api.put(PATH, json={"invoice_email_frequency": "DAILY"}, headers=AUTH)

    assert response.status_code == 200, response.text
    assert response.json()["invoice_email_frequency"] == "DAILY"
    [call] = services.notifications.calls_to("UpdatePreferences")
    assert call.request.invoice_email_frequency == pb.INVOICE_EMAIL_FREQUENCY_DAILY
    assert dict(call.request.email) == {}
    assert call.metadata["authorization"] == "Bearer the-token"


async def test_put_of_the_kinds_only_leaves_the_frequency_unspecified(api, services):
    services.notifications.answer(
        "UpdatePreferences", pb.UpdatePreferencesResponse(email={"INVOICE_RECEIVED": False})
    )

    response = await api.put(PATH, json={"email": {"INVOICE_RECEIVED": False}}, headers=AUTH)

    assert response.status_code == 200, response.text
    [call] = services.notifications.calls_to("UpdatePreferences")
    assert call.request.invoice_email_frequency == pb.INVOICE_EMAIL_FREQUENCY_UNSPECIFIED


async def test_an_unknown_frequency_or_field_is_a_422_that_never_reaches_the_service(api, services):
    for body in (
        {"invoice_email_frequency": "WEEKLY"},
        {"invoice_email_frequency": "UNSPECIFIED"},
        {"invoice_email_frequency": 2},
        {"email": {}, "frequency": "DAILY"},
    ):
        response = await api.put(PATH, json=body, headers=AUTH)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["code"] == "VALIDATION_FAILED"
        fields = {error["field"] for error in response.json()["errors"]}
        assert fields & {"invoice_email_frequency", "frequency"}, response.json()
    assert services.notifications.calls_to("UpdatePreferences") == []
