"""Every portal page on a phone, in a real browser (Debian Chromium driven by Playwright).

A supplier (principal manager of their company), a buyer (principal manager of a structure
that receives invoices, with its "Factures reçues" space open), a colleague waiting for their
join request and an anonymous visitor are set up through the REST API, with an invoice from
the supplier to the buyer (long labels, a long e-mail address). Then each page in
:data:`SCREENS` is opened at 390 × 844 (and the ones marked ``narrow`` at 360 × 740 too), in
the state its user sees it, and must be no wider than the viewport
(``document.documentElement.scrollWidth <= window.innerWidth``) and have 0 axe-core
violations. A few form states (errors beside the fields) are checked the same way.

Also here: the skip link ("Aller au contenu", first focusable element, moves the focus to the
main content), the favicon (no request of a first visit answers 404), the CGU page linked from
the registration checkbox and the footer, and the invoice detail printed
(``emulate_media(media="print")``: navigation, forms and buttons hidden, lines shown).

Other pages: add a :class:`Screen` to :data:`SCREENS` (its path may name ``{supplier}``,
``{buyer}``, ``{invoice}`` — the seeded ids).

Screenshots for the README: with ``CHORUS_SCREENSHOTS_DIR`` set (``make screenshots`` sets it
to docs/screenshots), :func:`test_screenshots_of_the_main_screens` saves PNGs of the main
screens at 1280 × 800 and a phone view at 390 × 844; it carries the ``screenshots`` marker,
which ``make test`` leaves out (it takes pictures, it checks nothing the sweep does not).

axe-core runs through ``axe_support.check_axe`` (the npm package pinned in
tests/e2e/package.json, installed by ``make install``); Debian's Chromium (Playwright never
downloads a browser here).
"""

from __future__ import annotations

import asyncio
import csv
import os
import random
import re
import subprocess
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import axe_support
import pytest
from e2e_support import STRONG_PASSWORD, activated_user, client_ip, random_siret
from playwright.async_api import Browser, Page, async_playwright, expect

pytestmark = pytest.mark.asyncio(loop_scope="session")

HERE = Path(__file__).resolve().parent
DIRECTORY_CSV = (
    HERE.parents[1] / "services/structures/src/chorus_structures/seed/directory_default.csv"
)
ROUTING_FLAGS = (
    "service_code_required",
    "engagement_required",
    "service_or_engagement_required",
)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
LONG_LABEL = (
    "Maintenance préventive et corrective des installations de chauffage, ventilation et "
    "climatisation du bâtiment administratif principal (contrat n° CVC-2026-00042-LOT-3)"
)


@dataclass(frozen=True)
class Screen:
    """A page as one user sees it. ``who``: anonymous, supplier, buyer or colleague;
    ``path`` may name the seeded ids ``{supplier}``, ``{buyer}`` (structures), ``{invoice}``,
    ``{draft}`` (a draft of the supplier's) and ``{sollicitation}`` (supplier to buyer);
    ``narrow``: checked at 360 px too; ``status``: the expected HTTP status."""

    name: str
    who: str
    path: str
    status: int = 200
    narrow: bool = False


