"""Every operation of the OpenAPI document, fuzzed by schemathesis with fixed cases, as a user and as the admin.

Valid and invalid requests alike (schemathesis generates both): no answer is a 5xx, and every 4xx is
{"error": "<message>"}. Requests go through the in-process app; a failure prints the case to reproduce it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from dicom_api.main import create_app
from tests.adversarial.probe import error_message
from tests.helpers import ADMIN_PASSWORD, login, make_client, settings_for

MAX_EXAMPLES = 15  # per operation and account: about a minute for the whole document
_SENT = ("method", "url", "headers", "params", "cookies", "json", "data", "files")


def _document() -> dict[str, Any]:
    """The document /openapi.json serves. Building the app starts nothing (no database, no files: that is the
    lifespan's work), so it can be done at collection, which gives one test per operation."""
    unused = Path(tempfile.gettempdir()) / "dicom-api-openapi"
    return create_app(settings_for(unused, database_url=f"sqlite:///{unused / 'unused.db'}")).openapi()


@schemathesis.serializer('multipart/related; type="application/dicom"', "application/dicom")
def _raw_body(_context: Any, value: Any) -> bytes:
    """STOW-RS bodies (binary strings in the schema) sent as the bytes generated: framing errors to find."""
    return value if isinstance(value, bytes) else str(value).encode()


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture(scope="module", params=["user", "admin"])
def fuzzed_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The in-process app, its own database, every request carrying the bearer token of a regular user, or of
    the administrator (who reaches the account and audit operations a user is refused)."""
    settings = settings_for(tmp_path_factory.mktemp("fuzz") / "data")
    for client in make_client(settings, as_user="fuzzer" if request.param == "user" else None):
        if request.param == "admin":
            client.headers["Authorization"] = f"Bearer {login(client, 'admin', ADMIN_PASSWORD)}"
        yield client


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,  # the same cases on every run: a failure seen in CI is seen again locally
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_operation(case: schemathesis.Case, fuzzed_app: TestClient) -> None:
    response = fuzzed_app.request(**_for_httpx(case.as_transport_kwargs(base_url=str(fuzzed_app.base_url))))
    response.request.read()  # a multipart body is streamed: read it, for the check's report of the request
    case.validate_response(response, checks=[not_a_server_error])
    if 400 <= response.status_code < 500 and not _store_instances_answer(response):
        assert error_message(response) is not None, (
            f"{case.method} {case.formatted_path}: {response.status_code} with a body not of the form "
            f"{{'error': '...'}}: {response.text[:300]}\nReproduce with: {case.as_curl_command()}"
        )


def _store_instances_answer(response: Any) -> bool:
    """A STOW-RS 400 or 409 whose instances all failed: its body is the Store Instances Response (PS3.18 10.5.3,
    Annex I), each failure with its reason, as the standard wants it, not {"error"}."""
    content_type = response.headers.get("content-type", "")
    return response.status_code in (400, 409) and content_type in ("application/dicom+json", "application/dicom+xml")


def _for_httpx(sent: dict[str, Any]) -> dict[str, Any]:
    """schemathesis prepares keyword arguments for requests; httpx takes raw bodies as ``content`` and cookies
    on the client (what it would do with per-request cookies is deprecated)."""
    kwargs = {key: value for key, value in sent.items() if key in _SENT and value not in (None, {})}
    if isinstance(kwargs.get("data"), bytes | str) and "files" not in kwargs:
        kwargs["content"] = kwargs.pop("data")
    if "files" in kwargs:  # requests (urllib3) sends a part's number as its text; httpx wants bytes
        kwargs["files"] = [(name, _part(part)) for name, part in kwargs["files"]]
    if cookies := kwargs.pop("cookies", None):
        kwargs.setdefault("headers", {})["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return kwargs


def _part(part: Any) -> Any:
    if isinstance(part, tuple):
        return (part[0], _part(part[1]), *part[2:])
    return part if isinstance(part, bytes | str) or hasattr(part, "read") else str(part)
