"""Impostor structures, the structure page's tabs, notice wording and a registration that
does not reveal existing accounts, in a real browser (Debian Chromium driven by Playwright),
with axe-core run on every page state reached (0 violations).

A company's founder has created its structure (SIRET type, so managed). Before the rule
refusing SIRET-shaped identifiers under "Autre", somebody registered a look-alike: same name
and digits, type "Autre", nobody managing it (a row written straight into the database, as
it would have been left). A colleague searching by name sees the look-alike marked "Autre"
and "Gestionnaire : aucun", finds the company by its SIRET marked "SIRET" and "Gestionnaire :
oui" and asks to join it (the notice says "envoyée": it waits for a manager); trying to
create a second look-alike under "Autre" is refused beside the identifier with the advice to
choose the SIRET type, and nothing is created. The founder opens the structure: the tabs
lead at once to "Demandes en attente (1)", and accepts. The colleague asks for "Factures
émises" (validated at once: "Abonnement accepté") and for another space (waits: "envoyée"),
and joins a directory structure nobody manages (accepted at once: "acceptée", principal).

Registration: the address of an existing account and a new address get the same page and
the same API answer; the owner of the existing account receives the e-mail saying someone
tried, the new address its activation link.

axe-core runs through ``axe_support.check_axe`` (installed by ``make install``).
"""

from __future__ import annotations

import re
import uuid