SCREENS: list[Screen] = [
    # Anonymous pages.
    Screen("accueil public", "anonymous", "/", narrow=True),
    Screen("inscription", "anonymous", "/inscription", narrow=True),
    Screen("connexion", "anonymous", "/connexion", narrow=True),
    Screen("mot de passe oublié", "anonymous", "/mot-de-passe-oublie"),
    Screen("activation", "anonymous", "/activation?token=jeton-inconnu"),
    Screen(
        "lien de réinitialisation périmé",
        "anonymous",
        "/mot-de-passe/reinitialisation?token=jeton-inconnu",
        status=400,
    ),
    Screen("CGU", "anonymous", "/cgu", narrow=True),
    Screen("page introuvable", "anonymous", "/page-qui-n-existe-pas", status=404),
    # The supplier, principal manager of their structure.
    Screen("accueil connecté", "supplier", "/", narrow=True),
    Screen("mon compte", "supplier", "/mon-compte", narrow=True),
    Screen("changer d'adresse", "supplier", "/mon-compte/adresse"),
    Screen("applications API", "supplier", "/mon-compte/applications-api"),
    Screen("mes structures", "supplier", "/structures", narrow=True),
    Screen("structure (gestionnaire)", "supplier", "/structures/{supplier}", narrow=True),
    Screen("historique de la structure", "supplier", "/structures/{supplier}/historique"),
    Screen("comptes techniques", "supplier", "/structures/{supplier}/comptes-techniques"),
    Screen("factures émises", "supplier", "/factures", narrow=True),
    Screen("factures émises filtrées", "supplier", "/factures?side=issued&status=DEPOSEE"),
    Screen("facture (fournisseur)", "supplier", "/factures/{invoice}", narrow=True),
    Screen("saisie d'une facture", "supplier", "/factures/nouvelle?onglet=saisie", narrow=True),
    Screen("dépôt d'un fichier", "supplier", "/factures/nouvelle?onglet=fichier"),
    Screen("dépôt d'un PDF", "supplier", "/factures/nouvelle?onglet=pdf", narrow=True),
    Screen("facture inconnue", "supplier", f"/factures/{uuid.uuid4()}", status=404),
    Screen("fil d'événements", "supplier", "/evenements", narrow=True),
    Screen("brouillon à modifier", "supplier", "/factures/nouvelle?brouillon={draft}", narrow=True),
    Screen("sollicitations émises", "supplier", "/sollicitations", narrow=True),
    Screen(
        "nouvelle sollicitation",
        "supplier",
        "/sollicitations/nouvelle?structure={buyer}",
        narrow=True,
    ),
    Screen("déconnexion", "supplier", "/deconnexion"),
    # The buyer, who receives and processes the invoice.
    Screen("accueil (acheteur)", "buyer", "/", narrow=True),
    Screen("factures reçues", "buyer", "/factures?side=received", narrow=True),
    Screen("factures reçues triées", "buyer", "/factures?side=received&tri=montant&ordre=desc"),
    Screen("sollicitations reçues", "buyer", "/sollicitations?boite=recues"),
    Screen("sollicitation (fil)", "buyer", "/sollicitations/{sollicitation}", narrow=True),
    Screen("facture (destinataire)", "buyer", "/factures/{invoice}", narrow=True),
    Screen("structure destinataire", "buyer", "/structures/{buyer}"),
    # A colleague whose join request waits.
    Screen("structures (demande en cours)", "colleague", "/structures", narrow=True),
]


@dataclass
class World:
    """The seeded state: who signs in with which address, and the ids pages name."""

    emails: dict[str, str]
    ids: dict[str, str]
    invoice_number: str


# --- Fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script (tests/e2e/package-lock.json, installed by make install)."""
    return axe_support.axe_source()


@pytest.fixture
async def browser():
    """Debian's Chromium (never a downloaded one)."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/system_deps.sh (apt-get install chromium)")
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield found
        await found.close()


async def structure(api, auth, name: str) -> str:
    response = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": name,
            "address": {
                "line1": "14 avenue du Maréchal-de-Lattre-de-Tassigny",
                "postal_code": "69007",
                "city": "Lyon",
                "country": "FR",
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def open_received_space(api, auth, structure_id: str) -> None:
    spaces = await api.get(f"/structures/{structure_id}/spaces", headers=auth)
    assert spaces.status_code == 200, spaces.text
    received = next(s for s in spaces.json()["items"] if s["space"] == "FACTURES_RECUES")
    if not received["open"]:
        opened = await api.put(f"/structures/{structure_id}/spaces/FACTURES_RECUES", headers=auth)
        assert opened.status_code in (200, 204), opened.text


def directory_sirets() -> list[str]:
    """The SIRETs of the small shipped public-recipient directory, in random order: those
    that accept an invoice without a service code or an engagement number."""
    with DIRECTORY_CSV.open(encoding="utf-8", newline="") as rows:
        sirets = [
            row["siret"]
            for row in csv.DictReader(rows)
            if row["active"] == "true" and not any(row[flag] == "true" for flag in ROUTING_FLAGS)
        ]
    random.shuffle(sirets)
    return sirets


def import_directory(stack) -> None:
    """Imports the shipped directory into the stack's structures database (idempotent)."""
    service = next(s for s in stack.services if s.name == "structures")
    subprocess.run(
        [str(stack.bin_dir / "chorus-structures"), "import-directory", str(DIRECTORY_CSV)],
        env=stack.child_env(service),
        check=True,
        capture_output=True,
    )


