"""The uploader's HTTP client against a scripted server: retries, back-off, refusals, an expiring token."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from dicom_api.uploader import client as client_module
from dicom_api.uploader.client import Client
from dicom_api.uploader.sources import Item

SHA = "a" * 64
Answer = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_SECONDS", (0.0, 0.0, 0.0))


@pytest.fixture
def item(tmp_path: Path) -> Item:
    path = tmp_path / "f.dcm"
    path.write_bytes(b"\0" * 128 + b"DICM" + b"x" * 100)
    return Item(str(path), path.stat().st_size, path)


def scripted(*answers: Answer | Exception) -> tuple[httpx.MockTransport, list[str]]:
    """A server that answers each request with the next of ``answers`` (an exception is a failed connection)."""
    queue, seen = list(answers), []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        request.read()
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer(request)

    return httpx.MockTransport(handle), seen


def status(code: int, body: object = None, headers: dict[str, str] | None = None) -> Answer:
    return lambda _request: httpx.Response(code, json=body if body is not None else {}, headers=headers)


def test_a_dropped_connection_and_a_503_are_retried_asking_first_whether_it_arrived(item: Item) -> None:
    transport, seen = scripted(
        httpx.ConnectError("refused"),
        status(200, {"stored": []}),
        status(503, {"error": "busy"}, {"Retry-After": "0"}),
        status(200, {"stored": []}),
        status(201, {"file_id": "f" * 32}),
    )
    outcome = Client("http://x", "token", threading.Event(), transport=transport).upload(item, SHA)
    assert (outcome.kind, outcome.detail) == ("stored", "f" * 32)
    assert seen == ["POST /upload/dicom", "POST /files/lookup"] * 2 + ["POST /upload/dicom"]


def test_an_upload_that_got_through_before_the_connection_dropped_is_not_sent_again(item: Item) -> None:
    transport, seen = scripted(httpx.ReadError("reset"), status(200, {"stored": [SHA]}))
    outcome = Client("http://x", "token", threading.Event(), transport=transport).upload(item, SHA)
    assert outcome.kind == "already"
    assert seen == ["POST /upload/dicom", "POST /files/lookup"]


def test_a_server_that_stays_away_fails_the_file_without_sending_it_twice(item: Item) -> None:
    seen: list[str] = []

    def away(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        raise httpx.ConnectError("refused")

    client = Client("http://x", "token", threading.Event(), transport=httpx.MockTransport(away))
    outcome = client.upload(item, SHA)
    assert (outcome.kind, outcome.detail) == ("failed", "ConnectError")
    assert seen.count("POST /upload/dicom") == 1  # each retry first asks whether it arrived, and cannot
    assert seen.count("POST /files/lookup") == 3  # once before each retry, itself not retried


def test_a_refusal_carries_the_servers_reason(item: Item) -> None:
    transport, _ = scripted(status(400, {"error": "The file is not a valid DICOM file."}))
    outcome = Client("http://x", "token", threading.Event(), transport=transport).upload(item, SHA)
    assert (outcome.kind, outcome.detail) == ("refused", "HTTP 400: The file is not a valid DICOM file.")


def test_an_expired_access_token_is_refreshed_once(item: Item) -> None:
    tokens = {"access_token": "second", "refresh_token": "r2", "expires_in": 900}
    first = {"access_token": "first", "refresh_token": "r1", "expires_in": 900}
    sent_with: list[str] = []

    def upload(request: httpx.Request) -> httpx.Response:
        sent_with.append(request.headers["authorization"])
        return httpx.Response(201 if request.headers["authorization"] == "Bearer second" else 401, json={})

    def refresh(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == {"refresh_token": "r1"}
        return httpx.Response(200, json=tokens)

    transport, seen = scripted(status(200, first), upload, refresh, status(200, {"stored": []}), upload)
    client = Client("http://x", None, threading.Event(), transport=transport)
    client.sign_in("jdoe", "password")
    assert client.upload(item, SHA).kind == "stored"
    assert sent_with == ["Bearer first", "Bearer second"]
    assert seen == ["POST /auth/token", "POST /upload/dicom", "POST /auth/refresh", "POST /files/lookup",
                    "POST /upload/dicom"]  # fmt: skip
