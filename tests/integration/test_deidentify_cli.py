"""`dicom-api deidentify SOURCE DEST`: a folder of files de-identified into another, no server involved."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest

from dicom_api import cli
from tests.helpers import sample

CT, MR = sample("CT_small.dcm"), sample("MR_small.dcm")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "Doe_John"  # names of folders and files carry identity too
    (folder / "series 1").mkdir(parents=True)
    shutil.copy(CT, folder / "series 1" / "Doe_John_CT.dcm")
    shutil.copy(MR, folder / "Doe_John_MR.dcm")
    (folder / "notes.txt").write_text("not a DICOM file")
    return folder


def _outputs(dest: Path) -> list[Path]:
    return sorted(dest.rglob("*.dcm"))


def test_a_folder_is_deidentified_under_new_names(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "key"
    key.write_bytes(b"k" * 32)
    dest = tmp_path / "out"
    assert cli.main(["deidentify", str(source), str(dest), "--key-file", str(key)]) == 0
    outputs = _outputs(dest)
    assert len(outputs) == 2
    assert not any("Doe" in str(p.relative_to(dest)) for p in dest.rglob("*"))
    for path in outputs:
        ds = pydicom.dcmread(path)
        assert ds.PatientIdentityRemoved == "YES"
        assert path.stem == ds.SOPInstanceUID
        assert path.parent.name == ds.SeriesInstanceUID
    captured = capsys.readouterr()
    assert "2 file(s) de-identified" in captured.out
    assert "CompressedSamples" not in captured.out + captured.err
    assert "notes.txt" in captured.err
    again = tmp_path / "again"
    assert cli.main(["deidentify", str(source), str(again), "--key-file", str(key)]) == 0
    assert [p.relative_to(again) for p in _outputs(again)] == [p.relative_to(dest) for p in outputs]  # one key


def test_options_and_refusals(source: Path, tmp_path: Path) -> None:
    ds = pydicom.dcmread(CT)
    ds.BurnedInAnnotation = "YES"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.2.1125.9.9"
    ds.save_as(source / "burned.dcm")
    dest = tmp_path / "out"
    assert cli.main(["deidentify", str(source), str(dest), "--retain-uids"]) == 0
    assert {p.stem for p in _outputs(dest)} == {str(pydicom.dcmread(f).SOPInstanceUID) for f in (CT, MR)}
    accepted = tmp_path / "accepted"
    assert cli.main(["deidentify", str(source), str(accepted), "--accept-burned-in"]) == 0
    assert len(_outputs(accepted)) == 3


def test_a_destination_inside_the_source_is_not_read_again(source: Path) -> None:
    dest = source / "deidentified"
    assert cli.main(["deidentify", str(source), str(dest)]) == 0
    assert cli.main(["deidentify", str(source), str(dest)]) == 0
    assert len(_outputs(dest)) == 4  # two per run (a random key each), never the outputs of the first


def test_conflicting_options_and_a_missing_folder_are_errors(tmp_path: Path, source: Path) -> None:
    both = ["--retain-full-dates", "--retain-modified-dates"]
    assert cli.main(["deidentify", str(source), str(tmp_path / "o"), *both]) == 2
    assert cli.main(["deidentify", str(tmp_path / "missing"), str(tmp_path / "o")]) == 2
    short = tmp_path / "short.key"
    short.write_bytes(b"123")
    assert cli.main(["deidentify", str(source), str(tmp_path / "o"), "--key-file", str(short)]) == 2
    assert cli.main(["deidentify", str(source), str(tmp_path / "o"), "--key-file", str(tmp_path / "none")]) == 2
