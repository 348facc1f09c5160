"""``/docs``: Swagger UI from the assets bundled with the package, so it works offline.

FastAPI's default page loads Swagger UI from a CDN, which leaves ``/docs`` blank on a machine
without internet access (or behind a proxy that forbids it). ``fastapi-swagger`` ships Swagger
UI 5 as a wheel (``swagger-ui-bundle``'s Swagger UI 4 cannot read the OpenAPI 3.1 FastAPI
writes: "Unable to render this definition", seen in the browser test); the files are served
under ``/docs/assets`` and the page names no other host (the online spec validator, which
Swagger UI calls by default, is switched off too).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

DOCS = "/docs"
ASSETS = f"{DOCS}/assets"


def install(app: FastAPI) -> None:
    """Serve the Swagger UI page at ``/docs`` and its JavaScript and CSS under ``/docs/assets``."""
    assets = files("fastapi_swagger") / "resources"
    app.mount(ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get(DOCS, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: API documentation",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters={"validatorUrl": None},
        )
