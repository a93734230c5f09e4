"""Getting a CT series in, side by side with Orthanc: C-STORE with dcmtk's storescu to this service's receiver
and to Orthanc's DICOM port, and `dicom-api upload` over HTTP, in one run on this machine.

    python scripts/dev.py bench ingest               # a 1,000-slice 512x512 CT series (about 0.5 GB)
    python scripts/dev.py bench ingest --count 100   # a smoke run

storescu sends the series over one association, one instance after the other, as a modality does; the uploader
sends 4 files at a time (--jobs). Prints, for each, the wall time, instances per second and the resident memory
of the server's process tree before and at its peak (sampled every 50 ms).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_corpus import build_corpus  # noqa: E402 - after the paths
from tests.e2e.live import HOST, RssSampler, free_port, run_server  # noqa: E402
from versus_orthanc import run_orthanc  # noqa: E402

MB = 1024 * 1024


def timed(label: str, target: str, process: object, count: Callable[[], int], run: Callable[[], None]) -> list[str]:
    before = count()
    with RssSampler(process) as rss:  # type: ignore[arg-type]
        start = time.perf_counter()
        run()
        seconds = time.perf_counter() - start
    stored = count() - before
    return [label, target, str(stored), f"{seconds:.1f}", f"{stored / seconds:.0f}",
            f"{rss.before / MB:.0f}", f"{rss.peak / MB:.0f}"]  # fmt: skip


def storescu(port: int, called: str, folder: Path) -> None:
    command = ["storescu", "-aet", "BENCH", "-aec", called, HOST, str(port), "+sd", str(folder)]
    subprocess.run(command, check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="slices of the CT series (default 1000)")
    parser.add_argument("--jobs", type=int, default=4, help="files the uploader sends at a time")
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "dicom-api-bench-ingest")
    parser.add_argument("--orthanc-bin", default=shutil.which("Orthanc") or "/usr/sbin/Orthanc")
    args = parser.parse_args()
    series = build_corpus(args.corpus, ct_count=args.count).ct[0].parent
    rows = []
    with tempfile.TemporaryDirectory(prefix="ingest-") as tmp:
        workdir, ours, theirs = Path(tmp), free_port(), free_port()
        env = {"DICOM_API_LOG_LEVEL": "warning", "DICOM_API_DIMSE_PORT": str(ours), "TMPDIR": tmp,
               "DICOM_API_ADMIN_PASSWORD": secrets.token_urlsafe(18),
               "DICOM_API_JWT_SECRET": secrets.token_urlsafe(32)}  # fmt: skip
        (workdir / "service").mkdir()
        with (
            run_orthanc(workdir, args.orthanc_bin, None, dicom_port=theirs) as orthanc,
            run_server(workdir / "service", env) as live,
            live.client() as api,
        ):
            api.post("/admin/aes", json={"ae_title": "BENCH", "username": "admin"}).raise_for_status()

            def ours_count() -> int:
                return int(api.get("/files", params={"limit": 1}).json()["total"])

            def orthanc_count() -> int:
                return int(httpx.get(f"{orthanc.url}/statistics").json()["CountInstances"])

            def upload() -> None:
                token = live.headers["Authorization"].removeprefix("Bearer ")
                command = [sys.executable, "-m", "dicom_api.cli", "upload", "--url", live.url, "--token", token,
                           "--jobs", str(args.jobs), str(series)]  # fmt: skip
                subprocess.run(command, check=True, capture_output=True)

            rows.append(timed("C-STORE, storescu", "Orthanc", orthanc.process, orthanc_count,
                              lambda: storescu(theirs, "ORTHANC", series)))  # fmt: skip
            rows.append(timed("C-STORE, storescu", "DICOM API", live.process, ours_count,
                              lambda: storescu(ours, "DICOMAPI", series)))  # fmt: skip
            rows.append(timed(f"HTTP, dicom-api upload --jobs {args.jobs}", "DICOM API", live.process, ours_count,
                              upload))  # fmt: skip
    header = ["how", "target", "instances", "wall s", "instances/s", "RSS before MB", "RSS peak MB"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
