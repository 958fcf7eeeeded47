"""Unit tests of the message wording (pure domain: templates, labels, links)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from chorus_notifications.domain import account_messages, links, messages
from chorus_notifications.domain.kinds import NotificationKind
from chorus_notifications.domain.labels import (
    INVOICE_STATUS_LABELS,
    ROLE_PHRASES,
    format_amount,
    invoice_status_label,
    role_phrase,
)
from chorus_notifications.domain.recipients import normalise_locale
from chorus_notifications.rendering import render_email, render_feed

from .conftest import assert_english

PORTAL = "https://portail.chorus.test"


def activation(first_name="Zoé", token="tok-123", locale="fr"):
    return render_email(
        messages.activation_email(
            first_name=first_name,
            activation_url=links.activation_url(PORTAL, token),
            validity_minutes=60,
            locale=locale,
        )
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
    # No German wording is shipped: the French one is used.
    assert (
        render_feed(messages.account_activated_feed(locale="de")).title == "Votre compte est activé"
    )


def test_validity_is_computed_from_the_event_times_with_60_minutes_by_default():
    issued = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert messages.validity_minutes(issued, issued + timedelta(minutes=30)) == 30
    assert messages.validity_minutes(None, issued) == 60
    assert messages.validity_minutes(issued, issued - timedelta(minutes=1)) == 60


def test_invoice_status_email_names_the_invoice_and_the_new_status():
    email = render_email(
        messages.invoice_status_email(
            first_name="Zoé",
            number="F-2025-0042",
            from_status="EN_COURS_ACHEMINEMENT",
            to_status="MISE_A_DISPOSITION",
            comment="",
            invoice_url=links.absolute(PORTAL, links.invoice_path("inv-1")),
            locale="fr",
        )
    )

    assert email.kind is NotificationKind.INVOICE_STATUS_CHANGED
    assert email.subject == "Facture F-2025-0042 : mise à disposition du destinataire"
    assert "« mise à disposition du destinataire »" in email.text_body
    assert "statut précédent : « en cours d'acheminement »" in email.text_body
    assert f"{PORTAL}/factures/inv-1" in email.text_body
    assert f'href="{PORTAL}/factures/inv-1"' in email.html_body
    assert "Commentaire" not in email.text_body


def test_invoice_status_email_shows_the_comment_escaped_in_html():
    email = render_email(
        messages.invoice_status_email(
            first_name="Zoé",
            number="F-1",
            from_status="MISE_A_DISPOSITION",
            to_status="REJETEE",
            comment="Bon de commande <absent>",
            invoice_url=f"{PORTAL}/factures/x",
            locale="fr",
        )
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
    entry = render_feed(
        messages.member_added_feed(
            structure_name="Mairie de Lyon",
            role="GESTIONNAIRE_SECONDAIRE",
            link=links.structure_path("s-1"),
            locale="fr",
        )
    )

    assert entry.title == "Rattachement à Mairie de Lyon"
    assert entry.body == (
        "Vous êtes rattaché(e) à la structure Mairie de Lyon en tant que gestionnaire secondaire."
    )
    assert entry.link == "/structures/s-1"


def test_invoice_submitted_feed_formats_the_amount_the_french_way():
    entry = render_feed(
        messages.invoice_submitted_feed(
            number="F-7", gross_total="1234.5", currency="EUR", link="/factures/i", locale="fr"
        )
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


def registration_notice(*, account_active=True, locale="fr"):
    return render_email(
        account_messages.existing_account_registration_email(
            first_name="Zoé",
            account_active=account_active,
            at=datetime(2026, 11, 27, 14, 32, tzinfo=UTC),
            login_url=links.absolute(PORTAL, "/connexion"),
            reset_page_url=links.absolute(PORTAL, "/mot-de-passe-oublie"),
            locale=locale,
        )
    )


def test_registration_notice_tells_an_active_owner_how_to_sign_in_or_reset():
    email = registration_notice()

    assert email.kind is NotificationKind.EXISTING_ACCOUNT_REGISTRATION
    assert email.subject == "Tentative de création d'un compte Chorus avec votre adresse"
    assert email.text_body.startswith("Bonjour Zoé,\n")
    assert "Le 27/11/2026 à 14:32 UTC, quelqu'un a demandé" in email.text_body
    assert "Aucun compte n'a été créé" in email.text_body
    for url in (f"{PORTAL}/connexion", f"{PORTAL}/mot-de-passe-oublie"):
        assert url in email.text_body and f'href="{url}"' in email.html_body
    assert "désactivé" not in email.text_body


def test_registration_notice_to_a_deactivated_account_does_not_send_it_to_log_in():
    email = registration_notice(account_active=False)

    assert "votre compte est désactivé" in email.text_body
    assert "/connexion" not in email.text_body + email.html_body
    assert "/mot-de-passe-oublie" not in email.text_body + email.html_body


def test_contact_change_notice_names_the_new_address_escaped_in_html():
    email = render_email(
        account_messages.contact_email_changed_email(
            first_name="Zoé",
            new_contact_email="<pirate>@exemple.fr",
            reset_page_url=links.absolute(PORTAL, "/mot-de-passe-oublie"),
            locale="fr",
        )
    )

    assert email.kind is NotificationKind.CONTACT_EMAIL_CHANGED
    assert email.subject == "Votre adresse de contact Chorus a changé"
    assert "remplacée par <pirate>@exemple.fr" in email.text_body
    assert "&lt;pirate&gt;@exemple.fr" in email.html_body and "<pirate>" not in email.html_body
    assert "liens de réinitialisation du mot de passe" in email.text_body
    assert "Si vous n'êtes pas à l'origine de ce changement" in email.text_body


def test_security_notices_about_addresses_cannot_be_switched_off():
    from chorus_notifications.domain.preferences import is_optional

    assert not is_optional(NotificationKind.CONTACT_EMAIL_CHANGED)
    assert not is_optional(NotificationKind.EXISTING_ACCOUNT_REGISTRATION)


# --- English wording: every message a user with locale "en" can receive ------------------


def test_every_french_template_has_an_english_counterpart():
    """A French template added without its English version fails here, not in a user's inbox."""
    root = resources.files("chorus_notifications") / "templates"

    def names(locale: str) -> set[str]:
        base = Path(str(root / locale))
        return {path.relative_to(base).as_posix() for path in base.rglob("*") if path.is_file()}

    french = names("fr")
    assert "feed/invoice_received.txt" in french  # the walk does reach the sub-folders
    assert sorted(french - names("en")) == []


