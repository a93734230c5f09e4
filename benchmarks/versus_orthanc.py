"""Side by side with Orthanc: the same corpus, the same client, both servers on this machine, in one run.

    python scripts/dev.py bench versus_orthanc                 # about 15 minutes on 2 cores
    python scripts/dev.py bench versus_orthanc --quick         # a smoke run, about 2 minutes
    python scripts/dev.py bench versus_orthanc --dicomweb      # DICOMweb beside Orthanc's plugin (dicomweb_versus.py)

It builds its corpus (a 512x512 CT series, a 2500x2000 radiograph, a 100-frame 512x512 file and every image of
pydicom's test files and of pydicom-data that pydicom decodes), starts Orthanc (Debian's `orthanc` and
`orthanc-dicomweb`) and this service on loopback ports with their data in a temporary folder, and drives both,
one after the other within each repeat, with one asyncio client (aiohttp: its CPU per request is a fifth of
httpx's, so the servers saturate before the client does). Figures per phase: throughput, latency percentiles,
server CPU milliseconds per operation (user + system time of the server's whole process tree, the figure a
noisy machine disturbs least) and peak resident memory; ratios are this service over Orthanc, per repeat.
Writes results.json and results.md to --out and prints the Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_corpus import Corpus, build_corpus  # noqa: E402 - after the paths
from tests.e2e.big_dicom import write_big_dicom  # noqa: E402
from tests.e2e.live import HOST, MultipartBody, RssSampler, free_port, run_server  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
TAGS = [(0x0010, 0x0010), (0x0010, 0x0020), (0x0008, 0x0060), (0x0020, 0x000D), (0x0028, 0x0010), (0x0028, 0x1050)]
GIB = 1024**3


# --- measuring a phase ---------------------------------------------------------------------------------------


def tree_cpu(process: psutil.Process) -> float:
    """User + system seconds of a process and every process it started (render workers, uvicorn workers)."""
    total = 0.0
    with contextlib.suppress(psutil.NoSuchProcess):
        for proc in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                times = proc.cpu_times()
                total += times.user + times.system + getattr(times, "children_user", 0.0)
    return total


@dataclass
class Phase:
    scenario: str
    target: str
    variant: str
    concurrency: int
    ops: int = 0
    failed: int = 0
    seconds: float = 0.0
    cpu_ms_per_op: float = 0.0
    client_ms_per_op: float = 0.0
    rss_before_mb: float = 0.0
    rss_peak_mb: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def row(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "latencies_ms"}
        data.update(per_second=self.per_second, p50=self.percentile(50), p95=self.percentile(95))
        data["p99"] = self.percentile(99)
        return data


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Call:
    """One request and what makes its answer a success."""

    method: str
    url: str
    ok: frozenset[int]
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    png: bool = False


Answer = tuple[int, bytes]


async def send(session: aiohttp.ClientSession, call: Call) -> Answer:
    async with session.request(call.method, call.url, data=call.body, headers=call.headers) as response:
        return response.status, await response.read()


def succeeded(call: Call, answer: Answer) -> bool:
    status, body = answer
    return status in call.ok and (not call.png or body.startswith(PNG))


async def drive(
    session: aiohttp.ClientSession,
    process: psutil.Process,
    phase: Phase,
    calls: Iterable[Call],
    on_answer: Callable[[int, Answer], None] | None = None,
) -> Phase:
    """Send ``calls`` with ``phase.concurrency`` in flight; time each; measure the server tree's CPU and RSS."""
    queue = iter(enumerate(calls))

    async def worker() -> None:
        for index, call in queue:
            started = time.perf_counter()
            try:
                answer = await send(session, call)
            except (aiohttp.ClientError, TimeoutError) as exc:
                answer = (0, type(exc).__name__.encode())
            phase.latencies_ms.append((time.perf_counter() - started) * 1000)
            key = str(answer[0])
            phase.statuses[key] = phase.statuses.get(key, 0) + 1
            if succeeded(call, answer):
                phase.ops += 1
            else:
                phase.failed += 1
            if on_answer is not None:
                on_answer(index, answer)

    cpu_before, client_before = tree_cpu(process), time.process_time()
    with RssSampler(process, interval=0.02) as rss:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(phase.concurrency)))
        phase.seconds = time.perf_counter() - started
    count = max(1, phase.ops + phase.failed)
    phase.cpu_ms_per_op = (tree_cpu(process) - cpu_before) * 1000 / count
    phase.client_ms_per_op = (time.process_time() - client_before) * 1000 / count
    phase.rss_before_mb, phase.rss_peak_mb = rss.before / 2**20, rss.peak / 2**20
    return phase