async def claimed_public_structure(api, auth, stack) -> str:
    """A public structure whose principal manager the buyer becomes (unmanaged structures are
    claimed at once in the test stack): one of the shipped directory's, which no other test
    uses, so the seeded demo ones stay to the tests that rely on them. Against an external
    stack, the directory's if it was imported, else a demo structure still unclaimed."""
    if stack is not None:
        import_directory(stack)
    candidates = directory_sirets()[:20] + ([] if stack is not None else ["11000201100010"])
    for siret in candidates:
        found = await api.get("/structures", params={"identifier": siret}, headers=auth)
        assert found.status_code == 200, found.text
        if not found.json()["items"]:
            continue
        structure_id = found.json()["items"][0]["id"]
        asked = await api.post(
            f"/structures/{structure_id}/attachment-requests", json={}, headers=auth
        )
        assert asked.status_code == 201, asked.text
        if asked.json()["status"] == "VALIDEE":
            return structure_id
    pytest.fail("no unclaimed public structure left to act as the buyer")


async def deposited_invoice(api, auth, supplier_id: str, buyer_siret: str) -> tuple[str, str]:
    number = f"RESP-{uuid.uuid4().hex[:12]}-42"  # the longest number allowed: 20
    body = {
        "supplier_structure_id": supplier_id,
        "recipient": {"identifier_type": "SIRET", "identifier": buyer_siret},
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": number,
        "issue_date": date.today().isoformat(),
        "currency": "EUR",
        "lines": [
            {
                "description": LONG_LABEL,
                "quantity": "12",
                "unit": "HUR",
                "unit_price": "86.50",
                "vat_rate": "20",
            },
            {
                "description": "Pièces détachées",
                "quantity": "3",
                "unit": "C62",
                "unit_price": "1249.99",
                "vat_rate": "20",
            },
        ],
    }
    response = await api.post("/invoices", headers=auth, json=body)
    assert response.status_code == 201, response.text
    invoice_id = response.json()["id"]
    async with asyncio.timeout(60):
        while True:
            found = await api.get(f"/invoices/{invoice_id}", headers=auth)
            assert found.status_code == 200, found.text
            if found.json()["status"] == "MISE_A_DISPOSITION":
                return invoice_id, number
            await asyncio.sleep(0.3)


_WORLD: dict[str, World] = {}


