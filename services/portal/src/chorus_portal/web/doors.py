"""What the sign-in pages share: form fields, the Secure cookie flag and the per-client
buckets. Login, second factor, password reset (request, link lookup, confirmation),
registration and activation resend draw, after the CSRF check, from the per-client buckets
(:mod:`chorus_edge.rate_limits`): an empty bucket shows the form again with the wait, status
429 and ``Retry-After``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse

from chorus_edge.rate_limits import RATE_LIMITED, Purpose, limited_message, retry_after
from chorus_portal.web.pages import render

FormText = Annotated[str, Form()]


def secure(request: Request) -> bool:
    return request.app.state.settings.secure_cookies


def rate_limited(
    request: Request, purpose: Purpose, template: str, context: dict | None = None
) -> HTMLResponse | None:
    """``template`` again with the wait (429, ``Retry-After``) when the caller's ``purpose``
    bucket is empty; ``None`` (one request taken from the bucket) when the form may go on."""
    seconds = retry_after(request, purpose)
    if seconds is None:
        return None
    message = limited_message(seconds)
    refusal = {"error": message, "message": message, "code": RATE_LIMITED}
    response = render(request, template, {**(context or {}), **refusal}, 429)
    response.headers["Retry-After"] = str(seconds)
    return response
