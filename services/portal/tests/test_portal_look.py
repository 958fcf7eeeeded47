"""Every page's frame: skip link, favicon (no 404 on a first visit), the conditions of use
linked from registration and the footer, and the static files the frame loads."""

from __future__ import annotations

import re

HTML = {"Accept": "text/html"}


async def test_every_page_starts_with_a_skip_link_to_the_main_content(api):
    for path in ("/", "/connexion", "/inscription", "/cgu", "/page-qui-n-existe-pas"):
        page = (await api.get(path, headers=HTML)).text
        body = page.split("<body>", 1)[1]
        first_focusable = re.search(r"<(a|button|input|select|textarea)\b[^>]*>", body)
        assert first_focusable, path
        assert first_focusable.group(0) == '<a class="skip-link" href="#contenu">', path
        assert "Aller au contenu</a>" in body
        assert '<main id="contenu" tabindex="-1"' in body, path


async def test_conditions_of_use_are_a_public_french_page_linked_from_the_footer(api):
    response = await api.get("/cgu", headers=HTML)

    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    text = response.text
    assert "<h1>Conditions générales d'utilisation</h1>" in text
    for heading in (
        "Objet du service",
        "Création et usage du compte",
        "Obligations des utilisateurs",
        "Données personnelles",
        "Disponibilité et responsabilité",
        "Droit applicable",
    ):
        assert heading in text
    assert "CNIL" in text and "RGPD" in text
    assert '<footer class="site-footer">' in text
    assert 'href="/cgu"' in text.split('<footer class="site-footer">', 1)[1]


async def test_registration_checkbox_links_the_conditions(api):
    page = (await api.get("/inscription", headers=HTML)).text

    label = re.search(r'<input type="checkbox" name="terms_accepted".*?</label>', page, re.S)
    assert label, "no terms checkbox"
    assert '<a href="/cgu"' in label.group(0)


async def test_favicon_ico_is_the_svg_icon_cached_for_a_week(api):
    response = await api.get("/favicon.ico")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "public, max-age=604800"
    assert response.content.startswith(b"<svg")
    linked = await api.get("/static/favicon.svg")
    assert linked.status_code == 200 and linked.content == response.content
    page = (await api.get("/", headers=HTML)).text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page


async def test_frame_scripts_and_styles_are_served(api):
    script = await api.get("/static/portal.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    style = await api.get("/static/portal.css")
    assert style.status_code == 200
    assert "@media print" in style.text
    assert ".skip-link:focus" in style.text
