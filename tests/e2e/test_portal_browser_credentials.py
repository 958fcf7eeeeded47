"""The credentials pages of the portal in a real browser (Debian Chromium driven by
Playwright): a manager creates an API application under "Mon compte" (its secret shown once,
gone on reload), revokes it after ticking the box; then, from the structure's page, activates
a technical account (login and password shown once), renews its password and revokes it. The
user and structure are set up through the REST API; everything under test happens in the
browser against the real services, and axe-core finds no violation in any state reached.
"""

from __future__ import annotations

import re

import pytest
from axe_support import check_axe
from e2e_support import activated_user, random_siret
from playwright.async_api import async_playwright, expect
from test_portal_browser import CHROMIUM, CHROMIUM_ARGS, new_page, sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def browser():
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/system_deps.sh (apt-get install chromium)")
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield found
        await found.close()


async def test_a_manager_handles_api_credentials_in_the_browser(api, mailbox, gateway_url, browser):
    _, email, auth = await activated_user(api, mailbox, "Marius", "Connecteur")
    body = {
        "identifier_type": "SIRET",
        "identifier": random_siret(),
        "raison_sociale": "Tuilerie Marius SARL",
        "address": {
            "line1": "1 rue du Four",
            "postal_code": "13001",
            "city": "Marseille",
            "country": "FR",
        },
    }
    created = await api.post("/structures", headers=auth, json=body)
    assert created.status_code == 201, created.text
    structure_id = created.json()["id"]
    script_errors: list[str] = []
    page = await new_page(browser, gateway_url, script_errors)
    try:
        await sign_in(page, email)

        # An API application: the secret once, then never again.
        await page.get_by_role("link", name="Mon compte").first.click()
        await expect(page.get_by_role("link", name="gérer mes applications API")).to_be_visible()
        await check_axe(page, "mon compte")
        await page.get_by_role("link", name="gérer mes applications API").click()
        await expect(
            page.get_by_role("heading", name="Applications API", exact=True)
        ).to_be_visible()
        await expect(page.locator("#token-url")).to_have_text(f"{gateway_url}/api/oauth/token")
        await expect(page.locator("#api-base-url")).to_have_text(f"{gateway_url}/cpro")
        await check_axe(page, "applications API, aucune")
        await page.get_by_label("Nom de l'application").fill("ERP Odoo")
        await page.get_by_role("button", name="Créer l'application").click()
        secret = page.locator("#created-client-secret")
        await expect(secret).to_have_text(re.compile(r"^[A-Za-z0-9_-]{43}$"))
        shown = await secret.inner_text()
        await expect(page.locator("#applications")).to_contain_text("ERP Odoo")
        await check_axe(page, "application API créée, secret affiché")
        await page.goto("/mon-compte/applications-api")
        await expect(page.locator("#applications")).to_contain_text("ERP Odoo")
        assert shown not in await page.content()
        await check_axe(page, "applications API, une active")

        row = page.locator("#applications").get_by_role("row").filter(has_text="ERP Odoo")
        await row.get_by_role("button", name=re.compile("^Révoquer")).click()
        await expect(page.get_by_role("alert")).to_contain_text("Cochez la case")
        await check_axe(page, "révocation d'application refusée, case non cochée")
        row = page.locator("#applications").get_by_role("row").filter(has_text="ERP Odoo")
        await row.get_by_label(re.compile("Je confirme")).check()
        await row.get_by_role("button", name=re.compile("^Révoquer")).click()
        await expect(page.get_by_role("status")).to_contain_text("Application révoquée")
        await expect(row).to_contain_text("Révoquée le")
        await check_axe(page, "application API révoquée")

        # A technical account of the structure, from its page.
        await page.goto(f"/structures/{structure_id}")
        await check_axe(page, "page de la structure, gestionnaire principal")
        await page.get_by_role("link", name=re.compile("^Comptes techniques")).click()
        await expect(page.get_by_role("heading", name="Comptes techniques")).to_be_visible()
        await check_axe(page, "comptes techniques, aucun")
        await page.get_by_role("button", name="Activer un compte technique").click()
        await expect(page.get_by_role("heading", name="Compte technique activé")).to_be_visible()
        login = await page.locator("#shown-login").inner_text()
        first = await page.locator("#shown-password").inner_text()
        assert login.startswith("TECH_") and len(first) == 24
        account = page.locator("#technical-accounts").get_by_role("row").filter(has_text=login)
        await expect(account).to_contain_text("Actif")
        await check_axe(page, "compte technique activé, mot de passe affiché")

        await account.get_by_role("button", name=re.compile("^Renouveler")).click()
        await expect(page.get_by_role("heading", name="Nouveau mot de passe")).to_be_visible()
        second = await page.locator("#shown-password").inner_text()
        assert second != first and len(second) == 24
        await check_axe(page, "mot de passe de compte technique renouvelé")

        account = page.locator("#technical-accounts").get_by_role("row").filter(has_text=login)
        await account.get_by_label(re.compile("Je confirme")).check()
        await account.get_by_role("button", name=re.compile("^Révoquer")).click()
        await expect(page.get_by_role("status")).to_contain_text("Compte technique révoqué")
        await expect(account).to_contain_text("Révoqué le")
        await check_axe(page, "compte technique révoqué")
        assert second not in await page.content()
    finally:
        await page.context.close()
    assert script_errors == []
