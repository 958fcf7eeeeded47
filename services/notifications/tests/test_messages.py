"""Unit tests of the message wording (pure domain: templates, labels, links)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from chorus_notifications.domain import links, messages
from chorus_notifications.domain.kinds import NotificationKind
from chorus_notifications.domain.labels import (
    INVOICE_STATUS_LABELS,
    ROLE_PHRASES,
    format_amount,
    invoice_status_label,
    role_phrase,
)
from chorus_notifications.domain.recipients import normalise_locale

PORTAL = "https://portail.chorus.test"


def activation(first_name="Zoé", token="tok-123", locale="fr"):
    return messages.activation_email(
        first_name=first_name,
        activation_url=links.activation_url(PORTAL, token),
        validity_minutes=60,
        locale=locale,
    )


def test_activation_email_is_french_polite_and_carries_the_link():
    email = activation()

    assert email.kind is NotificationKind.ACCOUNT_ACTIVATION
    assert email.subject == "Activez votre compte Chorus"
    assert email.text_body.startswith("Bonjour Zoé,\n")
    assert f"{PORTAL}/activation?token=tok-123" in email.text_body
    assert "valable 60 minutes" in email.text_body
    assert "si vous n'êtes pas à l'origine de cette demande, ignorez ce message" in (
        email.text_body.lower()
    )
    assert f'href="{PORTAL}/activation?token=tok-123"' in email.html_body
    assert '<html lang="fr">' in email.html_body
    assert "Activer mon compte" in email.html_body


def test_activation_link_token_is_url_encoded():
    assert links.activation_url(PORTAL + "/", "a+b/c=") == f"{PORTAL}/activation?token=a%2Bb%2Fc%3D"


def test_a_hostile_first_name_is_escaped_in_html_and_kept_verbatim_in_text():
    email = activation(first_name='<script>alert("x")</script>')

    assert "<script>" not in email.html_body
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in email.html_body
    assert email.text_body.startswith('Bonjour <script>alert("x")</script>,')


def test_activation_email_in_english_when_the_event_says_en():
    email = activation(locale="en")

    assert email.subject == "Activate your Chorus account"
    assert email.text_body.startswith("Hello Zoé,\n")
    assert "valid for 60 minutes" in email.text_body
    assert '<html lang="en">' in email.html_body


def test_greeting_without_first_name_stays_grammatical():
    assert activation(first_name="").text_body.startswith("Bonjour,\n")


@pytest.mark.parametrize(
    ("raw", "expected"), [("fr", "fr"), ("en", "en"), ("en-GB", "en"), ("", "fr"), ("de", "fr")]
)
def test_locale_defaults_to_french(raw, expected):
    assert normalise_locale(raw) == expected


def test_a_message_missing_in_the_locale_falls_back_to_french():
    # Feed wording exists only in French for now.
    assert messages.account_activated_feed(locale="en").title == "Votre compte est activé"


def test_validity_is_computed_from_the_event_times_with_60_minutes_by_default():
    issued = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert messages.validity_minutes(issued, issued + timedelta(minutes=30)) == 30
    assert messages.validity_minutes(None, issued) == 60
    assert messages.validity_minutes(issued, issued - timedelta(minutes=1)) == 60


def test_invoice_status_email_names_the_invoice_and_the_new_status():
    email = messages.invoice_status_email(
        first_name="Zoé",
        number="F-2025-0042",
        from_status="EN_COURS_ACHEMINEMENT",
        to_status="MISE_A_DISPOSITION",
        comment="",
        invoice_url=links.absolute(PORTAL, links.invoice_path("inv-1")),
        locale="fr",
    )

    assert email.kind is NotificationKind.INVOICE_STATUS_CHANGED
    assert email.subject == "Facture F-2025-0042 : mise à disposition du destinataire"
    assert "« mise à disposition du destinataire »" in email.text_body
    assert "statut précédent : « en cours d'acheminement »" in email.text_body
    assert f"{PORTAL}/factures/inv-1" in email.text_body
    assert f'href="{PORTAL}/factures/inv-1"' in email.html_body
    assert "Commentaire" not in email.text_body


def test_invoice_status_email_shows_the_comment_escaped_in_html():
    email = messages.invoice_status_email(
        first_name="Zoé",
        number="F-1",
        from_status="MISE_A_DISPOSITION",
        to_status="REJETEE",
        comment="Bon de commande <absent>",
        invoice_url=f"{PORTAL}/factures/x",
        locale="fr",
    )

    assert email.subject == "Facture F-1 : rejetée"
    assert "Commentaire : Bon de commande <absent>" in email.text_body
    assert "Bon de commande &lt;absent&gt;" in email.html_body


def test_every_invoice_status_of_the_contract_has_a_french_and_english_label():
    for name, value in invoices_pb.InvoiceStatus.items():
        if value == invoices_pb.INVOICE_STATUS_UNSPECIFIED:
            continue
        code = name.removeprefix("INVOICE_STATUS_")
        assert code in INVOICE_STATUS_LABELS["fr"], code
        assert code in INVOICE_STATUS_LABELS["en"], code


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("DEPOSEE", "déposée"),
        ("EN_COURS_ACHEMINEMENT", "en cours d'acheminement"),
        ("MISE_A_DISPOSITION", "mise à disposition du destinataire"),
        ("SUSPENDUE", "suspendue"),
        ("A_RECYCLER", "à recycler"),
        ("MISE_EN_PAIEMENT", "mise en paiement"),
    ],
)
def test_french_status_labels(code, label):
    assert invoice_status_label(code) == label


def test_an_unknown_status_still_reads():
    assert invoice_status_label("NOUVEAU_STATUT") == "nouveau statut"


def test_every_role_of_the_contract_reads_in_a_sentence():
    for name, value in structures_pb.Role.items():
        if value == structures_pb.ROLE_UNSPECIFIED:
            continue
        code = name.removeprefix("ROLE_")
        assert code in ROLE_PHRASES["fr"], code
        assert code in ROLE_PHRASES["en"], code
    assert role_phrase("UTILISATEUR") == "en tant qu'utilisateur"


def test_member_added_feed_names_the_structure_and_the_role():
    entry = messages.member_added_feed(
        structure_name="Mairie de Lyon",
        role="GESTIONNAIRE_SECONDAIRE",
        link=links.structure_path("s-1"),
        locale="fr",
    )

    assert entry.title == "Rattachement à Mairie de Lyon"
    assert entry.body == (
        "Vous êtes rattaché(e) à la structure Mairie de Lyon en tant que gestionnaire secondaire."
    )
    assert entry.link == "/structures/s-1"


def test_invoice_submitted_feed_formats_the_amount_the_french_way():
    entry = messages.invoice_submitted_feed(
        number="F-7", gross_total="1234.5", currency="EUR", link="/factures/i", locale="fr"
    )

    assert entry.title == "Facture F-7 déposée"
    assert "d'un montant de 1\u202f234,50 EUR" in entry.body


@pytest.mark.parametrize(
    ("amount", "locale", "expected"),
    [
        ("1200.00", "fr", "1\u202f200,00 EUR"),
        ("1200", "en", "1,200.00 EUR"),
        ("0.5", "fr", "0,50 EUR"),
        ("n/a", "fr", "n/a EUR"),
    ],
)
def test_format_amount(amount, locale, expected):
    assert format_amount(amount, "EUR", locale) == expected
