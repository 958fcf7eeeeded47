"""The structure pages of the portal in a real browser (Debian Chromium driven by Playwright).

A newcomer signs in through the portal, goes to "Mes structures", mistypes the SIRET of the
structure to create (the service's French checksum error appears beside the field, the
typed values are kept), creates it with a valid SIRET and sees themself as "Gestionnaire
principal". A second user searches it by SIRET and asks to be attached with a comment; the
first accepts the request in the browser with the role "Utilisateur"; the second then finds
the structure in their list; the founder renames the structure and finds the change in its
history. Accounts are set up through the REST API; everything under test
happens in the browser against the real services, and axe-core finds no violation in any
state reached.
"""

from __future__ import annotations

import re
import uuid

import pytest
from axe_support import check_axe
from e2e_support import activated_user, random_siret
from playwright.async_api import async_playwright, expect
from test_portal_browser import CHROMIUM, CHROMIUM_ARGS, new_page, sign_in

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


def wrong_checksum(siret: str) -> str:
    """The same SIRET with its last digit changed: the Luhn key no longer matches."""
    return siret[:-1] + str((int(siret[-1]) + 1) % 10)


async def test_newcomer_creates_a_structure_and_accepts_a_colleague_in_the_browser(
    api, mailbox, gateway_url, browser
):
    _, founder_email, _ = await activated_user(api, mailbox, "Fanny", "Morel")
    _, colleague_email, _ = await activated_user(api, mailbox, "Colin", "Roux")
    siret = random_siret()
    name = f"Menuiserie Morel {uuid.uuid4().hex[:6]}"

    script_errors: list[str] = []
    founder = await new_page(browser, gateway_url, script_errors)
    colleague = await new_page(browser, gateway_url, script_errors)
    try:
        # The founder creates the structure; a wrong SIRET key is refused beside the field.
        await sign_in(founder, founder_email)
        await founder.get_by_role("link", name="Mes structures").first.click()
        await expect(founder.get_by_role("heading", name="Mes structures")).to_be_visible()
        await expect(founder.get_by_text("Vous n'êtes membre d'aucune structure.")).to_be_visible()
        await check_axe(founder, "mes structures, aucune")
        identifier = founder.get_by_label("Identifiant", exact=True)
        await identifier.fill(wrong_checksum(siret))
        await founder.get_by_label("Raison sociale").fill(name)
        await founder.get_by_label("Adresse (numéro et voie)").fill("12 rue des Artisans")
        await founder.get_by_label("Code postal").fill("69007")
        await founder.get_by_label("Ville").fill("Lyon")
        await founder.get_by_role("button", name="Créer la structure").click()
        await expect(founder.locator("#identifier-error")).to_contain_text("clé de contrôle")
        await expect(identifier).to_have_attribute("aria-invalid", "true")
        await expect(founder.get_by_label("Raison sociale")).to_have_value(name)
        await check_axe(founder, "création de structure refusée, SIRET invalide")

        await identifier.fill(siret)
        await founder.get_by_role("button", name="Créer la structure").click()
        await expect(founder.get_by_role("heading", name=name)).to_be_visible()
        await expect(founder.get_by_role("status")).to_contain_text("Structure créée")
        await expect(founder.locator("#my-role")).to_have_text("Gestionnaire principal")
        await check_axe(founder, "structure créée")
        await founder.get_by_role("link", name="Mes structures").first.click()
        row = founder.locator("#memberships").get_by_role("row").filter(has_text=name)
        await expect(row).to_contain_text("Gestionnaire principal")
        await expect(row).to_contain_text(siret)
        await check_axe(founder, "mes structures, une")

        # The colleague finds it by SIRET and asks to be attached.
        await sign_in(colleague, colleague_email)
        await colleague.get_by_role("link", name="Mes structures").first.click()
        await colleague.get_by_label("SIRET ou nom de la structure").fill(siret)
        await colleague.get_by_role("button", name="Rechercher").click()
        result = colleague.locator("#search-results").get_by_role("row").filter(has_text=name)
        await expect(result).to_be_visible()
        await check_axe(colleague, "recherche de structure, un résultat")
        await result.get_by_label("Message aux gestionnaires").fill("Je tiens la comptabilité.")
        await result.get_by_role("button", name="Demander le rattachement").click()
        await expect(colleague.get_by_role("status")).to_contain_text("Demande de rattachement")
        request = colleague.locator("#my-requests").get_by_role("row").filter(has_text=name)
        await expect(request).to_contain_text("En cours de validation")
        await check_axe(colleague, "demande de rattachement envoyée")

        # The founder accepts the request from the structure's page.
        await founder.get_by_role("link", name=name).click()
        pending = founder.locator("#pending-requests").get_by_role("row").filter(has_text="Colin")
        await expect(pending).to_contain_text("Je tiens la comptabilité.")
        await check_axe(founder, "structure avec une demande de rattachement en attente")
        await pending.get_by_label("Rôle accordé").select_option("UTILISATEUR")
        await pending.get_by_role("button", name=re.compile("^Accepter")).click()
        await expect(founder.get_by_role("status")).to_contain_text(
            "Demande de rattachement acceptée"
        )
        member = founder.locator("#members").get_by_role("row").filter(has_text="Colin Roux")
        await expect(member).to_contain_text("Utilisateur")
        await check_axe(founder, "demande de rattachement acceptée")

        # The colleague now sees the structure among theirs.
        await colleague.goto("/structures")
        mine = colleague.locator("#memberships").get_by_role("row").filter(has_text=name)
        await expect(mine).to_contain_text("Utilisateur")
        await check_axe(colleague, "mes structures, rattachement accepté")
        await mine.get_by_role("link", name=name).click()
        await expect(colleague.locator("#my-role")).to_have_text("Utilisateur")
        await check_axe(colleague, "page de la structure, utilisateur")

        # The founder renames the structure; its history says so.
        renamed = f"{name} et Fils"
        update = founder.locator("#update-form")
        await update.get_by_label("Raison sociale").fill(renamed)
        await update.get_by_role("button", name="Enregistrer les modifications").click()
        await expect(founder.get_by_role("status")).to_contain_text("Structure mise à jour.")
        await expect(founder.get_by_role("heading", name=renamed, exact=True)).to_be_visible()
        await check_axe(founder, "structure renommée")
        await founder.get_by_role("link", name="Historique des actions des gestionnaires").click()
        await expect(founder.locator("#history")).to_contain_text(f"raison sociale : {renamed}")
        await check_axe(founder, "historique des actions des gestionnaires")
    finally:
        await founder.context.close()
        await colleague.context.close()
    assert script_errors == []
