import asyncio
import smtplib
from email.message import EmailMessage

import aiohttp
from chorus_devstack.mailcatcher import MailCatcher
from chorus_devstack.ports import free_port


def _send(catcher: MailCatcher, message: EmailMessage, **kwargs: object) -> None:
    with smtplib.SMTP(catcher.smtp_host, catcher.smtp_port, timeout=10) as smtp:
        smtp.send_message(message, **kwargs)


def _invoice_mail(to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Chorus Pro <ne-pas-repondre@chorus.example>"
    message["To"] = f"Zoé Lefèvre <{to}>"
    message["Subject"] = subject
    message.set_content("Bonjour,\nvotre facture n° 42 est déposée.\n")
    message.add_alternative("<p>Votre facture <b>n° 42</b> est déposée.</p>", subtype="html")
    message.add_attachment(
        b"%PDF-1.7 fake", maintype="application", subtype="pdf", filename="facture-42.pdf"
    )
    return message


async def test_utf8_mail_round_trip_through_the_http_api(mail_catcher: MailCatcher) -> None:
    mail_catcher.clear()
    subject = "Facture n° 42 déposée – 1 250,00 €"
    await asyncio.to_thread(_send, mail_catcher, _invoice_mail("zoe@mairie.example", subject))
    captured = await mail_catcher.wait_for(lambda m: "zoe@mairie.example" in m.envelope_to)
    assert captured.subject == subject

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{mail_catcher.api_url}/messages") as response:
            assert response.status == 200
            listing = await response.json()
        assert listing["total"] == 1
        summary = listing["messages"][0]
        assert summary["Subject"] == subject
        assert summary["From"] == {
            "Address": "ne-pas-repondre@chorus.example",
            "Name": "Chorus Pro",
        }
        assert summary["To"] == [{"Address": "zoe@mairie.example", "Name": "Zoé Lefèvre"}]
        assert summary["Created"].endswith("Z") and "T" in summary["Created"]

        async with http.get(f"{mail_catcher.api_url}/message/{summary['ID']}") as response:
            detail = await response.json()
        assert detail["Subject"] == subject
        assert "facture n° 42 est déposée" in detail["Text"]
        assert "<b>n° 42</b>" in detail["HTML"]
        [attachment] = detail["Attachments"]
        assert attachment["FileName"] == "facture-42.pdf"
        assert attachment["ContentType"] == "application/pdf"
        part_url = f"{mail_catcher.api_url}/message/{summary['ID']}/part/{attachment['PartID']}"
        async with http.get(part_url) as response:
            assert await response.read() == b"%PDF-1.7 fake"

        async with http.get(f"{mail_catcher.api_url}/message/nope") as response:
            assert response.status == 404


async def test_newest_first_raw_utf8_bcc_and_delete(mail_catcher: MailCatcher) -> None:
    mail_catcher.clear()
    first = EmailMessage()
    first["From"] = "a@chorus.example"
    first["To"] = "one@example.org"
    first["Subject"] = "premier"
    first.set_content("1")
    await asyncio.to_thread(_send, mail_catcher, first)

    # Raw 8-bit UTF-8 headers (SMTPUTF8), and an envelope-only recipient (Bcc).
    raw = (
        "From: Élodie <elodie@chorus.example>\r\nTo: two@example.org\r\n"
        "Subject: deuxième – été\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nCorps accentué\r\n"
    ).encode()

    def send_raw() -> None:
        with smtplib.SMTP(mail_catcher.smtp_host, mail_catcher.smtp_port, timeout=10) as smtp:
            smtp.sendmail(
                "elodie@chorus.example",
                ["two@example.org", "hidden@example.org"],
                raw,
                mail_options=["SMTPUTF8"],
            )

    await asyncio.to_thread(send_raw)

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{mail_catcher.api_url}/messages") as response:
            listing = await response.json()
        assert [m["Subject"] for m in listing["messages"]] == ["deuxième – été", "premier"]
        newest = listing["messages"][0]
        assert newest["From"]["Name"] == "Élodie"
        assert newest["Bcc"] == [{"Address": "hidden@example.org", "Name": ""}]
        async with http.get(f"{mail_catcher.api_url}/message/{newest['ID']}") as response:
            assert (await response.json())["Text"].strip() == "Corps accentué"

        async with http.get(f"{mail_catcher.api_url}/messages?limit=1&start=1") as response:
            page = await response.json()
        assert page["total"] == 2 and [m["Subject"] for m in page["messages"]] == ["premier"]

        async with http.delete(
            f"{mail_catcher.api_url}/messages", json={"IDs": [newest["ID"]]}
        ) as response:
            assert response.status == 200
        assert [m.subject for m in mail_catcher.messages] == ["premier"]
        async with http.delete(f"{mail_catcher.api_url}/messages") as response:
            assert response.status == 200
        async with http.get(f"{mail_catcher.api_url}/messages") as response:
            assert (await response.json())["total"] == 0


async def test_start_stop_on_chosen_ports() -> None:
    smtp_port, http_port = free_port(), free_port()
    async with MailCatcher("127.0.0.1", smtp_port, http_port) as catcher:
        assert catcher.api_url == f"http://127.0.0.1:{http_port}/api/v1"
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@b.c", "d@e.f", "x"
        message.set_content("y")
        await asyncio.to_thread(_send, catcher, message)
        assert (await catcher.wait_for(lambda m: True, timeout=5)).subject == "x"
    assert not catcher.running
