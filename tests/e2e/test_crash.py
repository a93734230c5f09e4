"""`kill -9` of a running server, then a restart on the same data folder: nothing is left behind, and every
acknowledged upload is there whole, with its row, its blob and its audit entry, in an audit trail that verifies.

Once in the middle of a large upload's body, once right after a burst of acknowledged uploads (whose audit
entries used to wait up to 100 ms in the batching writer's queue).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests import databases
from tests.e2e.live import LiveServer, run_server
from tests.helpers import JWT_SECRET, sample

CT = sample("CT_small.dcm")
PASSWORD = "admin-password-for-crash-tests"


@dataclass(frozen=True)
class Acknowledged:
    file_id: str
    request_id: str
    sha256: str


@pytest.fixture
def environment() -> Iterator[dict[str, str]]:
    """What both runs of the server share besides the data folder: the admin's password and, on PostgreSQL,
    the database."""
    env = {"DICOM_API_ADMIN_PASSWORD": PASSWORD, "DICOM_API_JWT_SECRET": JWT_SECRET, "DICOM_API_RENDER_WORKERS": "1"}
    if databases.BACKEND != "postgres":
        yield env
        return
    with databases.lease() as url:
        yield {**env, "DICOM_API_DATABASE_URL": url}


def kill_hard(server: LiveServer) -> None:
    """SIGKILL (TerminateProcess on Windows): no shutdown code runs. Its render processes are killed after it,
    as a supervisor would; left alone they would outlive it."""
    children = server.process.children(recursive=True)
    server.process.kill()
    server.process.wait(30)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs(children, timeout=30)


def upload(client: httpx.Client, data: bytes) -> Acknowledged:
    response = client.post("/upload/dicom", files={"file": ("ct.dcm", data, "application/dicom")})
    assert response.status_code == 201, response.text
    return Acknowledged(response.json()["file_id"], response.headers["x-request-id"], hashlib.sha256(data).hexdigest())


def cli(server_env: dict[str, str], data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **server_env, "DICOM_API_DATA_DIR": str(data_dir), "DICOM_API_RENDER_WORKERS": "0"}
    command = [sys.executable, "-m", "dicom_api.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603


def assert_intact(server: LiveServer, env: dict[str, str], acknowledged: list[Acknowledged]) -> None:
    """Each acknowledged upload has its row, its blob byte for byte, and exactly one upload entry with its
    request id; `storage check` finds nothing wrong, `audit verify` an intact chain."""
    with server.client() as client:
        trail = client.get("/audit", params={"action": "upload", "limit": 1000})
        assert trail.status_code == 200, trail.text
        entries: dict[str, list[dict[str, object]]] = {}
        for entry in trail.json()["items"]:
            entries.setdefault(str(entry["file_id"]), []).append(entry)
        for done in acknowledged:
            assert client.get(f"/files/{done.file_id}").status_code == 200
            original = client.get(f"/files/{done.file_id}/dicom")
            assert hashlib.sha256(original.content).hexdigest() == done.sha256
            found = entries.get(done.file_id, [])
            assert len(found) == 1, f"acknowledged upload {done.file_id} has {len(found)} audit entries"
            [entry] = found
            assert (entry["request_id"], entry["outcome"], entry["status"]) == (done.request_id, "success", 201)
    check = cli(env, server.data_dir, "storage", "check")
    assert (check.returncode, check.stdout.strip()) == (0, "0 problem(s) left"), check.stdout + check.stderr
    verify = cli(env, server.data_dir, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "intact" in verify.stdout


def spooled(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "spool").rglob("*.upload"))


class SlowUpload(threading.Thread):
    """A multipart upload sent 256 KiB every 20 ms until the server goes away, or until ``stop`` (then the body
    ends before the file part does)."""

    def __init__(self, server: LiveServer) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.status: int | None = None

    def body(self) -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.dcm"\r\n\r\n'
        while not self.stop.is_set():
            yield bytes(256 * 1024)
            time.sleep(0.02)

    def run(self) -> None:
        headers = {**self.server.headers, "Content-Type": "multipart/form-data; boundary=b"}
        try:
            response = httpx.post(f"{self.server.url}/upload/dicom", content=self.body(), headers=headers, timeout=120)
            self.status = response.status_code
        except httpx.TransportError as exc:  # the server was killed under it
            self.error = exc


def wait_for_spool(data_dir: Path, size: int, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in spooled(data_dir):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_size >= size:
                    return path
        time.sleep(0.05)
    raise AssertionError(f"no spool file reached {size} bytes in {timeout} s")


def test_kill_9_in_the_middle_of_an_upload_leaves_nothing_behind(tmp_path: Path, environment: dict[str, str]) -> None:
    data = CT.read_bytes()
    with run_server(tmp_path, environment) as server:
        with server.client() as client:
            acknowledged = [upload(client, data) for _ in range(3)]
        slow = SlowUpload(server)
        slow.start()
        cut_off = wait_for_spool(server.data_dir, 8 * 1024 * 1024)
        with server.client() as client:  # uploads acknowledged while the large one is still arriving
            acknowledged += [upload(client, data) for _ in range(3)]
        kill_hard(server)
        slow.join(60)
        assert slow.error is not None
        assert cut_off.is_file()  # what the crash left: the spool file of the cut-off upload
        data_dir = server.data_dir

    with run_server(tmp_path, environment) as server:
        assert server.data_dir == data_dir
        assert spooled(data_dir) == []  # removed by the start
        assert not cut_off.parent.exists()
        assert_intact(server, environment, acknowledged)


def test_kill_9_right_after_a_burst_of_uploads_loses_no_audit_entry(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    data = CT.read_bytes()
    with run_server(tmp_path, environment) as server:
        with server.client() as client, ThreadPoolExecutor(8) as pool:
            acknowledged = list(pool.map(lambda _: upload(client, data), range(24)))
        kill_hard(server)  # within milliseconds of the last 201

    with run_server(tmp_path, environment) as server:
        assert spooled(server.data_dir) == []
        assert_intact(server, environment, acknowledged)


def test_a_server_starting_on_the_same_data_leaves_a_live_servers_upload_alone(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    """Two servers on one data folder: the second one's start cleans the spool, but not the first one's upload
    still arriving."""
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    with run_server(tmp_path / "first", environment) as first:
        slow = SlowUpload(first)
        slow.start()
        arriving = wait_for_spool(first.data_dir, 4 * 1024 * 1024)
        shared = {**environment, "DICOM_API_DATA_DIR": str(first.data_dir)}
        with run_server(tmp_path / "second", shared) as second:
            size = arriving.stat().st_size
            wait_for_spool(first.data_dir, size + 4 * 1024 * 1024)  # still there, still growing
            with second.client() as client:
                upload(client, CT.read_bytes())
        slow.stop.set()
        slow.join(60)
        assert slow.status == 400  # the body ended inside the file: refused, and its spool file removed
        assert spooled(first.data_dir) == []
