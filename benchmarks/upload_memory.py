"""Upload one large DICOM file and measure what it costs the server.

Prints the upload throughput, the server's resident memory (the process and its render workers) before,
at its peak during and after the upload, and the time of one header read of Pixel Data on the file.

    python scripts/dev.py bench                      # 1 GiB to a server started here, data in a temp folder
    python scripts/dev.py bench --size-mib 256
    python benchmarks/upload_memory.py --url http://127.0.0.1:8080 --token <access token>

With --url, memory is measured only when the server listens on this machine and its process is visible.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.big_dicom import write_big_dicom  # noqa: E402 - after the path to the project
from tests.e2e.live import MultipartBody, RssSampler, run_server, tree_rss  # noqa: E402

MIB = 1024 * 1024


@dataclass(frozen=True)
class Target:
    url: str
    headers: dict[str, str]
    process: psutil.Process | None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the Pixel Data to upload (default 1024)")
    parser.add_argument("--url", help="a running server (default: start one here, like the end-to-end tests)")
    parser.add_argument("--token", default=os.environ.get("DICOM_API_TOKEN"), help="bearer token for --url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dicom-api-bench-") as tmp:
        workdir = Path(tmp)
        print(f"writing a {args.size_mib} MiB DICOM file ...", flush=True)
        big = write_big_dicom(workdir / "big.dcm", args.size_mib * MIB)
        with _target(args, workdir) as target:
            _measure(target, big.path, big.frames)
    return 0


@contextlib.contextmanager
def _target(args: argparse.Namespace, workdir: Path) -> Iterator[Target]:
    if args.url:
        headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
        yield Target(args.url.rstrip("/"), headers, _listening_process(args.url))
        return
    with run_server(workdir) as server:
        yield Target(server.url, dict(server.headers), server.process)


def _listening_process(url: str) -> psutil.Process | None:
    address = urlsplit(url)
    if address.hostname not in {"127.0.0.1", "localhost", "::1"}:
        return None
    port = address.port or 80
    with contextlib.suppress(psutil.AccessDenied):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return psutil.Process(conn.pid)
    return None


def _measure(target: Target, path: Path, frames: int) -> None:
    body = MultipartBody(path)
    headers = {**target.headers, "content-type": body.content_type, "content-length": str(len(body))}
    size = path.stat().st_size
    with httpx.Client(base_url=target.url, headers=target.headers, timeout=3600) as api:
        sampler = RssSampler(target.process) if target.process else None
        with sampler or contextlib.nullcontext():
            started = time.perf_counter()
            response = api.post("/upload/dicom", content=body, headers=headers)
            seconds = time.perf_counter() - started
        if response.status_code != 201:
            sys.exit(f"upload failed: {response.status_code} {response.text}")
        file_id = response.json()["file_id"]
        try:
            print(f"file         {size / MIB:.1f} MiB ({frames} frames of 512x512x16 bits)")
            print(f"upload       {seconds:.2f} s, {size / MIB / seconds:.0f} MiB/s")
            for label, group, element in (("Pixel Data", "7FE0", "0010"), ("Patient's Name", "0010", "0010")):
                params = {"file_id": file_id, "tag_group": group, "tag_element": element}
                started = time.perf_counter()
                answer = api.get("/header_attribute", params=params)
                answer.raise_for_status()
                print(f"header read  ({group},{element}) {label}: {(time.perf_counter() - started) * 1000:.1f} ms")
            if sampler and target.process:
                after = tree_rss(target.process)
                print(
                    f"server RSS   before {sampler.before / MIB:.1f} MiB, peak {sampler.peak / MIB:.1f} MiB, "
                    f"after {after / MIB:.1f} MiB; growth {sampler.growth / MIB:.1f} MiB "
                    f"({sampler.samples} samples, every 50 ms)"
                )
            else:
                print("server RSS   not measured: no local process listens on that port")
        finally:
            api.delete(f"/files/{file_id}").raise_for_status()


if __name__ == "__main__":
    sys.exit(main())
