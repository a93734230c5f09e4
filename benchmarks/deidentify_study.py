"""De-identify a whole study as a job and measure its rate and the server's memory.

Uploads a study of synthetic 512x512 CT slices (benchmarks/synthetic.py), starts
POST /dicomweb/studies/{study}/deidentify, polls GET /jobs/{id} until it is done, and prints instances/s and
the server's resident memory (the process and its render workers) before, at its peak during and after the
job. Run with two sizes to see the memory stay flat (one instance in memory at a time, whatever the study's
size):

    python scripts/dev.py bench deidentify_study --instances 100
    python scripts/dev.py bench deidentify_study --instances 400
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.synthetic import ct_slice  # noqa: E402 - after the path to the project
from tests.e2e.live import RssSampler, run_server, tree_rss  # noqa: E402

MIB = 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200, help="instances in the study (default 200)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dicom-api-bench-") as tmp, run_server(Path(tmp)) as server:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=600) as api:
            study = _upload_study(api, args.instances)
            sampler = RssSampler(server.process)
            with sampler:
                started = time.perf_counter()
                answer = api.post(f"/dicomweb/studies/{study}/deidentify")
                if answer.status_code != 202:
                    sys.exit(f"the job was not started: {answer.status_code} {answer.text}")
                job = _wait(api, answer.json()["status_url"])
                seconds = time.perf_counter() - started
            if job["state"] != "done":
                sys.exit(f"the job {job['state']}: {job['error']}")
            done = len(job["result"]["file_ids"])
            print(f"study        {args.instances} instances of 512x512x16 bits, {len(job['result']['errors'])} refused")
            print(f"job          {seconds:.2f} s, {done / seconds:.1f} instances/s")
            print(
                f"server RSS   before {sampler.before / MIB:.1f} MiB, peak {sampler.peak / MIB:.1f} MiB, "
                f"after {tree_rss(server.process) / MIB:.1f} MiB; growth {sampler.growth / MIB:.1f} MiB"
            )
    return 0


def _upload_study(api: httpx.Client, count: int) -> str:
    first = ct_slice()
    study, series = first.StudyInstanceUID, first.SeriesInstanceUID
    for number in range(count):
        ds = ct_slice(seed=number % 8)  # a few distinct images: generating each costs more than sending it
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.InstanceNumber = study, series, number + 1
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        response = api.post("/upload/dicom", files={"file": ("slice.dcm", buffer.getvalue(), "application/dicom")})
        response.raise_for_status()
    return str(study)


def _wait(api: httpx.Client, url: str) -> dict[str, object]:
    while True:
        job: dict[str, object] = api.get(url).raise_for_status().json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
