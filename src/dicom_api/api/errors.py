"""The one error renderer: every error of every status is {"error": "<message>"}."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dicom_api.errors import AppError
from dicom_api.services.context import DATABASE_UNREACHABLE

log = logging.getLogger("dicom_api.errors")


# Path prefixes whose 401 also offers HTTP Basic (a personal access token as the password), with their realm:
# DICOMweb clients (viewers, dcm4che, Orthanc) ask for Basic credentials only when the challenge names it.
BASIC_REALMS: dict[str, str] = {"/dicomweb": "dicomweb"}


def challenge(path: str) -> str:
    """The WWW-Authenticate value of a 401 on ``path`` (RFC 9110 11.6.1)."""
    for prefix, realm in BASIC_REALMS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return f'Bearer, Basic realm="{realm}"'
    return "Bearer"


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)  # noqa: S101 - registered for AppError only
    headers = exc.headers
    if "WWW-Authenticate" in headers:
        headers = {**headers, "WWW-Authenticate": challenge(request.url.path)}
    return error_response(exc.status_code, exc.message, headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    return error_response(400, validation_message(exc.errors()))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    if exc.status_code == 404:
        message = f"No such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, message, dict(exc.headers or {}))


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "-")
    log.error("database unreachable request_id=%s: %s", request_id, type(exc).__name__)
    return error_response(503, "The database is unreachable; try again shortly.", {"Retry-After": "5"})


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    """Last resort, for a failure outside UnhandledErrors (in the outer middleware itself)."""
    request_id = getattr(request.state, "request_id", "-")
    log_unhandled(request_id, exc)
    return error_response(500, internal_error_message(request_id), {"X-Request-ID": request_id})


def internal_error_message(request_id: str) -> str:
    return f"Internal server error (request id {request_id})."


def log_unhandled(request_id: str, exc: BaseException) -> None:
    """Log where an unexpected error arose: exception types and stack frames, never the exceptions' text,
    which may quote a value from a file ("invalid literal for int(): '<a patient's value>'")."""
    chain, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(type(current).__name__)
        current = current.__cause__ or current.__context__
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unhandled error request_id=%s: %s\n%s", request_id, " <- ".join(chain), stack.rstrip())


class UnhandledErrors:
    """An unexpected exception becomes a logged 500 {"error"} that the server sends like any other answer.

    Starlette's ServerErrorMiddleware sends its 500 and then raises again, and uvicorn closes the connection of
    any request that raised once its response has started: every keep-alive request queued behind it on the
    same connection is then reset. Here nothing is raised again, except when the response was already partly
    sent: closing the connection is then the only way to tell the client its body is cut short.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = complete = False

        async def tracking_send(message: Message) -> None:
            nonlocal started, complete
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body":
                complete = not message.get("more_body", False)
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            request_id = str(scope.get("state", {}).get("request_id", "-"))
            log_unhandled(request_id, exc)
            if started and not complete:
                raise
            if not started:  # the X-Request-ID header is added on the way out, like on every answer
                await error_response(500, internal_error_message(request_id))(scope, receive, send)


def validation_message(errors: Any) -> str:
    """FastAPI's validation errors as one readable sentence per problem."""
    parts = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
        where = ".".join(loc) or "request"
        if error.get("type") == "missing":
            parts.append(f"Parameter '{where}' is required.")
        else:
            parts.append(f"Parameter '{where}': {error.get('msg', 'is not valid')}.")
    return " ".join(parts) or "The request is not valid."


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Connection-level database failures (server down, network cut) are a 503, never a 500 with a trace.
    for unreachable in DATABASE_UNREACHABLE:
        app.add_exception_handler(unreachable, _database_down)
    app.add_exception_handler(Exception, _unhandled)
