"""An unexpected exception is a logged 500 {"error"} sent like any other answer: nothing is raised again (the
server would close the connection), and the log says where it arose without the exception's text."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient

from dicom_api.config import Settings
from dicom_api.db.migrate import upgrade
from dicom_api.main import create_app
from tests.helpers import ADMIN_PASSWORD, login

SECRET = "Quibbleworth^Zyxwvut"  # stands for a value from a file, quoted by an exception


def _fail() -> None:
    raise ValueError(f"invalid literal for int() with base 10: {SECRET!r}")


def _cut_short() -> StreamingResponse:
    def body() -> Iterator[bytes]:
        yield b"first part"
        raise ConnectionAbortedError(SECRET)

    return StreamingResponse(body(), media_type="application/octet-stream")


def _app(settings: Settings) -> FastAPI:
    upgrade(settings.database_url)
    app = create_app(settings)
    app.add_api_route("/test/fail", _fail, methods=["GET"])
    app.add_api_route("/test/cut-short", _cut_short, methods=["GET"])
    return app


def test_an_unexpected_error_is_answered_and_not_raised_again(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # raise_server_exceptions: the test client raises whatever the app raises, as a server would see it
    with TestClient(_app(settings), raise_server_exceptions=True) as client:
        response = client.get("/test/fail")
        assert response.status_code == 500
        request_id = response.headers["x-request-id"]
        assert response.json() == {"error": f"Internal server error (request id {request_id})."}
        assert client.get("/health").status_code == 200
    errors = [r for r in caplog.records if r.name == "dicom_api.errors"]
    assert len(errors) == 1
    assert "ValueError" in errors[0].getMessage()
    assert request_id in errors[0].getMessage()
    assert "_fail" in errors[0].getMessage()  # where it arose
    access = [r for r in caplog.records if r.name == "dicom_api.access" and "/test/fail" in r.getMessage()]
    assert [r.http["status"] for r in access] == [500]  # type: ignore[attr-defined]
    assert SECRET not in caplog.text


def test_a_response_cut_short_still_closes_the_connection(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """Its status is sent already: only closing the connection tells the client the body is incomplete."""
    with TestClient(_app(settings), raise_server_exceptions=True) as client, pytest.raises(ConnectionAbortedError):
        client.get("/test/cut-short")
    assert "ConnectionAbortedError" in caplog.text
    assert SECRET not in caplog.text


def test_real_routes_keep_working_after_an_unexpected_error(settings: Settings) -> None:
    with TestClient(_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {login(client, 'admin', ADMIN_PASSWORD)}"
        assert client.get("/test/fail").status_code == 500
        assert client.get("/files").status_code == 200
