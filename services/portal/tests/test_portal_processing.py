"""Portal processing of an invoice and its lists against service doubles (issue 13): the
detail shows the parties' identifiers, the deposit date and who made each change; the
buttons are the service's suggested moves only; a terminal status goes through a
confirmation page; the live state endpoint; sorted lists; CSV and XLSX exports."""

from __future__ import annotations

import csv
import io
import re

import pytest
from chorus.identity.v1 import identity_service_pb2 as ipb
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2 as spb
from chorus_platform.errors import FailedPrecondition
from google.protobuf.timestamp_pb2 import Timestamp
from openpyxl import load_workbook

from .test_portal import HTML, csrf_of
from .test_portal_invoices import (
    INVOICE_ID,
    NAMES,
    RECIPIENT_ID,
    SUPPLIER_ID,
    history,
    invoice,
    with_detail,
)

SIRETS = {SUPPLIER_ID: "73282932000074", RECIPIENT_ID: "21750001600019"}


@pytest.fixture
def signed_in(api, services):
    api.cookies.set("chorus_session", "acc-1")
    services.structures.answer("GetStructure", structure)
    return api


def structure(request) -> spb.GetStructureResponse:
    return spb.GetStructureResponse(
        structure=spb.Structure(
            id=request.structure_id,
            raison_sociale=NAMES.get(request.structure_id, "?"),
            identifier_type=spb.IDENTIFIER_TYPE_SIRET,
            identifier=SIRETS.get(request.structure_id, ""),
        )
    )


def people(request: ipb.BatchGetUsersRequest) -> ipb.BatchGetUsersResponse:
    known = {"u1": ("Camille", "Fournier"), "u2": ("Dominique", "Acheteur")}
    return ipb.BatchGetUsersResponse(
        users=[
            ipb.User(id=i, first_name=known[i][0], last_name=known[i][1])
            for i in request.user_ids
            if i in known
        ]
    )


def detail(services, found: pb.Invoice) -> None:
    with_detail(services, found)
    services.structures.answer("GetStructure", structure)
    services.identity.answer("BatchGetUsers", people)


async def page_of(client) -> str:
    response = await client.get(f"/factures/{INVOICE_ID}", headers=HTML)
    assert response.status_code == 200, response.text
    return response.text


async def test_detail_shows_identifiers_deposit_date_and_who(signed_in, services):
    entries = history()
    entries.entries.insert(
        1,
        pb.HistoryEntry(
            status=pb.INVOICE_STATUS_MISE_A_DISPOSITION, at=Timestamp(seconds=1_767_226_000),
            actor="system",
        ),
    )  # fmt: skip
    entries.entries[-1].actor = "gone"
    detail(
        services,
        invoice(
            engagement_number="EJ-42",
            deposited_at=Timestamp(seconds=1_767_225_600),  # 01/01/2026 01:00 in Paris
        ),
    )
    services.invoices.answer("GetInvoiceHistory", entries)

    page = await page_of(signed_in)

    assert 'Fromagerie Dupont<br><span class="identifier">SIRET 73282932000074</span>' in page
    assert 'Ville de Démoville<br><span class="identifier">SIRET 21750001600019</span>' in page
    assert '<dd id="service-code">SERV-FIN</dd>' in page
    assert '<dd id="engagement">EJ-42</dd>' in page
    assert '<dd id="deposited-at">01/01/2026 à 01:00</dd>' in page
    assert '<th scope="col">Par</th>' in page
    who = re.findall(r"<tr><td>.*?</td><td>.*?</td><td>.*?</td><td>(.*?)</td>", page)
    assert who == [
        "Camille Fournier",
        "Système",
        "Dominique Acheteur",
        "Dominique Acheteur",
        "Utilisateur inconnu",
    ]
    [asked] = services.identity.calls_to("BatchGetUsers")
    assert sorted(asked.request.user_ids) == ["gone", "u1", "u2"]


