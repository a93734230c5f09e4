"""One log line per request, and the audit trail.

One log line per request (request id, status, duration) and an X-Request-ID header on every answer.

Pure ASGI, so streamed uploads and downloads pass through untouched. Only the method and path are logged:
paths carry server-made file ids, never patient data.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dicom_api.services.audit import AuditEntry

log = logging.getLogger("dicom_api.access")
audit_log = logging.getLogger("dicom_api.audit")
_INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_FILE_ID = re.compile(r"[0-9a-f]{32}")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            fields = {"method": scope["method"], "path": scope["path"], "status": status,
                      "duration_ms": round(elapsed, 1), "request_id": request_id}  # fmt: skip
            log.info("%s %s %d %.1fms id=%s", *fields.values(), extra={"http": fields})


class AuditMiddleware:
    """Record every access to patient data (and every sign-in) once its answer is known, denied ones too.

    ``actions`` maps handler functions to audit action names; other routes are not recorded.
    """

    def __init__(self, app: ASGIApp, actions: Mapping[Callable[..., Any], str]) -> None:
        self.app = app
        self.actions = actions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            action = self.actions.get(scope.get("endpoint"))  # type: ignore[arg-type]
            if action is not None:
                await self._record(scope, action, status)

    async def _record(self, scope: Scope, action: str, status: int) -> None:
        state = scope.get("state", {})
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        file_id = state.get("audit_file_id") or scope.get("path_params", {}).get("file_id") or query.get("file_id")
        client = scope.get("client")
        entry = AuditEntry(
            action=action,
            outcome=_outcome(status),
            status=status,
            user_id=state.get("user_id"),
            username=state.get("username") or state.get("audit_username"),
            file_id=file_id if isinstance(file_id, str) and _FILE_ID.fullmatch(file_id) else None,
            client=client[0][:64] if client else None,
            request_id=state.get("request_id"),
        )
        try:
            await anyio.to_thread.run_sync(scope["app"].state.context.audit.append, entry)
        except Exception:
            audit_log.exception("could not write the audit entry for %s (request %s)", action, entry.request_id)


def _outcome(status: int) -> str:
    if status < 400:
        return "success"
    return {401: "denied", 403: "denied", 404: "not_found", 429: "throttled"}.get(
        status, "error" if status >= 500 else "rejected"
    )
