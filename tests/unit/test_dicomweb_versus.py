"""The DICOMweb comparison's arithmetic and its store's spread: ratios and verdicts, what its searches match."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from dicomweb_corpus import FULL, patient  # noqa: E402
from dicomweb_versus import Bench, _count, summary  # noqa: E402
from versus_orthanc import Phase  # noqa: E402


def test_summary_is_ours_over_theirs_per_scenario_with_a_verdict_only_where_there_is_a_goal() -> None:
    bench = Bench.__new__(Bench)
    bench.phases = [
        Phase("search/name", "orthanc", "-", 8, ops=100, seconds=10.0),
        Phase("search/name", "dicom-api", "-", 8, ops=100, seconds=2.0),
        Phase("frames", "orthanc", "-", 8, ops=500, seconds=2.0),
        Phase("frames", "dicom-api", "-", 8, ops=500, seconds=4.0),
        Phase("metadata/first", "orthanc", "-", 1, ops=1, seconds=1.0),
        Phase("metadata/first", "dicom-api", "-", 1, ops=1, seconds=2.0),
    ]
    rows = {row["scenario"]: row for row in summary(bench, "dicom-api", "orthanc")}
    name = rows["search/name"]
    assert (name["ratio"], name["met"]) == (pytest.approx(5.0), True)
    frames = rows["frames"]
    assert (frames["ratio"], frames["met"]) == (pytest.approx(0.5), False)
    first = rows["metadata/first"]
    assert (first["ratio"], first["goal"], first["met"]) == (pytest.approx(0.5), None, None)
    assert rows["stow"]["met"] is False  # not measured: no ratio, the goal not met


def test_count_reads_a_json_array_and_flags_anything_else() -> None:
    assert _count((200, b'[{"00100010": {"vr": "PN"}}, {}]')) == 2
    assert _count((204, b"")) == 0
    assert _count((200, b'{"error": "x"}')) == -1
    assert _count((0, b"ServerDisconnectedError")) == -1


def test_the_searches_match_a_part_of_the_store() -> None:
    studies = [patient(study) for study in range(FULL.studies + 1)]
    by_name = [s for s in studies if s[0].startswith("Smi")]
    by_date = [s for s in studies if "20240101" <= s[2] <= "20240331"]
    assert 10 <= len(by_name) <= 50
    assert 10 <= len(by_date) <= 50
    assert len({s[1] for s in studies}) == len(studies)  # one patient ID a study
