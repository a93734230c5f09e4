"""Orthanc with its DICOMweb plugin as a process: a DICOMweb client of our server, driven through its REST API."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.e2e.live import HOST, free_port, terminate, wait_answering

SERVER_NAME = "us"  # how Orthanc's configuration names our server (DicomWeb.Servers)


class OrthancDidNotStart(RuntimeError):
    """Orthanc exited or did not answer /system in time; the message ends with its log."""


@dataclass(frozen=True)
class Orthanc:
    url: str
    log: Path

    def client(self, timeout: float = 120) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def read_log(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else "(no log)"


def configuration(workdir: Path, plugin: Path, http_port: int, server: Mapping[str, object]) -> dict[str, object]:
    """An Orthanc of its own: storage in ``workdir``, HTTP on loopback only, no DICOM listener, no sign-in
    (nothing but this test reaches a loopback port it picked), and ``server`` as the DICOMweb server "us"."""
    storage = workdir / "storage"
    return {
        "Name": "dicom-api-client-test",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": http_port,
        "DicomServerEnabled": False,
        "DicomPort": free_port(),  # unused while the DICOM server is off, but kept off the default 4242
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "SslEnabled": False,
        "HttpTimeout": 60,
        "StableAge": 1,
        "Plugins": [str(plugin)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "Servers": {SERVER_NAME: dict(server)}},
    }


@contextlib.contextmanager
def run_orthanc(program: Path, plugin: Path, workdir: Path, server: Mapping[str, object]) -> Iterator[Orthanc]:
    """Orthanc on a free loopback port with ``server`` (an entry of DicomWeb.Servers) as "us"; stopped on exit."""
    port = free_port()
    config = workdir / "orthanc.json"
    config.write_text(json.dumps(configuration(workdir, plugin, port, server), indent=2), encoding="utf-8")
    log = workdir / "orthanc.log"
    with log.open("wb") as log_file:
        popen = subprocess.Popen([str(program), "--verbose", str(config)], stdout=log_file, stderr=subprocess.STDOUT)
    orthanc = Orthanc(f"http://{HOST}:{port}", log)
    try:
        wait_answering(f"{orthanc.url}/system", popen, "Orthanc", orthanc.read_log, OrthancDidNotStart)
        yield orthanc
    finally:
        terminate(popen)
