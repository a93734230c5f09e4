"""Sequence nesting is bounded at upload (PS3.5 7.5): deep enough for any real header, refused past it."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicom_api.dicom.inspect import inspect_dicom
from dicom_api.dicom.nesting import MAX_SEQUENCE_DEPTH, check_sequence_depth
from dicom_api.errors import InvalidDicom
from tests.helpers import sample
from tests.odd_files import nested_file

TOO_DEEP = f"more than {MAX_SEQUENCE_DEPTH} levels deep"


@pytest.mark.parametrize("defined_length", [True, False])
def test_the_deepest_allowed_nesting_is_accepted(defined_length: bool, tmp_path: Path) -> None:
    path = tmp_path / "f.dcm"
    path.write_bytes(nested_file(MAX_SEQUENCE_DEPTH, defined_length=defined_length))
    assert inspect_dicom(path).patient_id == "1CT1"


@pytest.mark.parametrize("depth", [MAX_SEQUENCE_DEPTH + 1, 500, 2000])
@pytest.mark.parametrize("defined_length", [True, False])
def test_deeper_nesting_is_refused(depth: int, defined_length: bool, tmp_path: Path) -> None:
    path = tmp_path / "f.dcm"
    path.write_bytes(nested_file(depth, defined_length=defined_length))
    with pytest.raises(InvalidDicom, match=TOO_DEEP):
        inspect_dicom(path)


def _nested(depth: int, *, empty_last: bool = False) -> Dataset:
    inner = Dataset()
    inner.CodeValue = "1"
    ds = inner
    for level in range(depth):
        outer = Dataset()
        outer.ContentSequence = Sequence([] if empty_last and level == 0 else [ds])
        ds = outer
    return ds


def test_the_bound_counts_sequences_that_hold_items() -> None:
    check_sequence_depth(_nested(3), limit=3)
    with pytest.raises(InvalidDicom, match="more than 3 levels"):
        check_sequence_depth(_nested(4), limit=3)
    check_sequence_depth(_nested(4, empty_last=True), limit=3)  # an empty fourth level holds nothing


def test_real_headers_pass() -> None:
    for name in ("CT_small.dcm", "test-SR.dcm", "rtplan.dcm", "reportsi.dcm"):
        check_sequence_depth(pydicom.dcmread(sample(name), stop_before_pixels=True))