def test_registration_and_contact_change_notices_in_english():
    active = registration_notice(locale="en")
    deactivated = registration_notice(account_active=False, locale="en")
    contact = render_email(
        account_messages.contact_email_changed_email(
            first_name="Ann",
            new_contact_email="new@example.org",
            reset_page_url=links.absolute(PORTAL, "/mot-de-passe-oublie"),
            locale="en",
        )
    )

    assert active.subject == "Someone tried to create a Chorus account with your address"
    assert "On 2026-11-27 14:32 UTC, someone asked" in active.text_body
    assert "sign in" in active.text_body and "reset it" in active.text_body
    assert "your account is deactivated" in deactivated.text_body
    assert contact.subject == "Your Chorus contact address changed"
    assert "replaced by new@example.org" in contact.text_body
    for email in (active, deactivated, contact):
        assert_english(email.subject, email.text_body, email.html_body)


def test_invoice_status_email_in_english():
    email = render_email(
        messages.invoice_status_email(
            first_name="Ann",
            number="F-2025-0042",
            from_status="MISE_A_DISPOSITION",
            to_status="REJETEE",
            comment="Purchase order missing",
            invoice_url=links.absolute(PORTAL, links.invoice_path("inv-1")),
            locale="en",
        )
    )

    assert email.subject == "Invoice F-2025-0042: rejected"
    assert email.text_body.startswith("Hello Ann,\n")
    assert 'previous status: "made available to the recipient"' in email.text_body
    assert "Comment: Purchase order missing" in email.text_body
    assert '<html lang="en">' in email.html_body
    assert_english(email.subject, email.text_body, email.html_body)


def test_invoice_received_email_in_english():
    email = render_email(
        messages.invoice_received_email(
            first_name="Ann",
            number="F-9",
            invoice_url=links.absolute(PORTAL, links.invoice_path("inv-9")),
            locale="en",
        )
    )

    assert email.kind is NotificationKind.INVOICE_RECEIVED
    assert email.subject == "New invoice F-9 received"
    assert email.text_body.startswith("Hello Ann,\n")
    assert "made available to your organisation" in email.text_body
    assert f"{PORTAL}/factures/inv-9" in email.text_body
    assert f'href="{PORTAL}/factures/inv-9"' in email.html_body
    assert "View the invoice" in email.html_body
    assert '<html lang="en">' in email.html_body
    assert_english(email.subject, email.text_body, email.html_body)