async def seeded_world(api, mailbox, stack) -> World:
    """Created once per stack and shared by this module's tests."""
    if "world" in _WORLD:
        return _WORLD["world"]
    _, supplier_email, supplier_auth = await activated_user(
        api, mailbox, "Marie-Christine", "de La Tour-d'Auvergne-Lauraguais"
    )
    _, buyer_email, buyer_auth = await activated_user(api, mailbox, "Bertrand", "Achat")
    _, colleague_email, colleague_auth = await activated_user(api, mailbox, "Coline", "Attente")
    supplier_id = await structure(
        api, supplier_auth, "Société Coopérative d'Intérêt Collectif des Ateliers Thermiques"
    )
    buyer_id = await claimed_public_structure(api, buyer_auth, stack)
    await open_received_space(api, buyer_auth, buyer_id)
    buyer = await api.get(f"/structures/{buyer_id}", headers=buyer_auth)
    assert buyer.status_code == 200, buyer.text
    invoice_id, number = await deposited_invoice(
        api, supplier_auth, supplier_id, buyer.json()["identifier"]
    )
    asked = await api.post(
        f"/structures/{supplier_id}/attachment-requests",
        headers=colleague_auth,
        json={"comment": "Je tiens la comptabilité fournisseurs depuis le 1er septembre."},
    )
    assert asked.status_code == 201, asked.text
    app = await api.post("/api-clients", headers=supplier_auth, json={"name": "ERP Odoo"})
    assert app.status_code == 201, app.text
    draft = await api.post(
        "/invoices",
        params={"draft": "true"},
        headers=supplier_auth,
        json={
            "supplier_structure_id": supplier_id,
            "recipient": {"identifier_type": "SIRET", "identifier": buyer.json()["identifier"]},
            "framework": "A1_FACTURE_FOURNISSEUR",
            "type": "FACTURE",
            "number": f"BR-{uuid.uuid4().hex[:8]}",
            "issue_date": date.today().isoformat(),
            "currency": "EUR",
            "lines": [
                {
                    "description": LONG_LABEL,
                    "quantity": "1",
                    "unit": "C62",
                    "unit_price": "10",
                    "vat_rate": "20",
                }
            ],
        },
    )
    assert draft.status_code == 201, draft.text
    written = await api.post(
        "/sollicitations",
        headers=supplier_auth,
        data={
            "subject": "Date de paiement de la facture " + number,
            "body": "Bonjour, pouvez-vous nous indiquer la date de mise en paiement prévue ?",
            "addressee_structure_id": buyer_id,
            "sender_structure_id": supplier_id,
            "invoice_id": invoice_id,
        },
    )
    assert written.status_code == 201, written.text
    world = World(
        emails={"supplier": supplier_email, "buyer": buyer_email, "colleague": colleague_email},
        ids={
            "supplier": supplier_id,
            "buyer": buyer_id,
            "invoice": invoice_id,
            "draft": draft.json()["id"],
            "sollicitation": written.json()["id"],
        },
        invoice_number=number,
    )
    _WORLD["world"] = world
    return world


# --- Helpers --------------------------------------------------------------------------------