# --- the two servers -------------------------------------------------------------------------------------------


class Target:
    """How one server is asked for the contract's operations; ``variants`` name its render and header endpoints."""

    name = ""
    render_variants: tuple[str, ...] = ()
    header_variants: tuple[str, ...] = ()
    process: psutil.Process
    url: str
    headers: dict[str, str]

    def upload(self, data: bytes) -> Call:
        raise NotImplementedError

    def file_id(self, body: bytes) -> str:
        raise NotImplementedError

    def render(self, file_id: str, variant: str) -> Call:
        raise NotImplementedError

    def header(self, file_id: str, tag: tuple[int, int], variant: str) -> Call:
        raise NotImplementedError

    def delete(self, file_id: str) -> Call:
        raise NotImplementedError

    def stream_upload(self, path: Path) -> tuple[int, float]:
        """Upload a file far larger than memory, streamed from disk: status and seconds."""
        raise NotImplementedError


class Service(Target):
    name = "dicom-api"
    render_variants = ("png",)
    header_variants = ("attribute",)
    BOUNDARY = "versus-orthanc-boundary"

    def __init__(self, url: str, process: psutil.Process, headers: dict[str, str]) -> None:
        self.url, self.process, self.headers = url, process, dict(headers)

    def upload(self, data: bytes) -> Call:
        head = (
            f'--{self.BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.dcm"\r\n'
            "Content-Type: application/dicom\r\n\r\n"
        ).encode()
        body = head + data + f"\r\n--{self.BOUNDARY}--\r\n".encode()
        headers = {**self.headers, "Content-Type": f"multipart/form-data; boundary={self.BOUNDARY}"}
        return Call("POST", f"{self.url}/upload/dicom", frozenset({201}), body, headers)

    def file_id(self, body: bytes) -> str:
        return str(json.loads(body)["file_id"])

    def render(self, file_id: str, variant: str) -> Call:  # noqa: ARG002 - the one variant
        return Call("GET", f"{self.url}/download/png/{file_id}", frozenset({200}), headers=self.headers, png=True)

    def header(self, file_id: str, tag: tuple[int, int], variant: str) -> Call:  # noqa: ARG002 - the one variant
        query = f"file_id={file_id}&tag_group={tag[0]:04X}&tag_element={tag[1]:04X}"
        return Call("GET", f"{self.url}/header_attribute?{query}", frozenset({200}), headers=self.headers)

    def delete(self, file_id: str) -> Call:
        return Call("DELETE", f"{self.url}/files/{file_id}", frozenset({204}), headers=self.headers)

    def stream_upload(self, path: Path) -> tuple[int, float]:
        import httpx

        body = MultipartBody(path)
        headers = {**self.headers, "Content-Type": body.content_type, "Content-Length": str(len(body))}
        started = time.perf_counter()
        response = httpx.post(f"{self.url}/upload/dicom", content=iter(body), headers=headers, timeout=600)
        return response.status_code, time.perf_counter() - started


