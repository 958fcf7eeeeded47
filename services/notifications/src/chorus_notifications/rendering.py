"""Rendering of the message templates shipped in the package (``templates/<locale>/``) with
Jinja2: turns the domain's drafts (which template, which facts) into the texts stored and sent.

A message named ``n`` is ``n.txt``, whose blocks are the short parts (``subject`` or
``title``) and the plain-text ``body``, and, for e-mails, ``n.html``, rendered whole with
autoescaping on; feed entries live under ``feed/``. A template missing in the recipient's
language falls back to French. Undefined variables are errors, so a template and its caller
cannot drift apart silently. Templates are compiled once per process and never checked for
changes on disk (they ship in the package).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from chorus_notifications.domain.messages import EmailContent, EmailDraft, FeedDraft, FeedEntry
from chorus_notifications.domain.recipients import DEFAULT_LOCALE


def render_email(draft: EmailDraft) -> EmailContent:
    """Subject (one line), plain-text body (ending with a newline) and HTML body."""
    name, locale, context = draft.template, draft.locale, draft.context
    return EmailContent(
        kind=draft.kind,
        subject=_render_line(f"{name}.txt", "subject", locale, context),
        text_body=_render_block(f"{name}.txt", "body", locale, context) + "\n",
        html_body=_render_document(f"{name}.html", locale, context),
        sealed=draft.sealed,
    )


def render_feed(draft: FeedDraft) -> FeedEntry:
    """Title (one line) and body of a feed entry."""
    name = f"feed/{draft.template}.txt"
    return FeedEntry(
        kind=draft.kind,
        title=_render_line(name, "title", draft.locale, draft.context),
        body=_render_block(name, "body", draft.locale, draft.context),
        link=draft.link,
    )


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("chorus_notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


@cache
def _template(name: str, locale: str) -> Template:
    return _environment().select_template([f"{locale}/{name}", f"{DEFAULT_LOCALE}/{name}"])


def _render_block(name: str, block: str, locale: str, context: Mapping[str, Any]) -> str:
    """One block of ``<locale>/<name>``, surrounding blank space removed."""
    template = _template(name, locale)
    rendered = "".join(template.blocks[block](template.new_context(dict(context))))
    return rendered.strip()


def _render_line(name: str, block: str, locale: str, context: Mapping[str, Any]) -> str:
    """A block folded to one line (subjects and titles never span lines)."""
    return " ".join(_render_block(name, block, locale, context).split())


def _render_document(name: str, locale: str, context: Mapping[str, Any]) -> str:
    """The whole of ``<locale>/<name>`` (an HTML e-mail body)."""
    return _template(name, locale).render(dict(context))
