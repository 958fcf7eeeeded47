"""List paging parameters shared by every list endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

PageSize = Annotated[
    int | None, Query(ge=1, le=100, description="Items per page, at most 100 (service default).")
]
PageToken = Annotated[str, Query(description="`next_page_token` of the previous page.")]
