"""Pages every visitor may read without an account: the conditions of use (``/cgu``, linked
from the registration checkbox and the footer), and ``/favicon.ico``, which browsers ask for
on a first visit: the portal's SVG icon, cached for a week, instead of a 404."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from chorus_portal.web.pages import STATIC_DIR, render

router = APIRouter(include_in_schema=False)

FAVICON = STATIC_DIR / "favicon.svg"
FAVICON_CACHE = "public, max-age=604800"


@router.get("/cgu", response_class=HTMLResponse)
async def conditions_of_use(request: Request) -> HTMLResponse:
    return render(request, "cgu.html")


@router.get("/favicon.ico", response_class=FileResponse)
async def favicon() -> FileResponse:
    return FileResponse(
        FAVICON, media_type="image/svg+xml", headers={"Cache-Control": FAVICON_CACHE}
    )
