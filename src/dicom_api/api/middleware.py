"""Request ids, access log, metrics and the audit trail, in one pure ASGI middleware.

Pure ASGI, so streamed uploads and downloads pass through untouched. Only the method and path are logged:
paths carry server-made file ids, never patient data.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dicom_api.api.metrics import Metrics
from dicom_api.services.audit import AuditEntry

log = logging.getLogger("dicom_api.access")
_INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_FILE_ID = re.compile(r"[0-9a-f]{32}")


class ObservabilityMiddleware:
    """Per request, from one look at the answer: a request id (X-Request-ID), one log line, the Prometheus
    metrics and, for the handlers in ``actions`` (every access to patient data, every sign-in), an audit
    entry once the status is known, denied attempts included; unless the handler's change committed the
    request's entry itself (see `audited`)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, actions: Mapping[Callable[..., Any], str]) -> None:
        self.app = app
        self.metrics = metrics
        self.actions = actions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _INCOMING_ID.fullmatch(incoming) else os.urandom(8).hex()
        state = scope.setdefault("state", {})
        state["request_id"], state["audit_actions"] = request_id, self.actions
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            fields = {"method": scope["method"], "path": scope["path"], "status": status,
                      "duration_ms": round(elapsed * 1000, 1), "request_id": request_id}  # fmt: skip
            log.info("%s %s %d %.1fms id=%s", *fields.values(), extra={"http": fields})
            route = getattr(scope.get("route"), "path", None) or "unmatched"  # the template, not the ids
            self.metrics.observe(scope["method"], route, status, elapsed)
            action = self.actions.get(scope.get("endpoint"))  # type: ignore[arg-type]
            if action is not None:
                self._record(scope, action, status)

    def _record(self, scope: Scope, action: str, status: int) -> None:
        state = scope.get("state", {})
        if state.get("audit_committed"):  # committed with the change it records
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        file_id = scope.get("path_params", {}).get("file_id") or query.get("file_id")
        scope["app"].state.context.audit.record(_entry(scope, action, status, file_id))


def audited(request: Request, status: int) -> Callable[[str], AuditEntry]:
    """For a handler whose change commits the request's audit entry in its own transaction (an upload, a
    delete): the entry for the file changed, answered with ``status``. Once that transaction has committed,
    the handler sets ``request.state.audit_committed`` and the middleware writes no second entry."""
    scope = request.scope
    action = scope["state"]["audit_actions"][scope["endpoint"]]
    return lambda file_id: _entry(scope, action, status, file_id)


def stored(request: Request, size: int) -> None:
    """After the transaction that stored a file with its audit entry has committed: no second entry, and the
    file and its ``size`` bytes counted in the metrics."""
    request.state.audit_committed = True
    request.app.state.metrics.uploads.inc()
    request.app.state.metrics.bytes_stored.inc(size)


def _entry(scope: Scope, action: str, status: int, file_id: object) -> AuditEntry:
    state = scope.get("state", {})
    client = scope.get("client")
    return AuditEntry(
        action=action,
        outcome=_outcome(status),
        status=status,
        user_id=state.get("user_id"),
        username=state.get("username") or state.get("audit_username"),
        file_id=file_id if isinstance(file_id, str) and _FILE_ID.fullmatch(file_id) else None,
        client=client[0][:64] if client else None,
        request_id=state.get("request_id"),
        token_id=state.get("token_id"),
    )


def _outcome(status: int) -> str:
    if status < 400:
        return "success"
    return {401: "denied", 403: "denied", 404: "not_found", 429: "throttled"}.get(
        status, "error" if status >= 500 else "rejected"
    )
