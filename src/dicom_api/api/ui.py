"""The web page at /ui/ (static files in the package: no CDN, no build step) and, when the operator installed it
with `dicom-api ohif install`, the OHIF viewer at /ohif/."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

# The page's own scripts and styles only; images are blob: URLs made from authorized fetches.
_PAGE_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class _Page(StaticFiles):
    """The page's files, never cached stale (revalidated by ETag) and under a strict content security policy."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Content-Security-Policy"] = _PAGE_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


class _SinglePageApp(StaticFiles):
    """A built single-page app: its files as they are, index.html for its own routes (/ohif/viewer?...)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404:
                raise
            return await super().get_response("index.html", scope)


def mount_ui(app: FastAPI, ohif_dir: Path) -> None:
    """/ui/ always; /ohif/ when ``ohif_dir`` holds an installed viewer (looked at once, at start)."""
    ohif = (ohif_dir / "index.html").is_file()

    @app.get("/ui/features.json", include_in_schema=False)
    async def features() -> dict[str, bool]:
        """What the page may offer: the viewer when installed, share links when this version has them."""
        return {"ohif": ohif, "share": "/shares" in app.openapi().get("paths", {})}  # the document is built once

    app.mount("/ui", _Page(directory=str(files("dicom_api") / "web"), html=True), name="ui")
    if ohif:
        app.mount("/ohif", _SinglePageApp(directory=str(ohif_dir), html=True), name="ohif")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/ui/")