class Orthanc(Target):
    name = "orthanc"
    render_variants = ("rendered",)
    header_variants = ("content", "tags")

    def __init__(self, url: str, process: psutil.Process) -> None:
        self.url, self.process, self.headers = url, process, {}

    def upload(self, data: bytes) -> Call:
        return Call("POST", f"{self.url}/instances", frozenset({200}), data, {"Content-Type": "application/dicom"})

    def file_id(self, body: bytes) -> str:
        return str(json.loads(body)["ID"])

    def render(self, file_id: str, variant: str) -> Call:
        return Call("GET", f"{self.url}/instances/{file_id}/{variant}", frozenset({200}), png=True,
                    headers={"Accept": "image/png"})  # fmt: skip

    def header(self, file_id: str, tag: tuple[int, int], variant: str) -> Call:
        if variant == "tags":
            return Call("GET", f"{self.url}/instances/{file_id}/tags?simplify", frozenset({200}))
        return Call("GET", f"{self.url}/instances/{file_id}/content/{tag[0]:04x}-{tag[1]:04x}", frozenset({200}))

    def delete(self, file_id: str) -> Call:
        return Call("DELETE", f"{self.url}/instances/{file_id}", frozenset({200}))

    def stream_upload(self, path: Path) -> tuple[int, float]:
        import httpx

        def chunks() -> Iterator[bytes]:
            with path.open("rb") as fp:
                while chunk := fp.read(1 << 20):
                    yield chunk

        headers = {"Content-Type": "application/dicom", "Content-Length": str(path.stat().st_size)}
        started = time.perf_counter()
        response = httpx.post(f"{self.url}/instances", content=chunks(), headers=headers, timeout=600)
        return response.status_code, time.perf_counter() - started


ORTHANC_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