import asyncpg
import pytest
from axe_support import check_axe
from chorus_platform.settings import with_database
from e2e_support import activated_user, client_ip, random_siret, unique_email
from playwright.async_api import Browser, Page, async_playwright, expect
from test_portal_browser import CHROMIUM, CHROMIUM_ARGS, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def browser():
    """Debian's Chromium with the invoice pages' test's options (never a downloaded one)."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/system_deps.sh (apt-get install chromium)")
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield found
        await found.close()


async def new_page(browser: Browser, gateway_url: str, script_errors: list[str]) -> Page:
    """A page of its own client (per-IP rate limit), under the portal's CSP (axe_support
    injects axe-core without a script element)."""
    context = await browser.new_context(
        base_url=gateway_url,
        locale="fr-FR",
        extra_http_headers={"X-Forwarded-For": client_ip()},
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    return page


async def assert_accessible(page: Page, state: str) -> None:
    """axe-core on the page as it is now: no violation (WCAG 2.x A/AA and best practices)."""
    await check_axe(page, state)


async def insert_structure(
    stack, *, identifier_type: str, identifier: str, name: str, kind: str
) -> str:
    """A structure written straight into the database, as rows registered before the rule
    (or imported from the directory) are: nobody manages it."""
    url = with_database(stack.env["CHORUS_DATABASE_URL"], "chorus_structures")
    conn = await asyncpg.connect(url)
    try:
        structure_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO structures (id, identifier_type, identifier, raison_sociale, kind,"
            " address_line1, postal_code, city, country)"
            " VALUES ($1, $2, $3, $4, $5, '5 place du Marché', '38000', 'Grenoble', 'FR')",
            structure_id,
            identifier_type,
            identifier,
            name,
            kind,
        )
        return str(structure_id)
    finally:
        await conn.close()


def result_row(page: Page, identifier_type: str):
    return (
        page.locator("#search-results tbody tr")
        .filter(has=page.locator("td.result-type", has_text=re.compile(f"^{identifier_type}$")))
        .first
    )


async def search(page: Page, query: str) -> None:
    await page.goto("/structures")
    await page.get_by_label("SIRET ou nom de la structure").fill(query)
    await page.get_by_role("button", name="Rechercher").click()


async def test_search_unmasks_impostors_creation_refuses_them_tabs_and_notices(
    api, mailbox, gateway_url, browser, stack
):
    if stack is None:
        pytest.skip("needs the database of the stack this suite starts")
    _, founder_email, founder_auth = await activated_user(api, mailbox, "Fabienne", "Garnier")
    _, colleague_email, _ = await activated_user(api, mailbox, "Cyril", "Blanc")
    siret = random_siret()
    name = f"Menuiserie Garnier {uuid.uuid4().hex[:6]}"
    created = await api.post(
        "/structures",
        headers=founder_auth,
        json={
            "identifier_type": "SIRET",
            "identifier": siret,
            "raison_sociale": name,
            "address": {
                "line1": "5 place du Marché",
                "postal_code": "38000",
                "city": "Grenoble",
                "country": "FR",
            },
        },
    )
    assert created.status_code == 201, created.text
    genuine_id = created.json()["id"]
    # The look-alike left from before the rule (public, so a name search shows it).
    await insert_structure(
        stack, identifier_type="AUTRE", identifier=siret, name=name, kind="PUBLIQUE"
    )
    unmanaged_name = f"Syndicat des eaux {uuid.uuid4().hex[:6]}"
    unmanaged_id = await insert_structure(
        stack,
        identifier_type="SIRET",
        identifier=random_siret(),
        name=unmanaged_name,
        kind="PUBLIQUE",
    )

    script_errors: list[str] = []
    colleague = await new_page(browser, gateway_url, script_errors)
    founder = await new_page(browser, gateway_url, script_errors)
    try:
        await sign_in(colleague, colleague_email)

        # By name: the look-alike, marked with its type and without manager.
        await search(colleague, name)
        impostor = result_row(colleague, "Autre")
        await expect(impostor).to_contain_text(name)
        await expect(impostor.locator("td.result-manager")).to_have_text("aucun")
        await expect(colleague.locator("#search-results")).to_contain_text("Type d'identifiant")
        await assert_accessible(colleague, "name search showing the look-alike")

        # By SIRET: the company itself, managed; the request waits for a manager.
        await search(colleague, " ".join([siret[:3], siret[3:6], siret[6:9], siret[9:]]))
        genuine = result_row(colleague, "SIRET")
        await expect(genuine).to_contain_text(name)
        await expect(genuine.locator("td.result-manager")).to_have_text("oui")
        await expect(colleague.locator("#search-results tbody tr")).to_have_count(1)
        await assert_accessible(colleague, "SIRET search showing the company")
        await genuine.get_by_label("Message aux gestionnaires").fill("Je suis le nouveau métreur.")
        await genuine.get_by_role("button", name="Demander le rattachement").click()
        await expect(colleague.get_by_role("status")).to_have_text(
            "Demande de rattachement envoyée : un gestionnaire de la structure va l'examiner."
        )
        await assert_accessible(colleague, "request sent notice")

        # A second look-alike under "Autre" is refused beside the identifier; nothing is made.
        create = colleague.locator("#create-form")
        await create.get_by_label("Type d'identifiant").select_option("AUTRE")
        identifier = create.get_by_label("Identifiant", exact=True)
        await identifier.fill(f"{siret[:3]}.{siret[3:6]}.{siret[6:9]}.{siret[9:]}")
        await create.get_by_label("Raison sociale").fill(name)
        await create.get_by_label("Adresse (numéro et voie)").fill("5 place du Marché")
        await create.get_by_label("Code postal").fill("38000")
        await create.get_by_label("Ville").fill("Grenoble")
        await create.get_by_role("button", name="Créer la structure").click()
        error = colleague.locator("#identifier-error")
        await expect(error).to_contain_text("a la forme d'un SIRET ou d'un SIREN")
        await expect(error).to_contain_text("Choisissez le type d'identifiant SIRET")
        await expect(identifier).to_have_attribute("aria-invalid", "true")
        await expect(
            colleague.locator("#create-form").get_by_label("Raison sociale")
        ).to_have_value(name)
        await expect(
            colleague.get_by_text("Vous n'êtes membre d'aucune structure.")
        ).to_be_visible()
        await assert_accessible(colleague, "look-alike creation refused")

        # The founder's structure page: tabs, the pending request one click from the top.
        await sign_in(founder, founder_email)
        await founder.goto(f"/structures/{genuine_id}")
        tabs = founder.get_by_role("navigation", name="Sections de la structure")
        await expect(tabs.get_by_role("link")).to_have_text(
            [
                "Informations",
                "Demandes en attente (1)",
                "Membres (1)",
                "Services (0)",
                "Espaces",
                "Modifier",
                "Historique",
                "Quitter",
            ]
        )
        await assert_accessible(founder, "structure page with a pending request")
        await tabs.get_by_role("link", name="Demandes en attente (1)").click()
        await expect(founder).to_have_url(re.compile("#demandes$"))
        pending = founder.locator("#pending-requests tbody tr").filter(has_text="Cyril")
        await expect(pending).to_be_in_viewport()
        await expect(pending).to_contain_text("Je suis le nouveau métreur.")
        await pending.get_by_label("Rôle accordé").select_option("UTILISATEUR")
        await pending.get_by_role("button", name=re.compile("^Accepter")).click()
        await expect(founder.get_by_role("status")).to_contain_text(
            "Demande de rattachement acceptée"
        )
        await expect(tabs.get_by_role("link", name="Demandes en attente (0)")).to_be_visible()
        await founder.get_by_role("link", name="Demandes en attente (0)").click()
        await expect(founder.locator("#demandes")).to_contain_text(
            "Aucune demande n'attend votre décision."
        )
        await assert_accessible(founder, "structure page without pending requests")

        # Subscriptions: validated at once says so, waiting says "envoyée".
        await colleague.goto(f"/structures/{genuine_id}#espaces")
        spaces = colleague.locator("#spaces")
        emitted = spaces.get_by_role("row").filter(has_text="Factures émises")
        await emitted.get_by_role("button", name=re.compile("^Demander l'accès")).click()
        await expect(colleague.get_by_role("status")).to_have_text(
            "Abonnement accepté : vous avez accès à l'espace."
        )
        await assert_accessible(colleague, "subscription accepted notice")
        asked = spaces.get_by_role("row").filter(has_text="Sollicitations émises")
        await asked.get_by_role("button", name=re.compile("^Demander l'accès")).click()
        await expect(colleague.get_by_role("status")).to_have_text(
            "Demande d'abonnement envoyée : un gestionnaire de la structure va l'examiner."
        )

        # A directory structure nobody manages: the request is accepted at once, and says so.
        await search(colleague, unmanaged_name)
        row = colleague.locator("#search-results tbody tr").filter(has_text=unmanaged_name)
        await expect(row.locator("td.result-manager")).to_have_text("aucun")
        await row.get_by_role("button", name="Demander le rattachement").click()
        await expect(colleague).to_have_url(re.compile(f"/structures/{unmanaged_id}"))
        await expect(colleague.get_by_role("status")).to_contain_text(
            "Demande de rattachement acceptée : vous êtes rattaché à la structure"
        )
        await expect(colleague.get_by_role("status")).not_to_contain_text("envoyée")
        await expect(colleague.locator("#my-role")).to_have_text("Gestionnaire principal")
        await assert_accessible(colleague, "request accepted at once notice")
    finally:
        await colleague.context.close()
        await founder.context.close()
    assert script_errors == []
    # Still only the two look-alikes registered before: the refused one was not created.
    found = await api.get("/structures", params={"name": name}, headers=founder_auth)
    assert sorted(s["identifier_type"] for s in found.json()["items"]) == ["AUTRE", "SIRET"]


async def register_in_browser(page: Page, email: str) -> str:
    await page.goto("/inscription")
    await page.get_by_label("Adresse e-mail").fill(email)
    await page.get_by_label("Prénom").fill("Inès")
    await page.get_by_label("Nom", exact=True).fill("Lambert")
    await page.get_by_label("J'accepte les conditions générales").check()
    await page.get_by_role("button", name="Créer mon compte").click()
    await expect(page.get_by_role("status")).to_contain_text("Demande enregistrée.")
    return (await page.locator("main").inner_text()).replace(email, "<adresse>")


async def test_registering_an_existing_address_answers_as_for_a_new_one_and_tells_the_owner(
    api, mailbox, gateway_url, browser
):
    _, owner_email, _ = await activated_user(api, mailbox, "Odile", "Perrin")
    new_email = unique_email("ines")

    script_errors: list[str] = []
    page = await new_page(browser, gateway_url, script_errors)
    try:
        for_existing = await register_in_browser(page, owner_email)
        await assert_accessible(page, "registration answered (existing address)")
        for_new = await register_in_browser(page, new_email)
        await assert_accessible(page, "registration answered (new address)")
    finally:
        await page.context.close()
    assert script_errors == []
    # The same page, word for word, but for the address typed.
    assert for_existing == for_new

    # The owner is told (and gets no activation link), the new address gets its link.
    told = await mailbox.wait_for(owner_email, "Tentative de création d'un compte Chorus")
    assert "quelqu'un a demandé à créer un compte Chorus avec cette adresse" in told["Text"]
    assert "connectez-vous" in told["Text"] and "réinitialisez" in told["Text"]
    await mailbox.wait_for(new_email, "Activez votre compte")
    subjects = [m["Subject"] for m in await mailbox.messages_to(owner_email)]
    assert sum("Activez votre compte" in subject for subject in subjects) == 1, subjects

    # The REST registration answers the same way for both.
    body = {"first_name": "Inès", "last_name": "Lambert", "terms_accepted": True}
    again = await api.post("/accounts", json={**body, "login_email": owner_email})
    other = await api.post("/accounts", json={**body, "login_email": unique_email("ines")})
    assert (again.status_code, again.json()) == (other.status_code, other.json()) == (202, {})
