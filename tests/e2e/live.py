"""The server as a real process, driven over loopback HTTP: start and stop it, watch its memory, stream to it.

Free of pytest so that benchmarks/upload_memory.py starts and measures the server the same way the tests do.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import psutil

HOST = "127.0.0.1"
STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0
CHUNK = 1024 * 1024


class ServerDidNotStart(RuntimeError):
    """The server exited or did not answer /health in time; the message ends with its log."""


@dataclass(frozen=True)
class LiveServer:
    url: str
    process: psutil.Process
    data_dir: Path
    log: Path
    headers: Mapping[str, str]  # the admin's bearer token

    def client(self, timeout: float = 60) -> httpx.Client:
        """An HTTP client of this server, signed in."""
        return httpx.Client(base_url=self.url, headers=dict(self.headers), timeout=timeout)

    def stored(self) -> tuple[list[Path], list[Path]]:
        """Everything an upload can leave behind: blobs, and files in the upload spool (its lock files aside)."""
        spooled = [p for p in _files(self.data_dir / "spool") if p.suffix != ".lock"]
        return _files(self.data_dir / "blobs"), spooled


Launch = Callable[..., LiveServer]  # the e2e `launch` fixture: extra DICOM_API_* variables in, a running server out


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def run_server(workdir: Path, env: Mapping[str, str] | None = None) -> Iterator[LiveServer]:
    """`dicom-api serve` on a free loopback port with its data in ``workdir``; stopped (with its children) on exit.
    The admin's password is DICOM_API_ADMIN_PASSWORD when ``env`` sets it (servers sharing a database share it)."""
    data_dir = workdir / "data"
    log = workdir / "server.log"
    port = free_port()
    password = (env or {}).get("DICOM_API_ADMIN_PASSWORD") or secrets.token_urlsafe(24)
    environment = {
        **os.environ,
        "DICOM_API_DATA_DIR": str(data_dir),
        "DICOM_API_RENDER_WORKERS": "2",
        "DICOM_API_ADMIN_PASSWORD": password,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    command = [sys.executable, "-m", "dicom_api.cli", "serve", "--host", HOST, "--port", str(port)]
    with log.open("wb") as log_file:
        popen = subprocess.Popen(command, env=environment, stdout=log_file, stderr=subprocess.STDOUT)
    process = psutil.Process(popen.pid)
    url = f"http://{HOST}:{port}"
    try:
        wait_answering(f"{url}/health", popen, "the server", partial(_read, log), ServerDidNotStart)
        yield LiveServer(url, process, data_dir, log, _sign_in(url, password))
    finally:
        _stop(popen, process)


def wait_answering(
    probe: str, popen: subprocess.Popen[bytes], name: str, read_log: Callable[[], str], error: type[Exception]
) -> None:
    """Until GET ``probe`` answers 200: ``error``, with the process's log, when ``name`` exits first or gives
    no answer in STARTUP_SECONDS."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise error(f"{name} exited with code {popen.returncode}:\n{read_log()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(probe, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise error(f"no answer from {probe} in {STARTUP_SECONDS:.0f} s:\n{read_log()}")


def _sign_in(url: str, password: str) -> dict[str, str]:
    """Sign in as the first account, 'admin', whose password the server took from DICOM_API_ADMIN_PASSWORD."""
    response = httpx.post(f"{url}/auth/token", data={"username": "admin", "password": password}, timeout=30)
    if response.status_code != 200:
        raise ServerDidNotStart(f"signing in as admin failed: {response.status_code} {response.text}")
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _stop(popen: subprocess.Popen[bytes], process: psutil.Process) -> None:
    """Terminate the server, then whatever of its children outlived it (terminate does not reach them on Windows)."""
    try:
        children = process.children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    terminate(popen)
    _, alive = psutil.wait_procs(children, timeout=STOP_SECONDS)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def terminate(popen: subprocess.Popen[bytes]) -> None:
    """Terminate the process, killed when it has not ended in STOP_SECONDS."""
    popen.terminate()
    try:
        popen.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(STOP_SECONDS)


def _read(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace") if log.exists() else "(no log)"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and of every process it started (render workers), in bytes."""
    total = 0
    with contextlib.suppress(psutil.NoSuchProcess):
        for proc in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                total += proc.memory_info().rss
    return total


class RssSampler:
    """Samples the resident memory of a process tree every ``interval`` seconds in a thread, keeping the peak."""

    def __init__(self, process: psutil.Process, interval: float = 0.05) -> None:
        self._process = process
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.before = tree_rss(process)
        self.peak = self.before
        self.samples = 0

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, tree_rss(self._process))
            self.samples += 1

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(self._process))

    @property
    def growth(self) -> int:
        return self.peak - self.before


@dataclass(frozen=True)
class MultipartBody:
    """A multipart/form-data body with one part, ``file``, read from disk chunk by chunk as it is sent."""

    path: Path
    filename: str = "upload.dcm"
    boundary: str = ""

    def __post_init__(self) -> None:
        if not self.boundary:
            object.__setattr__(self, "boundary", uuid.uuid4().hex)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _head(self) -> bytes:
        return (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{self.filename}"\r\n'
            "Content-Type: application/dicom\r\n\r\n"
        ).encode()

    def _tail(self) -> bytes:
        return f"\r\n--{self.boundary}--\r\n".encode()

    def __len__(self) -> int:
        return len(self._head()) + self.path.stat().st_size + len(self._tail())

    def __iter__(self) -> Iterator[bytes]:
        yield self._head()
        with self.path.open("rb") as fp:
            while chunk := fp.read(CHUNK):
                yield chunk
        yield self._tail()
