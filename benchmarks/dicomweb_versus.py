"""DICOMweb side by side with Orthanc's DICOMweb plugin: `versus_orthanc.py --dicomweb` runs this group.

Both servers get the same store (dicomweb_corpus.py: 10,000 real CT slices with new UIDs, or a small one with
--quick), loaded as fast as each takes it (Orthanc's REST /instances, this service's /upload/dicom, 8 at a time).
Then, one server after the other for each scenario: study searches (QIDO-RS, as OHIF's study list asks), the
metadata of the viewer's 500-instance series (first and repeated), its frames as OHIF asks for them, and STOW-RS
of new CT slices. Every answer is checked (status, and that both servers found the same studies and instances).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from dicomweb_corpus import FULL, QUICK, Store, build_store
from versus_orthanc import Answer, Call, Phase, Target, drive, median, phase_table, send

DICOM_JSON = "application/dicom+json"
OHIF_FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
INCLUDE = "includefield=00081030%2C00080060"  # what OHIF's study list adds: Study Description, Modalities
SEARCHES = {
    "search/name": f"PatientName=Smi*&limit=101&offset=0&{INCLUDE}",
    "search/date": f"StudyDate=20240101-20240331&limit=101&offset=0&{INCLUDE}",
}
LOAD_CONCURRENCY = 8
STOW_BATCH = 10  # instances per STOW-RS request


@dataclass(frozen=True)
class Plan:
    searches: int  # requests per search, at c=8
    metadata_seconds: float  # how long the repeated metadata phase lasts, about
    stow_concurrency: int


FULL_PLAN = Plan(searches=100, metadata_seconds=10.0, stow_concurrency=4)
QUICK_PLAN = Plan(searches=40, metadata_seconds=3.0, stow_concurrency=4)


class Web:
    """One server's DICOMweb root, and how the store is loaded into it (its own fastest single-file route)."""

    def __init__(self, target: Target, root: str) -> None:
        self.target, self.name, self.process = target, target.name, target.process
        self.root, self.headers = root, dict(target.headers)

    def get(self, path: str, accept: str) -> Call:
        return Call("GET", f"{self.root}{path}", frozenset({200}), headers={**self.headers, "Accept": accept})

    def search(self, query: str) -> Call:
        return self.get(f"/studies?{query}", DICOM_JSON)

    def metadata(self, study: str, series: str) -> Call:
        return self.get(f"/studies/{study}/series/{series}/metadata", DICOM_JSON)

    def frame(self, study: str, series: str, sop: str) -> Call:
        return self.get(f"/studies/{study}/series/{series}/instances/{sop}/frames/1", OHIF_FRAMES)

    def stow(self, files: list[Path]) -> Call:
        boundary = uuid.uuid4().hex
        body = (
            b"".join(
                f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + path.read_bytes() + b"\r\n"
                for path in files
            )
            + f"--{boundary}--\r\n".encode()
        )
        content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
        headers = {**self.headers, "Content-Type": content_type, "Accept": DICOM_JSON}
        return Call("POST", f"{self.root}/studies", frozenset({200}), body, headers)


class Bench:
    def __init__(self, store: Store, plan: Plan) -> None:
        self.store, self.plan = store, plan
        self.sessions: dict[str, aiohttp.ClientSession] = {}  # each server's client in the current step
        self.phases: list[Phase] = []
        self.checks: dict[str, dict[str, Any]] = {}
        self.load_average = [os.getloadavg()[0]]  # other work on the machine, at the start and the end

    def check(self, web: Web, key: str, value: Any) -> None:
        self.checks.setdefault(key, {})[web.name] = value

    async def timed(self, web: Web, scenario: str, concurrency: int, calls: Any,
                    on_answer: Callable[[int, Answer], None] | None = None, variant: str = "-") -> Phase:  # fmt: skip
        phase = Phase(scenario, web.name, variant, concurrency)
        self.phases.append(await drive(self.sessions[web.name], web.process, phase, calls, on_answer))
        print(f"  {web.name:9} {scenario:20} {phase.per_second:9.1f}/s  failed {phase.failed}", flush=True)
        return phase

    async def load(self, web: Web) -> None:
        files = self.store.load_files()
        calls = (web.target.upload(path.read_bytes()) for path in files)
        await self.timed(web, "load", LOAD_CONCURRENCY, calls, variant=f"{len(files)} instances, both at once")

    async def search(self, web: Web) -> None:
        for scenario, query in SEARCHES.items():
            found: set[int] = set()
            calls = [web.search(query)] * self.plan.searches
            await self.timed(web, scenario, 8, calls, lambda _i, a, found=found: found.add(_count(a)))
            self.check(web, f"{scenario}: studies found", sorted(found))

    async def metadata(self, web: Web) -> None:
        call = web.metadata(self.store.study_uid, self.store.series_uid)
        first = await self.timed(web, "metadata/first", 1, [call],
                                 lambda _i, a: self.check(web, "metadata: instances", _count(a)))  # fmt: skip
        started = time.perf_counter()
        await send(self.sessions[web.name], call)  # one more, to size the repeated phase
        each = max(time.perf_counter() - started, 1e-3)
        count = max(3, min(100, round(self.plan.metadata_seconds / each)))
        await self.timed(web, "metadata/repeated", 1, [call] * count)
        self.check(web, "metadata/first: seconds", round(first.seconds, 3))

    async def frames(self, web: Web) -> None:
        sizes: set[int] = set()
        calls = [web.frame(self.store.study_uid, self.store.series_uid, sop) for sop in self.store.sop_uids]
        await self.timed(web, "frames", 8, calls, lambda _i, a: sizes.add(len(a[1]) // 1024))
        self.check(web, "frames: KiB per answer", sorted(sizes))

    async def stow(self, web: Web) -> None:
        files = self.store.stow_files()
        batches = [files[i : i + STOW_BATCH] for i in range(0, len(files), STOW_BATCH)]
        calls = (web.stow(batch) for batch in batches)
        phase = await self.timed(web, "stow", self.plan.stow_concurrency, calls, variant=f"{STOW_BATCH} per request")
        self.check(web, "stow: instances/s", round(phase.per_second * STOW_BATCH, 1))


def _count(answer: Answer) -> int:
    """Items of a DICOM JSON array answer; -1 when it is not one."""
    try:
        found = json.loads(answer[1]) if answer[1] else []
    except ValueError:
        return -1
    return len(found) if isinstance(found, list) else -1


def _session() -> aiohttp.ClientSession:
    """A client of its own for each step: no connection left idle by an earlier step, which a server may have
    closed in the meantime (aiohttp does not resend a POST on such a connection)."""
    connector = aiohttp.TCPConnector(limit=LOAD_CONCURRENCY)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=600))