async def new_page(browser: Browser, gateway_url: str, viewport: dict, errors: list[str]) -> Page:
    # Each user is its own client for the gateway's per-IP rate limit.
    context = await browser.new_context(
        base_url=gateway_url,
        locale="fr-FR",
        viewport=viewport,
        extra_http_headers={"X-Forwarded-For": client_ip()},
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/connexion")
    await page.get_by_label("Adresse e-mail").fill(email)
    await page.get_by_label("Mot de passe").fill(STRONG_PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    menu = page.get_by_role("navigation", name="Navigation principale")
    await expect(menu.get_by_role("link", name="Mon compte")).to_be_visible()


WIDEST = """() => {
  // The elements that reach past the viewport, outside any box that scrolls them.
  const limit = window.innerWidth;
  const scrolled = node => {
    for (let up = node.parentElement; up && up !== document.body; up = up.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(up).overflowX)) return true;
    }
    return false;
  };
  const wide = [];
  for (const node of document.querySelectorAll('body *')) {
    const box = node.getBoundingClientRect();
    if (box.right > limit + 1 && box.width > 0 && !scrolled(node)) {
      const name = node.tagName.toLowerCase() + (node.id ? '#' + node.id : '') +
        (node.className && typeof node.className === 'string'
          ? '.' + node.className.trim().split(/\\s+/).join('.') : '');
      wide.push(name + ' (' + Math.round(box.right) + ' px)');
    }
  }
  return wide.slice(0, 12);
}"""


async def assert_fits(page: Page, where: str) -> None:
    """The document is no wider than the viewport (nothing scrolls sideways)."""
    width, viewport = await page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    if width > viewport:
        wide = await page.evaluate(WIDEST)
        pytest.fail(f"{where}: document {width} px wide in a {viewport} px viewport: {wide}")


OUTSIDE_HEADER = """() => {
  // The header's links that spill out of its band (below its border or past its sides).
  const band = document.querySelector('.site-header').getBoundingClientRect();
  return [...document.querySelectorAll('.site-header a')]
    .filter(link => {
      const box = link.getBoundingClientRect();
      return box.bottom > band.bottom + 0.5 || box.top < band.top - 0.5
        || box.right > Math.min(band.right, window.innerWidth) + 0.5 || box.left < band.left - 0.5;
    })
    .map(link => link.textContent.trim());
}"""


async def assert_menu_in_its_band(page: Page, where: str) -> None:
    spilled = await page.evaluate(OUTSIDE_HEADER)
    assert spilled == [], f"{where}: header links outside the header: {spilled}"


async def check(page: Page, axe_source: str, where: str) -> None:
    await assert_fits(page, where)
    await assert_menu_in_its_band(page, where)
    await axe_support.check_axe(page, where)


async def visit(page: Page, screen: Screen, world: World) -> None:
    response = await page.goto(screen.path.format(**world.ids))
    assert response is not None
    assert response.status == screen.status, f"{screen.name}: HTTP {response.status}"


# --- Tests ----------------------------------------------------------------------------------


async def test_every_page_fits_a_phone_and_passes_axe(
    api, mailbox, stack, gateway_url, browser, axe_source, tmp_path
):
    world = await seeded_world(api, mailbox, stack)
    errors: list[str] = []
    for viewport in (PHONE, SMALL_PHONE):
        label = f"{viewport['width']}×{viewport['height']}"
        pages: dict[str, Page] = {}
        try:
            for screen in SCREENS:
                if viewport is SMALL_PHONE and not screen.narrow:
                    continue
                page = pages.get(screen.who)
                if page is None:
                    page = await new_page(browser, gateway_url, viewport, errors)
                    pages[screen.who] = page
                    if screen.who != "anonymous":
                        await sign_in(page, world.emails[screen.who])
                await visit(page, screen, world)
                try:
                    await check(page, axe_source, f"{screen.name} ({screen.path}, {label})")
                except AssertionError:
                    await page.screenshot(path=tmp_path / f"{screen.who}-{label}.png")
                    raise
        finally:
            for page in pages.values():
                await page.context.close()
    assert errors == []


async def test_form_errors_fit_a_phone_and_pass_axe(
    api, mailbox, stack, gateway_url, browser, axe_source
):
    """Pages in their error state: the French errors beside the fields, nothing wider."""
    world = await seeded_world(api, mailbox, stack)
    errors: list[str] = []
    page = await new_page(browser, gateway_url, SMALL_PHONE, errors)
    try:
        # Registration with an address that is not one: the error beside the field.
        await page.goto("/inscription")
        email = page.get_by_label("Adresse e-mail")
        await email.fill("pas-une-adresse-" + "x" * 60)
        await page.get_by_label("Prénom").fill("Zoé")
        await page.get_by_label("Nom", exact=True).fill("Martin")
        await page.get_by_label(re.compile("J'accepte")).check()
        await email.evaluate("node => node.removeAttribute('type')")  # let the server judge
        await page.get_by_role("button", name="Créer mon compte").click()
        await expect(page.locator(".field-error").first).to_be_visible()
        await expect(email).to_have_value("pas-une-adresse-" + "x" * 60)
        await check(page, axe_source, "inscription refusée (360 px)")

        # A structure with a wrong SIRET key: refused beside the field, nothing created.
        await sign_in(page, world.emails["supplier"])
        await page.goto("/structures")
        identifier = page.get_by_label("Identifiant", exact=True)
        await identifier.fill("12345678901234")
        await page.get_by_label("Raison sociale").fill("Structure refusée")
        await page.get_by_label("Adresse (numéro et voie)").fill("1 rue de la Paix")
        await page.get_by_label("Code postal").fill("75002")
        await page.get_by_label("Ville").fill("Paris")
        await page.get_by_role("button", name="Créer la structure").click()
        await expect(identifier).to_have_attribute("aria-invalid", "true")
        await check(page, axe_source, "structure refusée (360 px)")
        await expect(page.get_by_role("link", name="Structure refusée")).to_have_count(0)

        # An invoice to an unknown recipient: refused with the error, what was typed kept.
        await page.goto("/factures/nouvelle?onglet=saisie")
        await page.get_by_label("SIRET du destinataire").fill("12345678901234")
        await page.get_by_label("Numéro de facture").fill("REFUSEE-360")
        await page.get_by_label("Libellé, ligne 1").fill(LONG_LABEL)
        await page.get_by_label("Quantité, ligne 1").fill("1")
        await page.get_by_label("Prix unitaire HT, ligne 1").fill("10")
        await page.get_by_role("button", name="Déposer", exact=True).click()
        await expect(page.locator(".notice-error, .field-error").first).to_be_visible()
        await expect(page.get_by_label("Libellé, ligne 1")).to_have_value(LONG_LABEL)
        await check(page, axe_source, "saisie refusée (360 px)")
    finally:
        await page.context.close()
    assert errors == []


async def test_skip_link_is_the_first_stop_and_moves_the_focus_to_the_content(gateway_url, browser):
    errors: list[str] = []
    page = await new_page(browser, gateway_url, PHONE, errors)
    try:
        await page.goto("/connexion")
        skip = page.get_by_role("link", name="Aller au contenu")
        box = await skip.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 0, "visible before any focus"
        await page.keyboard.press("Tab")
        await expect(skip).to_be_focused()
        box = await skip.bounding_box()
        assert box is not None and box["y"] >= 0, "the focused skip link is off screen"
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(re.compile("#contenu$"))
        await expect(page.locator("main#contenu")).to_be_focused()
        # The next Tab goes into the content, past the header's menu.
        await page.keyboard.press("Tab")
        inside = await page.evaluate("() => !!document.activeElement.closest('main')")
        assert inside, "the focus left the main content"
    finally:
        await page.context.close()
    assert errors == []


async def test_first_visit_meets_no_404_and_the_favicon_is_cached(gateway_url, browser):
    errors: list[str] = []
    page = await new_page(browser, gateway_url, PHONE, errors)
    answers: list[tuple[int, str]] = []
    page.on("response", lambda response: answers.append((response.status, response.url)))
    try:
        await page.goto("/")
        await page.wait_for_load_state("networkidle")
        assert [url for status, url in answers if status == 404] == []
        icon = await page.evaluate(
            "() => document.querySelector('link[rel=icon]').getAttribute('href')"
        )
        assert icon == "/static/favicon.svg"
        for path in ("/favicon.ico", icon):
            response = await page.request.get(path)
            assert response.status == 200, path
            assert response.headers["content-type"].startswith("image/svg+xml"), path
        cached = await page.request.get("/favicon.ico")
        assert cached.headers["cache-control"] == "public, max-age=604800"
    finally:
        await page.context.close()
    assert errors == []


async def test_conditions_of_use_are_linked_from_registration_and_the_footer(
    gateway_url, browser, axe_source
):
    errors: list[str] = []
    page = await new_page(browser, gateway_url, PHONE, errors)
    try:
        await page.goto("/inscription")
        label = page.locator("label").filter(has=page.locator("input[name=terms_accepted]"))
        link = label.get_by_role("link", name=re.compile("conditions générales d'utilisation"))
        async with page.context.expect_page() as opening:
            await link.click()
        terms = await opening.value
        await expect(
            terms.get_by_role("heading", name="Conditions générales d'utilisation", level=1)
        ).to_be_visible()
        for title in ("Données personnelles", "Droit applicable"):
            await expect(terms.get_by_role("heading", name=re.compile(title))).to_be_visible()
        await check(terms, axe_source, "CGU ouvertes depuis l'inscription")
        await terms.close()
        # The registration form was not left: what was typed is still there.
        await expect(page.get_by_role("heading", name="Créer un compte")).to_be_visible()

        footer = page.locator("footer")
        await footer.get_by_role("link", name="Conditions générales d'utilisation").click()
        await expect(page).to_have_url(re.compile("/cgu$"))
    finally:
        await page.context.close()
    assert errors == []


async def test_invoice_detail_prints_without_navigation_or_forms(
    api, mailbox, stack, gateway_url, browser, tmp_path
):
    world = await seeded_world(api, mailbox, stack)
    errors: list[str] = []
    page = await new_page(browser, gateway_url, DESKTOP, errors)
    try:
        await sign_in(page, world.emails["buyer"])
        await page.goto(f"/factures/{world.ids['invoice']}")
        nav = page.get_by_role("navigation", name="Navigation principale")
        forms = page.locator("main form")
        assert await forms.count() > 0, "the buyer sees no processing form"
        await expect(nav).to_be_visible()

        await page.emulate_media(media="print")
        await expect(nav).to_be_hidden()
        await expect(page.locator("footer")).to_be_hidden()
        for index in range(await forms.count()):
            await expect(forms.nth(index)).to_be_hidden()
        await expect(page.get_by_role("heading", level=1)).to_contain_text(world.invoice_number)
        await expect(page.get_by_text(LONG_LABEL)).to_be_visible()
        display = await page.evaluate(
            "() => getComputedStyle(document.querySelector('main table')).display"
        )
        assert display == "table"
        await page.screenshot(path=tmp_path / "facture-imprimee.png", full_page=True)
        pdf = await page.pdf(format="A4", path=tmp_path / "facture.pdf")
        assert pdf.startswith(b"%PDF-")

        await page.emulate_media(media="screen")
        await expect(nav).to_be_visible()
    finally:
        await page.context.close()
    assert errors == []


@pytest.mark.screenshots
async def test_screenshots_of_the_main_screens(api, mailbox, stack, gateway_url, browser):
    """PNGs for the README's portal walk-through (``make screenshots``, which sets
    CHORUS_SCREENSHOTS_DIR; ``make test`` leaves this marker out)."""
    target = os.environ.get("CHORUS_SCREENSHOTS_DIR")
    assert target, "CHORUS_SCREENSHOTS_DIR names the folder of the screenshots"
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    world = await seeded_world(api, mailbox, stack)
    errors: list[str] = []
    shots = [
        ("accueil.png", "supplier", "/", DESKTOP),
        ("accueil-acheteur.png", "buyer", "/", DESKTOP),
        ("evenements.png", "buyer", "/evenements", DESKTOP),
        ("sollicitation.png", "buyer", "/sollicitations/{sollicitation}", DESKTOP),
        ("structures.png", "supplier", "/structures", DESKTOP),
        ("structure.png", "supplier", "/structures/{supplier}", DESKTOP),
        ("factures.png", "supplier", "/factures", DESKTOP),
        ("facture.png", "buyer", "/factures/{invoice}", DESKTOP),
        ("nouvelle-facture.png", "supplier", "/factures/nouvelle?onglet=saisie", DESKTOP),
        ("telephone-facture.png", "buyer", "/factures/{invoice}", PHONE),
        ("telephone-factures.png", "supplier", "/factures", PHONE),
    ]
    pages: dict[tuple[str, int], Page] = {}
    try:
        for name, who, path, viewport in shots:
            key = (who, viewport["width"])
            if key not in pages:
                pages[key] = await new_page(browser, gateway_url, viewport, errors)
                if who != "anonymous":
                    await sign_in(pages[key], world.emails[who])
            page = pages[key]
            await page.goto(path.format(**world.ids))
            await page.screenshot(path=folder / name)
            assert (folder / name).stat().st_size > 0
    finally:
        for page in pages.values():
            await page.context.close()
    assert errors == []
