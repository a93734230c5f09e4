"""The instrument first: the probe reports each kind of broken promise, and nothing when the answers are right."""

from __future__ import annotations

import httpx
import pytest

from tests.adversarial.probe import PNG_SIGNATURE, Probe
from tests.helpers import sample

DATA = sample("CT_small.dcm").read_bytes()
FILE_ID = "0" * 32


# What the fake answers instead of the right answer, for the requests each predicate picks.
BROKEN = {
    "500": lambda r: r.url.path == "/header_attribute" and httpx.Response(500, json={"error": "Internal error."}),
    "detail": lambda r: r.url.path == "/header_attribute" and httpx.Response(404, json={"detail": "Not Found"}),
    "empty-error": lambda r: r.url.path.startswith("/download/png") and httpx.Response(422, json={"error": " "}),
    "bytes": lambda r: r.method == "GET" and r.url.path.endswith("/dicom") and httpx.Response(200, content=DATA[:-1]),
    "not-png": lambda r: r.url.path.startswith("/download/png") and httpx.Response(200, content=b"GIF89a"),
    "kept": lambda r: r.method == "DELETE" and httpx.Response(204),  # answers done, deletes nothing
}


def _server(broken: str | None = None) -> httpx.Client:
    """A fake of the API whose answers are right, except the one named by ``broken``."""
    deleted: list[bool] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if broken == "raises" and request.url.path.endswith("/attributes"):
            raise ValueError("could not convert string to float")
        if broken in BROKEN and (wrong := BROKEN[broken](request)):
            return wrong
        return _right(request, deleted, keep=broken == "kept")

    return httpx.Client(base_url="http://api", transport=httpx.MockTransport(answer))


def _right(request: httpx.Request, deleted: list[bool], *, keep: bool) -> httpx.Response:
    path = request.url.path
    if request.method == "POST":
        return httpx.Response(201, json={"file_id": FILE_ID})
    if request.method == "DELETE":
        deleted.append(True)
        return httpx.Response(204)
    if path == f"/files/{FILE_ID}" and deleted and not keep:
        return httpx.Response(404, json={"error": "No DICOM file with this id."})
    if path.endswith("/dicom"):
        return httpx.Response(200, content=DATA)
    if path.startswith("/download/png"):
        return httpx.Response(200, content=PNG_SIGNATURE + b"rest")
    if path.endswith("/attributes"):
        return httpx.Response(200, json={"00100010": {"vr": "PN"}})
    return httpx.Response(200, json={"header_attributes": {}})


def _problems(broken: str | None) -> list[str]:
    probe = Probe(_server(broken))
    file_id = probe.upload(DATA)
    assert file_id == FILE_ID
    probe.read_everything(file_id, DATA)
    return probe.problems


def test_right_answers_give_no_problem() -> None:
    assert _problems(None) == []


@pytest.mark.parametrize(
    ("broken", "reported"),
    [
        ("raises", "unhandled ValueError: could not convert string to float"),
        ("500", "GET /header_attribute"),
        ("detail", "not of the form {'error': '...'}"),
        ("empty-error", "not of the form {'error': '...'}"),
        ("bytes", "differing from the"),
        ("not-png", "whose body is no PNG"),
        ("kept", "unexpected 200"),
    ],
)
def test_each_broken_promise_is_reported(broken: str, reported: str) -> None:
    problems = _problems(broken)
    assert problems, broken
    assert all(reported in p for p in problems), problems
