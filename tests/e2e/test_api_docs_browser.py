"""The API documentation in Chromium: Swagger UI runs from the gateway's own assets under the
portal's Content-Security-Policy — every operation shown, no request to another host, no
CSP violation, no script error; axe-core finds no violation in the page around Swagger UI."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from axe_support import check_axe
from playwright.async_api import async_playwright
from test_portal_browser import CHROMIUM, CHROMIUM_ARGS


async def test_swagger_ui_runs_from_the_gateway_under_its_csp(gateway_url, api):
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/system_deps.sh (apt-get install chromium)")
    operations = sum(
        len(item) for path, item in (await api.get("/openapi.json")).json()["paths"].items()
    )
    gateway = urlsplit(gateway_url).netloc
    console, errors, hosts = [], [], set()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            page.on("console", lambda message: console.append(message.text))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
            await page.goto(f"{gateway_url}/api/v1/docs")
            await page.wait_for_selector(".opblock", timeout=20_000)
            shown = await page.locator(".opblock").count()
            # axe-core on our page around Swagger UI (language, title, main landmark), not on
            # what Swagger UI 5 renders inside it: that markup and CSS are the third-party
            # bundle's (low-contrast colours, buttons nested in its operation headers, heading
            # levels), not fixable from this page without patching the bundle.
            await check_axe(
                page, "documentation de l'API, hors Swagger UI", exclude=["#swagger-ui > *"]
            )
        finally:
            await browser.close()

    assert shown == operations
    assert hosts <= {gateway, ""}, hosts
    assert not [text for text in console if "Content Security Policy" in text], console
    assert not errors, errors