async def run(webs: list[Web], store: Store, plan: Plan) -> Bench:
    bench = Bench(store, plan)
    print("load (both servers at once: the slower one's wait for its disk is most of it)", flush=True)
    async with _session() as first, _session() as second:
        bench.sessions = {webs[0].name: first, webs[1].name: second}
        await asyncio.gather(*(bench.load(web) for web in webs))
    for step in (bench.search, bench.metadata, bench.frames, bench.stow):
        print(f"{step.__name__}", flush=True)
        for web in webs:
            async with _session() as session:
                bench.sessions = {web.name: session}
                await step(web)
    bench.load_average.append(os.getloadavg()[0])
    return bench


# --- report ------------------------------------------------------------------------------------------------------


GOALS: list[tuple[str, str, float | None]] = [  # what, scenario, goal for ours/theirs (at least)
    ("study search by patient name (`Smi*`), searches/s, c=8", "search/name", 3),
    ("study search by date range (3 months), searches/s, c=8", "search/date", 3),
    ("series metadata, 500 instances, first request (Orthanc time / ours)", "metadata/first", None),
    ("series metadata, 500 instances, repeated, requests/s, c=1", "metadata/repeated", 10),
    ("frames (OHIF's Accept), frames/s, c=8", "frames", 2),
    ("STOW-RS of 512x512 CT slices, instances/s", "stow", 1),
]


def summary(bench: Bench, ours: str, theirs: str) -> list[dict[str, Any]]:
    rows = []
    for what, scenario, goal in GOALS:
        mine = [p.per_second for p in bench.phases if (p.target, p.scenario) == (ours, scenario)]
        other = [p.per_second for p in bench.phases if (p.target, p.scenario) == (theirs, scenario)]
        ratio = median([a / b for a, b in zip(mine, other, strict=False) if b])
        rows.append({"what": what, "scenario": scenario, "ratio": ratio, "goal": goal,
                     "met": None if goal is None else ratio >= goal})  # fmt: skip
    return rows


def markdown(bench: Bench, machine: dict[str, str], store: Store, ours: str, theirs: str) -> str:
    size = store.size
    lines = ["# DICOMweb: DICOM API versus Orthanc's DICOMweb plugin", "",
             f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram']}, {machine['os']}, "
             f"Python {machine['python']}; Orthanc {machine['orthanc']}. Store: {size.instances} instances "
             f"({size.studies + 1} studies; the viewer's series has {size.series_size} 512x512 slices). One run; "
             "ratios are DICOM API / Orthanc. Load average (1 min) at the start and the end: "
             f"{bench.load_average[0]:.1f}, {bench.load_average[-1]:.1f}.", "",
             "## Goals", "", "| measure | ratio | goal | met |", "|---|---|---|---|"]  # fmt: skip
    for row in summary(bench, ours, theirs):
        goal = "-" if row["goal"] is None else f">= {row['goal']:g}"
        met = "-" if row["met"] is None else ("yes" if row["met"] else "no")
        lines.append(f"| {row['what']} | {row['ratio']:.2f} | {goal} | {met} |")
    lines += ["", "## Phases", "", *phase_table(bench.phases), "", "## Checks (both servers should agree)", ""]
    lines += [f"- {key}: `{json.dumps(value)}`" for key, value in bench.checks.items()]
    return "\n".join(lines)


def store_and_plan(corpus: Path, quick: bool) -> tuple[Store, Plan]:
    return build_store(corpus, QUICK if quick else FULL), QUICK_PLAN if quick else FULL_PLAN


def write(out: Path, bench: Bench, machine: dict[str, str], store: Store, webs: list[Web]) -> str:
    ours, theirs = webs[1].name, webs[0].name
    report = markdown(bench, machine, store, ours, theirs)
    out.mkdir(parents=True, exist_ok=True)
    (out / "dicomweb.md").write_text(report + "\n", encoding="utf-8")
    data = {"machine": machine, "size": asdict(store.size), "plan": asdict(bench.plan),
            "goals": summary(bench, ours, theirs), "phases": [p.row() for p in bench.phases],
            "checks": bench.checks}  # fmt: skip
    (out / "dicomweb.json").write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    return report
