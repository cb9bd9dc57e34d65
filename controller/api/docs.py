"""The API's description page (/docs) with Swagger UI served by the controller itself: a
commune office is often offline, and assets from a CDN would leave the page blank there.
The assets come from the ``swagger-ui-py`` wheel (Swagger UI 5, which reads OpenAPI 3.1)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
FAVICON = Path(__file__).resolve().parent.parent / "web" / "static" / "favicon.svg"


def swagger_assets() -> Path:
    return Path(str(files("swagger_ui").joinpath("static")))


def mount(app: FastAPI) -> None:
    """Call on an app made with ``docs_url=None, redoc_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=swagger_assets()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url="/favicon.ico",
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        # an SVG under the name browsers ask for by themselves (pages link it as well)
        return FileResponse(FAVICON, media_type="image/svg+xml")
