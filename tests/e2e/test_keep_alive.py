"""Over a real socket: an unexpected error answered 500 leaves the keep-alive connection usable for the next
request (uvicorn closes the connection of any request whose application raised once its answer started)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from dicom_api.db.migrate import upgrade
from dicom_api.main import create_app
from tests.e2e.live import HOST, free_port
from tests.helpers import ADMIN_PASSWORD, sample, settings_for


def _fail() -> None:
    raise RuntimeError("an unexpected failure")


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """The app, with a route that fails unexpectedly, served by uvicorn on a loopback port in this process."""
    settings = settings_for(tmp_path / "data")
    upgrade(settings.database_url)
    app = create_app(settings)
    app.add_api_route("/test/fail", _fail, methods=["GET"])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "the server stopped"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def _local_address(response: httpx.Response) -> object:
    """The client side of the connection that carried ``response`` (None once that connection is closed)."""
    try:
        return response.extensions["network_stream"].get_extra_info("client_addr")
    except OSError:
        return None


def test_an_upload_after_a_500_uses_the_same_connection(url: str) -> None:
    with httpx.Client(base_url=url, timeout=60, limits=httpx.Limits(max_connections=1)) as client:
        token = client.post("/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        first = _local_address(token)
        failed = client.get("/test/fail")
        assert failed.status_code == 500
        assert set(failed.json()) == {"error"}
        assert failed.headers.get("connection", "").lower() != "close"
        assert _local_address(failed) == first
        upload = client.post("/upload/dicom", files={"file": ("ct.dcm", sample("CT_small.dcm").read_bytes())})
        assert upload.status_code == 201, upload.text
        assert _local_address(upload) == first  # the same connection carried all three
