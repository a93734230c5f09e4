"""De-identification of hostile and odd files: a file pydicom cannot read or write back is an InvalidDicom
(400, a message without its values), never another exception; what is written reads back."""

from __future__ import annotations

import io
import warnings

import pydicom
import pytest

from dicom_api.dicom.deidentify import Options, deidentify_file
from dicom_api.errors import InvalidDicom
from tests.mutants import mutant
from tests.odd_files import odd_files, warning_files

CASES = {**odd_files(), **warning_files()}
MUTANTS = range(0, 300, 3)  # a third of the upload's mutants: each kind of damage, at a few places


def _deidentified_or_refused(data: bytes) -> bytes | None:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            deidentify_file(io.BytesIO(data), out, b"k" * 32, Options(accept_burned_in=True))
        except InvalidDicom:
            return None
        return out.getvalue()


@pytest.mark.parametrize("name", sorted(CASES))
def test_odd_files_are_deidentified_or_refused(name: str) -> None:
    output = _deidentified_or_refused(CASES[name])
    if output is not None:
        assert pydicom.dcmread(io.BytesIO(output)).PatientIdentityRemoved == "YES"


def test_deep_nesting_is_refused_as_at_upload() -> None:
    assert _deidentified_or_refused(CASES["nested_500_defined_length"]) is None


@pytest.mark.parametrize("number", MUTANTS)
def test_mutants_are_deidentified_or_refused(number: int) -> None:
    output = _deidentified_or_refused(mutant(number).data)
    if output is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert pydicom.dcmread(io.BytesIO(output)).PatientIdentityRemoved == "YES"
