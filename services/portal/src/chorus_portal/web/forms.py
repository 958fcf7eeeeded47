"""Reading submitted portal forms: what the user typed, trimmed; nothing else is trusted."""

from __future__ import annotations

from starlette.datastructures import FormData


def text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""