@contextlib.contextmanager
def run_orthanc(workdir: Path, binary: str, plugin: Path | None, dicom_port: int | None = None) -> Iterator[Orthanc]:
    """Orthanc with the benchmark's configuration: loopback only, its storage in ``workdir``, fsync on (as ours);
    its DICOM port too when ``dicom_port`` is given (AE title ORTHANC, storage from any calling AE)."""
    port = free_port()
    storage = workdir / "orthanc"
    storage.mkdir(parents=True)
    config = {
        "Name": "versus",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "StorageCompression": False,
        "SyncStorageArea": True,  # durable before it answers, as this service's uploads are
        "MaximumStorageCacheSize": 128,
        "OverwriteInstances": False,
        "Plugins": [str(plugin)] if plugin and plugin.exists() else [],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "HttpPort": port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "HttpCompressionEnabled": False,
        "KeepAlive": True,
        "TcpNoDelay": True,
        "HttpThreadsCount": 50,
        "OrthancExplorerEnabled": False,
        "DicomServerEnabled": dicom_port is not None,
        "DicomPort": dicom_port or 4242,
        "DicomAet": "ORTHANC",
        "DicomAlwaysAllowStore": True,
        "DicomCheckCalledAet": False,
        "WebDavEnabled": False,
        "SaveJobs": False,
        "LuaScripts": [],
    }
    (workdir / "orthanc.json").write_text(json.dumps(config, indent=2))
    log = (workdir / "orthanc.log").open("wb")
    popen = subprocess.Popen([binary, str(workdir / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{HOST}:{port}"
    try:
        _wait(f"{url}/system", popen)
        yield Orthanc(url, psutil.Process(popen.pid))
    finally:
        popen.terminate()
        try:
            popen.wait(30)
        except subprocess.TimeoutExpired:
            popen.kill()
        log.close()


def _wait(url: str, popen: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"{url} exited with code {popen.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"no answer from {url}")


# --- scenarios -----------------------------------------------------------------------------------------------------


@dataclass
class Plan:
    repeats: int
    ct_count: int
    repeated_renders: int
    header_reads: int
    big_renders: int
    coverage: bool
    gib_upload: bool


class Run:
    def __init__(self, session: aiohttp.ClientSession, corpus: Corpus, plan: Plan) -> None:
        self.session, self.corpus, self.plan = session, corpus, plan
        self.ct = [p.read_bytes() for p in corpus.ct[: plan.ct_count]]
        self.phases: list[Phase] = []
        self.once: dict[str, dict[str, Any]] = {}

    async def _call(self, call: Call) -> Answer:
        return await send(self.session, call)

    async def clear(self, target: Target, ids: list[str]) -> None:
        for file_id in ids:
            await self._call(target.delete(file_id))
        ids.clear()

    async def upload_all(self, target: Target, concurrency: int, scenario: str | None) -> list[str]:
        """Upload the CT series; timed as ``scenario`` unless None. The new ids, in series order."""
        ids: list[str] = [""] * len(self.ct)

        def keep(index: int, answer: Answer) -> None:
            if answer[0] in (200, 201):
                ids[index] = target.file_id(answer[1])

        calls = [target.upload(data) for data in self.ct]
        phase = Phase(scenario or "untimed", target.name, "-", concurrency)
        await drive(self.session, target.process, phase, calls, keep)
        if scenario:
            self.phases.append(phase)
        return [i for i in ids if i]

    async def repeat(self, target: Target, ids: list[str]) -> list[str]:
        """One repeat of the series scenarios; returns the ids left stored."""
        await self.clear(target, ids)
        ids = await self.upload_all(target, 1, "upload/ct512")
        for variant in target.render_variants:  # the first render the server ever does of each instance
            if variant != target.render_variants[0]:
                await self.clear(target, ids)
                ids = await self.upload_all(target, 1, None)
            calls = [target.render(i, variant) for i in ids]
            self.phases.append(
                await drive(self.session, target.process, Phase("render_first", target.name, variant, 1), calls)
            )
        await self.clear(target, ids)
        ids = await self.upload_all(target, 8, "upload/ct512")
        for variant in target.render_variants:
            calls = [target.render(i, variant) for i in ids]
            self.phases.append(
                await drive(self.session, target.process, Phase("render_first", target.name, variant, 8), calls)
            )
        for concurrency in (1, 8):
            for variant in target.render_variants:
                calls = [target.render(ids[k % len(ids)], variant) for k in range(self.plan.repeated_renders)]
                phase = Phase("render_repeated", target.name, variant, concurrency)
                self.phases.append(await drive(self.session, target.process, phase, calls))
            for variant in target.header_variants:
                rng = random.Random(7)
                pairs = [(i, t) for i in ids for t in TAGS]
                calls = [target.header(*rng.choice(pairs), variant) for _ in range(self.plan.header_reads)]
                phase = Phase("attribute", target.name, variant, concurrency)
                self.phases.append(await drive(self.session, target.process, phase, calls))
        return ids

    async def big(self, target: Target) -> None:
        """Each large file: upload, first render, further renders, peak RSS of each; then deleted."""
        for label, path in (
            ("radiograph 2500x2000", self.corpus.radiograph),
            ("100 frames 512x512", self.corpus.multiframe),
        ):
            ids: list[str] = []

            def keep(_index: int, answer: Answer, ids: list[str] = ids) -> None:
                if answer[0] in (200, 201):
                    ids.append(target.file_id(answer[1]))

            upload = Phase(f"big/{label}/upload", target.name, "-", 1)
            self.phases.append(
                await drive(self.session, target.process, upload, [target.upload(path.read_bytes())], keep)
            )
            for variant in target.render_variants:
                for file_id in ids:
                    first = Phase(f"big/{label}/first render", target.name, variant, 1)
                    await drive(self.session, target.process, first, [target.render(file_id, variant)])
                    again = Phase(f"big/{label}/repeated render", target.name, variant, 1)
                    await drive(
                        self.session, target.process, again, [target.render(file_id, variant)] * self.plan.big_renders
                    )
                    self.phases += [first, again]
            await self.clear(target, ids)

    async def coverage(self, target: Target) -> None:
        """Every image of the mixed set, alone: stored, rendered, deleted."""
        rendered, refused = 0, []
        for path in self.corpus.mixed:
            status, body = await self._call(target.upload(path.read_bytes()))
            if status not in (200, 201):
                refused.append(f"{path.name}: upload {status}")
                continue
            file_id = target.file_id(body)
            call = target.render(file_id, target.render_variants[0])
            answer = await self._call(call)
            if succeeded(call, answer):
                rendered += 1
            else:
                refused.append(f"{path.name}: render {answer[0]}")
            await self._call(target.delete(file_id))
        self.once.setdefault(target.name, {})["coverage"] = {
            "files": len(self.corpus.mixed), "rendered": rendered, "not_rendered": refused,
        }  # fmt: skip

    async def errors(self, target: Target) -> None:
        """Bad input: what each server answers."""
        truncated = self.ct[0][: len(self.ct[0]) // 2]
        cases = {"empty file": b"", "text file": b"not a DICOM file\n" * 10, "DICOM cut in half": truncated}
        found: dict[str, str] = {}
        for label, data in cases.items():
            status, body = await self._call(target.upload(data))
            found[f"upload {label}"] = f"{status} {body[:80]!r}"
        status, body = await self._call(target.render("0" * 32, target.render_variants[0]))
        found["render of an unknown id"] = f"{status} {body[:80]!r}"
        self.once.setdefault(target.name, {})["errors"] = found

    def gib_upload(self, target: Target, path: Path) -> None:
        with RssSampler(target.process, interval=0.02) as rss:
            status, seconds = target.stream_upload(path)
        self.once.setdefault(target.name, {})["gib_upload"] = {
            "status": status, "seconds": round(seconds, 2), "rss_before_mb": round(rss.before / 2**20, 1),
            "rss_growth_mb": round(rss.growth / 2**20, 1),
        }  # fmt: skip


async def run(targets: list[Target], corpus: Corpus, plan: Plan, workdir: Path) -> Run:
    connector = aiohttp.TCPConnector(limit=8)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        bench = Run(session, corpus, plan)
        stored: dict[str, list[str]] = {t.name: [] for t in targets}
        for repeat in range(plan.repeats):
            order = targets if repeat % 2 == 0 else targets[::-1]
            for target in order:
                print(f"repeat {repeat + 1}/{plan.repeats}: {target.name}", flush=True)
                stored[target.name] = await bench.repeat(target, stored[target.name])
        for target in targets:
            await bench.clear(target, stored[target.name])
            print(f"large files, errors, coverage: {target.name}", flush=True)
            await bench.big(target)
            await bench.errors(target)
            if plan.coverage:
                await bench.coverage(target)
        if plan.gib_upload:
            big = workdir / "gib.dcm"
            write_big_dicom(big, GIB)
            for target in targets:
                print(f"1 GiB upload: {target.name}", flush=True)
                bench.gib_upload(target, big)
            big.unlink()
    return bench


# --- report ------------------------------------------------------------------------------------------------------


def ratios(phases: list[Phase], ours: str, theirs: str, scenario: str, concurrency: int, mine: str, other: str,
           measure: Callable[[Phase], float]) -> list[float]:  # fmt: skip
    """Per repeat, ours over theirs for one scenario: repeats pair up in the order they ran."""
    a = [
        measure(p)
        for p in phases
        if (p.target, p.scenario, p.concurrency, p.variant) == (ours, scenario, concurrency, mine)
    ]
    b = [
        measure(p)
        for p in phases
        if (p.target, p.scenario, p.concurrency, p.variant) == (theirs, scenario, concurrency, other)
    ]
    return [x / y for x, y in zip(a, b, strict=False) if y]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summary(bench: Run) -> list[dict[str, Any]]:
    """The issue's targets: measured ratio, the goal, met or not."""
    p = bench.phases
    rows: list[dict[str, Any]] = []

    def add(what: str, values: list[float], goal: str, met: Callable[[float], bool]) -> None:
        value = median(values)
        rows.append({"what": what, "ratio": value, "range": (min(values), max(values)) if values else None,
                     "goal": goal, "met": bool(values) and met(value)})  # fmt: skip

    cpu, rate = (lambda x: x.cpu_ms_per_op), (lambda x: x.per_second)
    add(
        "first render 512x512 CT, server CPU per render (c=8, vs /rendered)",
        ratios(p, "dicom-api", "orthanc", "render_first", 8, "png", "rendered", cpu),
        "<= 0.5",
        lambda v: v <= 0.5,
    )
    add(
        "repeated render, renders/s (c=8, vs /rendered)",
        ratios(p, "dicom-api", "orthanc", "render_repeated", 8, "png", "rendered", rate),
        ">= 5",
        lambda v: v >= 5,
    )
    add(
        "one attribute, reads/s (c=8, vs /tags)",
        ratios(p, "dicom-api", "orthanc", "attribute", 8, "attribute", "tags", rate),
        ">= 3",
        lambda v: v >= 3,
    )
    add(
        "one attribute, reads/s (c=8, vs /content)",
        ratios(p, "dicom-api", "orthanc", "attribute", 8, "attribute", "content", rate),
        ">= 0.5",
        lambda v: v >= 0.5,
    )
    add(
        "one attribute, server CPU per read (c=8, vs /tags)",
        ratios(p, "dicom-api", "orthanc", "attribute", 8, "attribute", "tags", cpu),
        "<= 0.33",
        lambda v: v <= 1 / 3,
    )
    add(
        "upload 512x512 CT, instances/s (c=8)",
        ratios(p, "dicom-api", "orthanc", "upload/ct512", 8, "-", "-", rate),
        ">= 1.5",
        lambda v: v >= 1.5,
    )
    add("2500x2000 radiograph, first render time (vs /rendered)",
        ratios(p, "dicom-api", "orthanc", "big/radiograph 2500x2000/first render", 1, "png", "rendered",
               lambda x: x.percentile(50)), "<= 0.25", lambda v: v <= 0.25)  # fmt: skip
    return rows  # noqa: RET504 - built by add()


def phase_table(phases: list[Phase]) -> list[str]:
    """The Markdown table of every phase: medians over repeats."""
    lines = ["| scenario | server | variant | c | ops/s | p50 ms | p95 ms | p99 ms | server CPU ms/op "
             "| client CPU ms/op | peak RSS MB | failed |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    groups: dict[tuple[str, str, str, int], list[Phase]] = {}
    for phase in phases:
        groups.setdefault((phase.scenario, phase.target, phase.variant, phase.concurrency), []).append(phase)
    for (scenario, target, variant, concurrency), runs in sorted(groups.items()):

        def med(f: Callable[[Phase], float], runs: list[Phase] = runs) -> float:
            return median([f(r) for r in runs])

        lines.append(
            f"| {scenario} | {target} | {variant} | {concurrency} | {med(lambda r: r.per_second):.1f} "
            f"| {med(lambda r: r.percentile(50)):.2f} | {med(lambda r: r.percentile(95)):.2f} "
            f"| {med(lambda r: r.percentile(99)):.2f} | {med(lambda r: r.cpu_ms_per_op):.2f} "
            f"| {med(lambda r: r.client_ms_per_op):.2f} | {med(lambda r: r.rss_peak_mb):.0f} "
            f"| {sum(r.failed for r in runs)} |"
        )
    return lines


def markdown(bench: Run, machine: dict[str, str], plan: Plan) -> str:
    lines = ["# DICOM API versus Orthanc", "",
             f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram']}, {machine['os']}, "
             f"Python {machine['python']}; Orthanc {machine['orthanc']}. Repeats: {plan.repeats}; "
             "cells are medians over repeats. Ratios are DICOM API / Orthanc, per repeat, then the median.", "",
             "## Targets", "", "| measure | ratio (min-max) | target | met |", "|---|---|---|---|"]  # fmt: skip
    for row in summary(bench):
        span = f" ({row['range'][0]:.2f}-{row['range'][1]:.2f})" if row["range"] else ""
        lines.append(f"| {row['what']} | {row['ratio']:.2f}{span} | {row['goal']} | {'yes' if row['met'] else 'no'} |")
    lines += ["", "## Phases", "", *phase_table(bench.phases)]
    lines += ["", "## Once per server", ""]
    for name, found in bench.once.items():
        lines.append(f"### {name}")
        lines.append("")
        for key, value in found.items():
            lines.append(f"- {key}: `{json.dumps(value)}`")
        lines.append("")
    return "\n".join(lines)


def machine_facts(orthanc_url: str | None) -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    version = "?"
    if orthanc_url:
        import httpx

        with contextlib.suppress(Exception):
            version = httpx.get(f"{orthanc_url}/system", timeout=5).json()["Version"]
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": f"{psutil.virtual_memory().total / GIB:.1f} GiB",
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "orthanc": version,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20 slices, one repeat, no 1 GiB upload")
    parser.add_argument(
        "--dicomweb",
        action="store_true",
        help="the DICOMweb group alone (dicomweb_versus.py): 10,000 instances, or 450 with --quick",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "dicom-api-bench-corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--orthanc-bin", default=shutil.which("Orthanc") or "/usr/sbin/Orthanc")
    parser.add_argument("--orthanc-plugin", type=Path, default=ORTHANC_PLUGIN, help="the DICOMweb plugin")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of this service")
    args = parser.parse_args()
    if args.dicomweb:
        return dicomweb(args)
    plan = Plan(repeats=args.repeats, ct_count=200, repeated_renders=400, header_reads=2000, big_renders=3,
                coverage=True, gib_upload=True)  # fmt: skip
    if args.quick:
        plan = Plan(repeats=1, ct_count=20, repeated_renders=80, header_reads=300, big_renders=1,
                    coverage=False, gib_upload=False)  # fmt: skip
    corpus = build_corpus(args.corpus, ct_count=200)
    with servers(args) as (orthanc, service, workdir):
        machine = machine_facts(orthanc.url)
        bench = asyncio.run(run([orthanc, service], corpus, plan, workdir))
    args.out.mkdir(parents=True, exist_ok=True)
    report = markdown(bench, machine, plan)
    (args.out / "results.md").write_text(report + "\n", encoding="utf-8")
    data = {"machine": machine, "plan": asdict(plan), "targets": summary(bench),
            "phases": [p.row() for p in bench.phases], "once": bench.once}  # fmt: skip
    (args.out / "results.json").write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    print(report)
    return 0


@contextlib.contextmanager
def servers(args: argparse.Namespace) -> Iterator[tuple[Orthanc, Service, Path]]:
    """Orthanc and this service, each with its data in one temporary folder, removed on exit."""
    with tempfile.TemporaryDirectory(prefix="versus-orthanc-") as tmp:
        workdir = Path(tmp)
        env = {"DICOM_API_LOG_LEVEL": "warning", "DICOM_API_WORKERS": str(args.workers),
               "DICOM_API_ADMIN_PASSWORD": secrets.token_urlsafe(18), "DICOM_API_JWT_SECRET": secrets.token_urlsafe(32),
               "DICOM_API_RENDER_WORKERS": str(os.cpu_count() or 1)}  # fmt: skip
        (workdir / "service").mkdir()
        with (
            run_orthanc(workdir, args.orthanc_bin, args.orthanc_plugin) as orthanc,
            run_server(workdir / "service", env) as live,
        ):
            yield orthanc, Service(live.url, live.process, dict(live.headers)), workdir


def dicomweb(args: argparse.Namespace) -> int:
    """The DICOMweb group: its own store, scenarios and report (dicomweb.md, dicomweb.json)."""
    import dicomweb_versus as web

    store, plan = web.store_and_plan(args.corpus, args.quick)
    with servers(args) as (orthanc, service, _workdir):
        machine = machine_facts(orthanc.url)
        webs = [web.Web(orthanc, f"{orthanc.url}/dicom-web"), web.Web(service, f"{service.url}/dicomweb")]
        bench = asyncio.run(web.run(webs, store, plan))
    print(web.write(args.out, bench, machine, store, webs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
