"""axe_support can fail: a page with known violations (an image without alternative text, a
field without a label) fails check_axe with each violation's id, impact, help and target, under
a CSP as strict as the portal's (`script-src 'self'`, nothing inline); the same page fixed
passes; a missing axe-core says to run `make install`. Served by Playwright routes: no stack."""

from __future__ import annotations

import axe_support
import pytest
from axe_support import check_axe
from playwright.async_api import Page, async_playwright
from test_portal_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.asyncio(loop_scope="session")

ORIGIN = "http://axe-self-test.invalid"
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PIXEL = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
BROKEN = f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Essai</title></head>
<body><main><h1>Essai</h1>
<script>document.documentElement.dataset.inline = "ran";</script>
<img src="{PIXEL}">
<form><input type="text" name="siret"></form>
</main></body></html>"""
FIXED = f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Essai</title></head>
<body><main><h1>Essai</h1>
<img src="{PIXEL}" alt="Logo de la structure">
<form><label for="siret">SIRET</label> <input id="siret" type="text" name="siret"></form>
</main></body></html>"""


@pytest.fixture
async def page():
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/system_deps.sh (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


async def serve(page: Page, html: str) -> None:
    async def fulfill(route):
        await route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": STRICT_CSP},
            body=html,
        )

    await page.route(f"{ORIGIN}/**", fulfill)
    await page.goto(f"{ORIGIN}/essai")


async def test_a_page_with_known_violations_fails_under_a_strict_csp(page):
    await serve(page, BROKEN)
    # The page's CSP is in force: its inline script was blocked...
    assert await page.evaluate("document.documentElement.dataset.inline") is None
    with pytest.raises(pytest.fail.Exception) as failed:
        await check_axe(page, "page d'essai")
    message = str(failed.value)
    assert "2 violation(s) on page d'essai" in message, message
    assert "- image-alt (critical): Images must have alternative text" in message, message
    assert "- label (critical): Form elements must have labels" in message, message
    assert "    img:" in message and "    input:" in message, message
    # ...and axe-core ran all the same, without adding a script element to the page.
    assert await page.evaluate("document.querySelectorAll('script').length") == 1


async def test_the_same_page_fixed_passes(page):
    await serve(page, FIXED)
    await check_axe(page, "page d'essai corrigée")


async def test_a_missing_axe_core_says_to_run_make_install(page, monkeypatch, tmp_path):
    monkeypatch.setattr(axe_support, "AXE_JS", tmp_path / "axe.min.js")
    axe_support.axe_source.cache_clear()
    try:
        with pytest.raises(pytest.fail.Exception, match=r"run `make install`"):
            await check_axe(page, "page d'essai")
    finally:
        axe_support.axe_source.cache_clear()


async def test_excluded_third_party_parts_are_not_checked_and_the_rest_is(page):
    await serve(page, BROKEN)
    await check_axe(page, "page d'essai sans ses parties tierces", exclude=["img", "form"])
    with pytest.raises(pytest.fail.Exception) as failed:
        await check_axe(page, "page d'essai sans son formulaire", exclude=["form"])
    message = str(failed.value)
    assert "1 violation(s)" in message and "- image-alt (critical)" in message, message