async def test_a_draft_says_it_is_not_deposited_yet(signed_in, services):
    detail(services, invoice(status=pb.INVOICE_STATUS_BROUILLON, actions=["SUBMIT"]))
    page = await page_of(signed_in)
    assert '<dd id="deposited-at">Pas encore déposée</dd>' in page
    assert '<dd id="engagement">—</dd>' in page


async def test_buttons_offer_the_next_step_only(signed_in, services):
    every_move = [f"MARK_{s}" for s in ("PRISE_EN_COMPTE_DESTINATAIRE", "SERVICE_FAIT",
        "MANDATEE", "MISE_EN_PAIEMENT", "SUSPENDUE", "A_RECYCLER", "REJETEE")]  # fmt: skip
    detail(services, invoice(actions=every_move))

    page = await page_of(signed_in)

    steps = page.split('id="next-steps"')[1].split("</div>")[0]
    assert re.findall(r'name="status" value="([A-Z_]+)"', steps) == ["PRISE_EN_COMPTE_DESTINATAIRE"]
    assert ">Prendre en compte</button>" in steps
    back = page.split('id="send-back-form"')[1].split("</form>")[0]
    assert re.findall(r'name="status" value="([A-Z_]+)"', back) == [
        "SUSPENDUE",
        "A_RECYCLER",
        "REJETEE",
    ]
    assert ">Rejeter…</button>" in back  # terminal: asks for confirmation
    for skipped in ("SERVICE_FAIT", "MANDATEE", "MISE_EN_PAIEMENT"):
        assert f'value="{skipped}"' not in page
    assert "<select" in back and 'id="reason_code"' in back


async def test_no_processing_for_a_reader_without_the_actions(signed_in, services):
    detail(services, invoice(actions=[]))
    page = await page_of(signed_in)
    assert 'id="next-steps"' not in page and 'id="send-back-form"' not in page


async def test_the_table_unavailable_offers_nothing_and_says_so(signed_in, services):
    detail(services, invoice(actions=["MARK_PRISE_EN_COMPTE_DESTINATAIRE"]))
    services.invoices.answers.pop("ListStatusTransitions")
    page = await page_of(signed_in)
    assert 'id="processing-unavailable"' in page and 'id="next-steps"' not in page


async def test_a_terminal_status_needs_a_confirmation(signed_in, services):
    booked = invoice(status=pb.INVOICE_STATUS_COMPTABILISEE, actions=["MARK_MISE_EN_PAIEMENT"])
    detail(services, booked)
    services.invoices.answer("ChangeInvoiceStatus", pb.ChangeInvoiceStatusResponse(invoice=booked))
    page = await page_of(signed_in)
    assert ">Mettre en paiement…</button>" in page
    csrf = csrf_of(page)

    asked = await signed_in.post(
        f"/factures/{INVOICE_ID}/statut",
        data={"csrf_token": csrf, "status": "MISE_EN_PAIEMENT"},
        headers=HTML,
    )

    assert asked.status_code == 200
    assert "au statut « Mise en paiement » ?" in asked.text
    assert "Ce statut est définitif" in asked.text
    assert '<input type="hidden" name="confirm" value="oui">' in asked.text
    assert f'href="/factures/{INVOICE_ID}">Annuler</a>' in asked.text
    assert services.invoices.calls_to("ChangeInvoiceStatus") == []

    confirmed = await signed_in.post(
        f"/factures/{INVOICE_ID}/statut",
        data={"csrf_token": csrf_of(asked.text), "status": "MISE_EN_PAIEMENT", "confirm": "oui"},
        headers=HTML,
    )
    assert confirmed.status_code == 303
    [call] = services.invoices.calls_to("ChangeInvoiceStatus")
    assert call.request.status == pb.INVOICE_STATUS_MISE_EN_PAIEMENT


