"""``/api/v1/docs``: Swagger UI served by the gateway itself, under the portal's CSP.

FastAPI's own page loads Swagger UI from a CDN, unpinned and without integrity, and starts it
with an inline script. This page loads the assets from the gateway (:data:`SWAGGER_UI_DIR`,
the files of the PyPI package ``fastapi-offline``, pinned in ``uv.lock``: Swagger UI 5, Apache
2.0 licence, the package MIT) and starts them with a script file of ours
(:data:`INIT_DIR` ``/swagger-init.js``), so nothing inline runs and nothing comes from
elsewhere: ``Content-Security-Policy`` stays :data:`~chorus_edge.security_headers.PAGE_CSP`.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

SWAGGER_UI_DIR = Path(str(files("fastapi_offline") / "static"))
"""``swagger-ui-bundle.js``, ``swagger-ui.css`` and ``favicon.png``."""
INIT_DIR = Path(__file__).resolve().parent / "docs_static"

SWAGGER_UI_URL = "/static/swagger-ui"
INIT_URL = "/static/api-docs"

router = APIRouter(include_in_schema=False)


def docs_page(openapi_url: str, title: str) -> str:
    """The HTML of the documentation page for the OpenAPI document at ``openapi_url``."""
    return f"""<!doctype html>
<html lang="fr">
<head>
  <meta charset="utf-8">
  <title>{escape(title)} — documentation</title>
  <link rel="stylesheet" href="{SWAGGER_UI_URL}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{SWAGGER_UI_URL}/favicon.png">
</head>
<body>
  <main id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></main>
  <script src="{SWAGGER_UI_URL}/swagger-ui-bundle.js"></script>
  <script src="{INIT_URL}/swagger-init.js"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
async def docs(request: Request) -> HTMLResponse:
    return HTMLResponse(docs_page(request.app.openapi_url, request.app.title))
