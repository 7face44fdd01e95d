"""The API's /docs page, offline: Swagger UI from local files (the swagger-ui-bundle package),
never a CDN; without that package, a plain page listing the operations."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_ASSETS = "/docs/assets"


def _swagger_assets() -> Path | None:
    try:
        from swagger_ui_bundle import swagger_ui_path  # the Swagger UI files, shipped as a package
    except ImportError:
        return None
    return Path(str(swagger_ui_path))


def install_docs(app: FastAPI) -> None:
    """Serve /docs (and its assets under /docs/assets) on `app`."""
    assets = _swagger_assets()
    if assets is not None:
        app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        if assets is not None:
            return get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{app.title} - docs",
                swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
            )
        return HTMLResponse(_plain_docs(app.openapi()))


def _plain_docs(schema: dict[str, Any]) -> str:
    rows = []
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            about = f"{escape(op.get('summary', ''))}<br><small>{escape(op.get('description', ''))}</small>"
            rows.append(f"<tr><td><code>{method.upper()} {escape(path)}</code></td><td>{about}</td></tr>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(schema['info']['title'])}</title>"
            "</head><body><h1>pressbot API</h1><p>The full schema: <a href='/openapi.json'>/openapi.json</a>.</p>"
            f"<table>{''.join(rows)}</table></body></html>")
