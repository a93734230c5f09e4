"""moto's standalone S3 server on loopback, for the integration and e2e tests (fixtures in tests/conftest.py).

One shared server per test process; a test that stops and restarts S3 starts its own MotoServer.
"""

from __future__ import annotations

import atexit
import functools
import ipaddress
import socket
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlparse

import boto3

HOST = "127.0.0.1"
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:  # a free port; the server binds it a moment later
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class MotoServer:
    """moto's S3 server as a process on a loopback port; stop() and start() again keep the port (the buckets,
    held in memory, are gone after a restart)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://{HOST}:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> MotoServer:
        command = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)]
        self._process = process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                return self
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto's S3 server did not start on port {self.port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@functools.cache
def moto_endpoint() -> str:
    """The shared server: started on first use, stopped when the test process exits."""
    server = MotoServer().start()
    atexit.register(server.stop)
    return server.endpoint


def moto_settings(endpoint: str) -> dict[str, str]:
    """Settings that reach the test server, with dummy credentials (never the process environment)."""
    return {
        "s3_endpoint_url": endpoint,
        "s3_region": "us-east-1",
        "s3_access_key_id": "testing",
        "s3_secret_access_key": "testing",
    }


def moto_environment(endpoint: str, bucket: str, prefix: str = "prefix") -> dict[str, str]:
    """The same, as the DICOM_API_* variables of a server process storing under s3://bucket/prefix."""
    settings = {"storage_url": f"s3://{bucket}/{prefix}", **moto_settings(endpoint)}
    return {f"DICOM_API_{name.upper()}": value for name, value in settings.items()}


def bucket_client(endpoint: str, bucket: str) -> Any:
    """A client for creating and emptying buckets: only on loopback, only buckets named test-*."""
    host = urlparse(endpoint).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise RuntimeError(f"refusing to touch buckets on a non-loopback S3 endpoint: {endpoint}")
    if not bucket.startswith("test-"):
        raise RuntimeError(f"refusing to touch a bucket not named test-*: {bucket}")
    return _client_of(endpoint)


@functools.cache
def _client_of(endpoint: str) -> Any:
    s = moto_settings(endpoint)
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=s["s3_region"],
        aws_access_key_id=s["s3_access_key_id"],
        aws_secret_access_key=s["s3_secret_access_key"],
    )


def create_bucket(endpoint: str, bucket: str) -> None:
    bucket_client(endpoint, bucket).create_bucket(Bucket=bucket)


def remove_bucket(endpoint: str, bucket: str) -> None:
    """Delete every object version (a versioned bucket keeps them), then the bucket."""
    client = bucket_client(endpoint, bucket)
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            client.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
    client.delete_bucket(Bucket=bucket)


def s3_objects(endpoint: str, bucket: str) -> list[str]:
    """Every object key in the bucket, prefix included, as S3 itself lists them."""
    pages = bucket_client(endpoint, bucket).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
