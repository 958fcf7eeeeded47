"""What the gateway's and the portal's ``main`` share around uvicorn: spans without query
strings, uvicorn's records without their coloured duplicate."""

from __future__ import annotations

import logging

# Span attributes that may hold the query string, where activation and reset tokens travel.
_URL_ATTRIBUTES = ("http.url", "http.target", "url.full", "url.query")


def path_only(span, scope: dict) -> None:
    """Keeps query strings (and the tokens in them) out of the HTTP server spans."""
    if span is None or not span.is_recording():
        return
    for name in _URL_ATTRIBUTES:
        span.set_attribute(name, "" if name == "url.query" else scope.get("path", ""))


class WithoutColorMessage(logging.Filter):
    """Drops the ANSI-coloured duplicate uvicorn attaches to its records (noise in JSON)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True