@pytest.mark.parametrize("comment", ["Purchase order <PO-12> attached", ""])
def test_invoice_completed_email_in_english(comment):
    email = render_email(
        messages.invoice_completed_email(
            first_name="",
            number="F-9",
            comment=comment,
            invoice_url=f"{PORTAL}/factures/inv-9",
            locale="en",
        )
    )

    assert email.subject == "Invoice F-9 completed by the supplier"
    assert email.text_body.startswith("Hello,\n")
    assert ("Their reply: Purchase order <PO-12> attached" in email.text_body) == bool(comment)
    assert ("Purchase order &lt;PO-12&gt; attached" in email.html_body) == bool(comment)
    assert "Resume processing" in email.html_body
    assert_english(email.subject, email.text_body, email.html_body)


@pytest.mark.parametrize(
    ("entry", "title", "body"),
    [
        (
            lambda: messages.invoice_status_feed(
                number="F-1",
                from_status="EN_COURS_ACHEMINEMENT",
                to_status="MISE_A_DISPOSITION",
                comment="",
                link="/factures/1",
                locale="en",
            ),
            "Invoice F-1: made available to the recipient",
            'Your invoice no. F-1 is now "made available to the recipient"'
            ' (previous status: "being routed").',
        ),
        (
            lambda: messages.supplier_invoice_status_feed(
                number="F-1",
                from_status="MISE_A_DISPOSITION",
                to_status="SUSPENDUE",
                comment="Missing PO",
                link="/factures/1",
                locale="en",
            ),
            "Invoice F-1: suspended",
            "The recipient has moved your organisation's invoice no. F-1 to the status"
            ' "suspended" (previous status: "made available to the recipient").'
            " Comment: Missing PO",
        ),
        (
            lambda: messages.invoice_received_feed(number="F-2", link="/factures/2", locale="en"),
            "New invoice F-2 received",
            "Invoice no. F-2 has been made available to your organisation.",
        ),
        (
            lambda: messages.invoice_completed_feed(
                number="F-3", comment="Done", link="/factures/3", locale="en"
            ),
            "Invoice F-3 completed by the supplier",
            "The supplier has completed invoice no. F-3, suspended by your organisation."
            " Their reply: Done",
        ),
        (
            lambda: messages.invoice_submitted_feed(
                number="F-7", gross_total="1234.5", currency="EUR", link="/f/7", locale="en"
            ),
            "Invoice F-7 submitted",
            "Your invoice no. F-7 for 1,234.50 EUR has been submitted."
            " It will now be routed to its recipient.",
        ),
        (
            lambda: messages.account_activated_feed(locale="en"),
            "Your account is activated",
            "Welcome to Chorus! You can now link your account to an organisation to submit and"
            " track your invoices.",
        ),
        (
            lambda: messages.member_added_feed(
                structure_name="Lyon City Hall",
                role="GESTIONNAIRE_SECONDAIRE",
                link="/structures/s-1",
                locale="en",
            ),
            "Joined Lyon City Hall",
            "You are now a member of the organisation Lyon City Hall as secondary manager.",
        ),
        (
            lambda: messages.member_added_feed(
                structure_name="", role="UTILISATEUR", link="/structures/s-1", locale="en"
            ),
            "Joined a new organisation",
            "You are now a member of a new organisation as a user.",
        ),
        (
            lambda: account_messages.password_changed_feed(locale="en"),
            "Password changed",
            "The password of your account was changed. If you did not make this change,"
            " reset it right away.",
        ),
        (
            lambda: account_messages.existing_account_registration_feed(
                at=datetime(2026, 11, 27, 14, 32, tzinfo=UTC), locale="en"
            ),
            "Sign-up attempt with your address",
            "On 2026-11-27 14:32 UTC, someone asked to create an account with your e-mail"
            " address. No account was created and yours did not change.",
        ),
        (
            lambda: account_messages.two_factor_changed_feed(enabled=False, locale="en"),
            "Two-factor authentication disabled",
            "Signing in to your account no longer asks for a one-time code.",
        ),
    ],
)
def test_feed_entries_in_english(entry, title, body):
    item = render_feed(entry())

    assert item.title == title
    assert item.body == body
    assert_english(item.title, item.body)
