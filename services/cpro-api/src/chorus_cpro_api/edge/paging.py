"""Pages as the clients ask for them (``nbResultatsParPage``, ``pageResultatDemandee``) and
``parametresRetour`` as they read it, always true (design §3; OCA's lost invoices beyond the
10th were a silent truncation).

The page size defaults to 10 and is at most :data:`MAX_PAGE_SIZE`: a larger one (OCA asks
10,000 services) is served 1,000 at a time and ``parametresRetour.pages`` says how many pages
there are, so nothing is dropped silently. A size or page below 1 is read as the default."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
MAX_PAGE_NUMBER = 10_000_000


@dataclass(frozen=True)
class Page:
    number: int
    size: int


def page_request(
    params: Any,
    path: str = "",
    *,
    size_key: str = "nbResultatsParPage",
    number_key: str = "pageResultatDemandee",
) -> Page:
    """The page a parameters object asks for (absent: the first page of 10)."""
    params = params if isinstance(params, dict) else {}
    size = params.get(size_key)
    number = params.get(number_key)
    size = DEFAULT_PAGE_SIZE if not isinstance(size, int) or size < 1 else min(size, MAX_PAGE_SIZE)
    number = 1 if not isinstance(number, int) or number < 1 else min(number, MAX_PAGE_NUMBER)
    return Page(number=number, size=size)


def pages_of(total: int, size: int) -> int:
    return math.ceil(total / size) if total > 0 else 0


def page_result(page: Page, total: int) -> dict[str, int]:
    """``parametresRetour``: the page served, the number of pages, the size, the total."""
    return {
        "pageCourante": page.number,
        "pages": pages_of(total, page.size),
        "nbResultatsParPage": page.size,
        "total": total,
    }


def slice_of(items: list[Any], page: Page) -> list[Any]:
    """The page's items of a list held whole."""
    start = (page.number - 1) * page.size
    return items[start : start + page.size]
