"""The comparison's arithmetic: percentiles, per-repeat ratios and the targets' verdicts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from versus_orthanc import Phase, percentile, ratios  # noqa: E402


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7
    assert percentile([], 50) == 0


def phase(target: str, variant: str, ops: int, seconds: float, cpu: float) -> Phase:
    return Phase("attribute", target, variant, 8, ops=ops, seconds=seconds, cpu_ms_per_op=cpu)


def test_ratios_pair_repeats_in_order_and_match_variants() -> None:
    phases = [
        phase("orthanc", "tags", 100, 1.0, 2.0),
        phase("orthanc", "content", 900, 1.0, 0.1),
        phase("dicom-api", "attribute", 300, 1.0, 0.5),
        phase("dicom-api", "attribute", 400, 1.0, 0.4),
        phase("orthanc", "tags", 200, 1.0, 1.0),
    ]
    rate = ratios(phases, "dicom-api", "orthanc", "attribute", 8, "attribute", "tags", lambda p: p.per_second)
    assert rate == pytest.approx([3.0, 2.0])
    cpu = ratios(phases, "dicom-api", "orthanc", "attribute", 8, "attribute", "content", lambda p: p.cpu_ms_per_op)
    assert cpu == pytest.approx([5.0])
    assert ratios(phases, "dicom-api", "orthanc", "attribute", 1, "attribute", "tags", lambda p: p.per_second) == []
