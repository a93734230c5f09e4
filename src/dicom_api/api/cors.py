"""Cross-origin access for browser viewers (OHIF and the like), when DICOM_API_CORS_ORIGINS names their origins.

Tokens travel in the Authorization header, set by the page's script, never in cookies: so no request needs the
browser's credentials mode, and allow_credentials stays False, which is also what lets the origin be `*` (the
Fetch standard refuses `Access-Control-Allow-Origin: *` on a credentialed request). Authorization is allowed by
name: a `*` in Access-Control-Allow-Headers never covers it.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_HEADERS = ["Authorization", "Accept", "Content-Type"]
EXPOSED_HEADERS = ["Warning", "Content-Location", "Location", "ETag", "X-Request-ID"]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE"]
PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight's answer


def install_cors(app: FastAPI, origins: list[str]) -> None:
    """CORS for ``origins`` (or `*`); nothing at all when there are none. A preflight (OPTIONS) is answered by
    the middleware itself, before any route: it needs no token."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=METHODS,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=PREFLIGHT_MAX_AGE,
    )
    app.add_middleware(ResourcePolicy)


class ResourcePolicy:
    """`Cross-Origin-Resource-Policy: cross-origin` on every answer: a viewer page isolated with
    `Cross-Origin-Embedder-Policy: require-corp` (OHIF, for SharedArrayBuffer) may load what it fetches here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"cross-origin-resource-policy", b"cross-origin")]
            await send(message)

        await self.app(scope, receive, send_with_policy)
