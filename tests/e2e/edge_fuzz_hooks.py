"""schemathesis hooks for tests/e2e/test_edge_fuzz.py.

- :func:`unavailable_says_when_to_retry`: the one server error allowed, a 503 with
  ``Retry-After``.
- :func:`before_call`: each request from a client address of its own (the stack trusts the
  tests as its proxy), so the login and reset doors answer what they make of the input rather
  than 429 once their buckets are empty: the rate limits are tested elsewhere.
- Hostile strings: the cases schemathesis generates from the schema are valid or invalid by
  the schema's types and bounds, but rarely hold what breaks the layers behind a schema — a NUL
  (PostgreSQL refuses it), a control character, a string the size of a request. The
  ``flatmap_*`` hooks let Hypothesis choose, for each generated body, query or path, either
  the case as generated or the same case with one of its strings replaced by such a value.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any

import hypothesis.strategies as st
import schemathesis

HOSTILE = ("nul\x00", "\x00", "bell\x07", "esc\x1b[0m", "x" * 50_000)

_clients = itertools.count()


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    n = next(_clients) % 65_024
    case.headers = {**(case.headers or {}), "X-Forwarded-For": f"198.19.{n // 254}.{n % 254 + 1}"}


@schemathesis.check
def unavailable_says_when_to_retry(ctx, response, case) -> None:
    """A 5xx must be a 503 with ``Retry-After`` (a service temporarily unavailable, its
    reason kept); any other server error fails the run."""
    if response.status_code < 500:
        return
    retry_after = (response.headers.get("retry-after") or [""])[0]
    if response.status_code != 503 or not retry_after.isdigit():
        raise AssertionError(
            f"server error {response.status_code} (Retry-After {retry_after!r}): "
            f"{response.text[:300]}"
        )


def _string_paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _string_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_paths(item, (*path, index))


def _with(value: Any, path: tuple, replacement: str) -> Any:
    if not path:
        return replacement
    changed = copy.deepcopy(value)
    target = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = replacement
    return changed


def _hostile(value: Any, *, url: bool = False) -> st.SearchStrategy:
    """``value`` as generated, or with one of its strings made hostile."""
    paths = list(_string_paths(value))
    if not paths:
        return st.just(value)
    # A URL must stay within what the HTTP server reads of a request head.
    strings = [s for s in HOSTILE if not url or len(s) < 1000]
    hostile = st.tuples(st.sampled_from(paths), st.sampled_from(strings)).map(
        lambda chosen: _with(value, *chosen)
    )
    return st.one_of(st.just(value), hostile)


@schemathesis.hook
def flatmap_body(context, body):
    return _hostile(body)


@schemathesis.hook
def flatmap_query(context, query):
    return _hostile(query, url=True)


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    return _hostile(path_parameters, url=True)