async def test_a_rejection_is_confirmed_with_its_reason(signed_in, services):
    detail(services, invoice(actions=["MARK_REJETEE", "MARK_SUSPENDUE"]))
    services.invoices.answer(
        "ChangeInvoiceStatus", pb.ChangeInvoiceStatusResponse(invoice=invoice())
    )
    csrf = csrf_of(await page_of(signed_in))
    form = {"csrf_token": csrf, "status": "REJETEE", "reason_code": "DOUBLON", "reason": "Déjà F-1"}

    asked = await signed_in.post(f"/factures/{INVOICE_ID}/statut", data=form, headers=HTML)

    assert asked.status_code == 200
    assert "DOUBLON — Facture en doublon : Déjà F-1" in asked.text
    assert services.invoices.calls_to("ChangeInvoiceStatus") == []
    done = await signed_in.post(
        f"/factures/{INVOICE_ID}/statut", data={**form, "confirm": "oui"}, headers=HTML
    )
    assert done.status_code == 303
    [call] = services.invoices.calls_to("ChangeInvoiceStatus")
    assert call.request.reason == "DOUBLON — Facture en doublon : Déjà F-1"


async def test_suspending_needs_no_confirmation_and_sends_the_code(signed_in, services):
    detail(services, invoice(actions=["MARK_SUSPENDUE"]))
    services.invoices.answer(
        "ChangeInvoiceStatus", pb.ChangeInvoiceStatusResponse(invoice=invoice())
    )
    csrf = csrf_of(await page_of(signed_in))
    done = await signed_in.post(
        f"/factures/{INVOICE_ID}/statut",
        data={"csrf_token": csrf, "status": "SUSPENDUE", "reason_code": "JUSTIF_ABS"},
        headers=HTML,
    )
    assert done.status_code == 303
    [call] = services.invoices.calls_to("ChangeInvoiceStatus")
    assert call.request.reason == "JUSTIF_ABS — Pièce justificative manquante"


async def test_a_wrong_transition_shows_the_service_message(signed_in, services):
    done = invoice(status=pb.INVOICE_STATUS_SERVICE_FAIT, actions=["MARK_MANDATEE"])
    detail(services, done)
    message = (
        "Une facture au statut « Service fait » ne peut pas passer au statut « Prise en"
        " compte » : le cycle de vie ne le permet pas."
    )
    services.invoices.answer(
        "ChangeInvoiceStatus", FailedPrecondition("INVALID_STATUS_TRANSITION", message)
    )
    csrf = csrf_of(await page_of(signed_in))

    refused = await signed_in.post(
        f"/factures/{INVOICE_ID}/statut",
        data={"csrf_token": csrf, "status": "PRISE_EN_COMPTE_DESTINATAIRE"},
        headers=HTML,
    )

    assert refused.status_code == 409
    assert message in refused.text


async def test_a_terminal_post_without_csrf_is_refused_without_confirmation(signed_in, services):
    detail(
        services, invoice(status=pb.INVOICE_STATUS_COMPTABILISEE, actions=["MARK_MISE_EN_PAIEMENT"])
    )
    await page_of(signed_in)
    refused = await signed_in.post(
        f"/factures/{INVOICE_ID}/statut",
        data={"csrf_token": "forged", "status": "MISE_EN_PAIEMENT", "confirm": "oui"},
        headers=HTML,
    )
    assert refused.status_code == 403
    assert services.invoices.calls_to("ChangeInvoiceStatus") == []


async def test_live_state_endpoint(signed_in, services):
    detail(services, invoice(updated_at=Timestamp(seconds=1_767_226_000)))
    state = await signed_in.get(f"/factures/{INVOICE_ID}/etat")
    assert state.status_code == 200
    assert state.json() == {
        "status": "MISE_A_DISPOSITION",
        "label": "Mise à disposition",
        "updated": "2026-01-01T00:06:40Z",
        "final": False,
    }
    assert state.headers["cache-control"] == "no-store"
    page = await page_of(signed_in)
    assert 'data-url="/factures/' + INVOICE_ID + '/etat"' in page
    assert '<script src="/static/invoice-live.js" defer></script>' in page

    detail(services, invoice(status=pb.INVOICE_STATUS_MISE_EN_PAIEMENT))
    assert (await signed_in.get(f"/factures/{INVOICE_ID}/etat")).json()["final"] is True
    assert "invoice-live.js" not in await page_of(signed_in)
    assert (await signed_in.get("/factures/pas-un-id/etat")).status_code == 404
    signed_in.cookies.clear()
    assert (await signed_in.get(f"/factures/{INVOICE_ID}/etat")).status_code == 401


