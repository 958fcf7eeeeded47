"""Message templates shipped in the package (``templates/<locale>/``), rendered with Jinja2.

A message named ``n`` is ``n.txt``, whose blocks are the short parts (``subject`` or
``title``) and the plain-text ``body``, and, for e-mails, ``n.html``, rendered whole with
autoescaping on. A template missing in the recipient's language falls back to French.
Undefined variables are errors, so a template and its caller cannot drift apart silently.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from chorus_notifications.domain.recipients import DEFAULT_LOCALE


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("chorus_notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _template(name: str, locale: str) -> Template:
    return _environment().select_template([f"{locale}/{name}", f"{DEFAULT_LOCALE}/{name}"])


def render_block(name: str, block: str, locale: str, context: dict[str, Any]) -> str:
    """One block of ``<locale>/<name>``, surrounding blank space removed."""
    template = _template(name, locale)
    rendered = "".join(template.blocks[block](template.new_context(context)))
    return rendered.strip()


def render_line(name: str, block: str, locale: str, context: dict[str, Any]) -> str:
    """A block folded to one line (subjects and titles never span lines)."""
    return " ".join(render_block(name, block, locale, context).split())


def render_document(name: str, locale: str, context: dict[str, Any]) -> str:
    """The whole of ``<locale>/<name>`` (an HTML e-mail body)."""
    return _template(name, locale).render(context)
