"""The STOW-RS answer (PS3.18 Annex I) and its status (Table 10.5.3-1), from the outcomes of a request's instances."""

from __future__ import annotations

import pytest

from dicom_api.services.dicomweb_store import (
    CANNOT_UNDERSTAND,
    DUPLICATE,
    STUDY_MISMATCH,
    Outcome,
    stow_response,
    stow_status,
)

BASE = "https://pacs.example/dicomweb"
STORED = Outcome("1.2.840.10008.5.1.4.1.1.2", "1.2.3.4", "1.2.3", "1.2.3.9", file_id="f" * 32)
UNREADABLE = Outcome(None, None, reason=CANNOT_UNDERSTAND)
MISMATCH = Outcome("1.2.840.10008.5.1.4.1.1.2", "1.2.5.6", reason=STUDY_MISMATCH)


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ([STORED], 200),
        ([STORED, UNREADABLE], 202),
        ([MISMATCH, UNREADABLE], 409),
        ([Outcome("1.2", "1.3", reason=DUPLICATE)], 409),
        ([UNREADABLE], 400),
    ],
)
def test_status(outcomes: list[Outcome], status: int) -> None:
    assert stow_status(outcomes) == status


def test_stored_and_failed_items() -> None:
    model = stow_response([STORED, UNREADABLE, MISMATCH], BASE, None)
    assert model["00081190"] == {"vr": "UR", "Value": [f"{BASE}/studies/1.2.3"]}
    [stored] = model["00081199"]["Value"]
    assert stored["00081155"] == {"vr": "UI", "Value": ["1.2.3.4"]}
    assert stored["00081190"]["Value"] == [f"{BASE}/studies/1.2.3/series/1.2.3.9/instances/1.2.3.4"]
    unreadable, mismatch = model["00081198"]["Value"]
    assert unreadable == {
        "00081150": {"vr": "UI"},
        "00081155": {"vr": "UI"},
        "00081197": {"vr": "US", "Value": [0xC000]},
    }
    assert mismatch["00081197"]["Value"] == [43265]


def test_nothing_stored_still_answers_the_referenced_sequence() -> None:
    model = stow_response([UNREADABLE], BASE, "1.2.3")
    assert model["00081199"] == {"vr": "SQ"}
    assert model["00081190"]["Value"] == [f"{BASE}/studies/1.2.3"]  # the study the request named
    assert "00081190" not in stow_response([UNREADABLE], BASE, None)