async def test_lists_sort_through_the_service(signed_in, services):
    services.invoices.answer(
        "ListInvoices", pb.ListInvoicesResponse(invoices=[invoice()], total_size=45)
    )

    page = await signed_in.get(
        "/factures", params={"side": "received", "tri": "montant", "ordre": "desc", "page": "2"},
        headers=HTML,
    )  # fmt: skip

    assert page.status_code == 200
    [call] = services.invoices.calls_to("ListInvoices")
    sent = call.request
    assert (sent.order_by, sent.ascending) == (pb.LIST_ORDER_GROSS_TOTAL, False)
    assert (sent.page_number, sent.page_size, sent.page_token) == (2, 20, "")
    assert 'aria-sort="descending"' in page.text
    assert "tri=montant&amp;ordre=asc" in page.text  # the same column turns the order
    assert "page=3" in page.text and "page=1" in page.text  # 45 rows, 20 a page
    assert "/factures/export.csv?side=received&amp;tri=montant&amp;ordre=desc" in page.text

    services.invoices.calls.clear()
    await signed_in.get("/factures", params={"tri": "n'importe", "ordre": "x"}, headers=HTML)
    [call] = services.invoices.calls_to("ListInvoices")
    assert (call.request.order_by, call.request.page_number) == (pb.LIST_ORDER_UNSPECIFIED, 0)


def many(count: int) -> list[pb.Invoice]:
    return [
        invoice(
            id=f"00000000-0000-4000-8000-{n:012d}",
            number=f"F-{n:05d}",
            deposited_at=Timestamp(seconds=1_767_225_600),
        )
        for n in range(count)
    ]


async def test_csv_export_for_french_excel(signed_in, services):
    services.structures.answer("GetStructure", structure)
    services.invoices.answer(
        "ListInvoices",
        pb.ListInvoicesResponse(
            invoices=[invoice(number="=1+1", deposited_at=Timestamp(seconds=1_767_225_600))],
            total_size=1,
        ),
    )

    response = await signed_in.get(
        "/factures/export.csv", params={"side": "received", "status": "SUSPENDUE", "tri": "numero"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="factures-recues-' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Numéro", "Date de facture", "Fournisseur"]
    assert rows[1] == [
        "'=1+1",
        "15/01/2026",
        "Fromagerie Dupont",
        "73282932000074",
        "Ville de Démoville",
        "21750001600019",
        "1170,00",
        "1234,35",
        "EUR",
        "Mise à disposition",
        "01/01/2026 01:00",
    ]
    [call] = services.invoices.calls_to("ListInvoices")
    assert call.request.status == pb.INVOICE_STATUS_SUSPENDUE
    assert (call.request.order_by, call.request.page_number) == (pb.LIST_ORDER_NUMBER, 1)


async def test_xlsx_export_pages_and_caps_at_ten_thousand(signed_in, services):
    services.structures.answer("GetStructure", structure)
    batch = many(1000)

    def pages(request: pb.ListInvoicesRequest) -> pb.ListInvoicesResponse:
        return pb.ListInvoicesResponse(invoices=batch, total_size=12_345)

    services.invoices.answer("ListInvoices", pages)

    response = await signed_in.get("/factures/export.xlsx")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True)["Factures"]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 10_000
    assert rows[1][0] == "F-00000" and rows[1][2] == "Fromagerie Dupont"
    assert float(rows[1][7]) == 1234.35 and rows[1][8] == "EUR"
    assert [c.request.page_number for c in services.invoices.calls_to("ListInvoices")] == list(
        range(1, 11)
    )
