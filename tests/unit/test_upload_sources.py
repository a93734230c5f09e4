"""What `dicom-api upload` finds to send: folders walked, zip members, DICOMDIR media, non-DICOM files told apart."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from dicom_api.uploader.client import Outcome
from dicom_api.uploader.report import Report
from dicom_api.uploader.sources import collect
from tests.helpers import sample

CT = sample("CT_small.dcm")


def _medium(root: Path) -> Path:
    (root / "IMAGES" / "A").mkdir(parents=True)
    (root / "IMAGES" / "A" / "IM1").write_bytes(CT.read_bytes())
    (root / "IMAGES" / "IM2").write_bytes(CT.read_bytes()[128 + 4 :])  # no preamble: the data set's meta first
    (root / "DICOMDIR").write_bytes(b"\0" * 128 + b"DICM")
    (root / "index.htm").write_text("<html></html>")
    with zipfile.ZipFile(root / "x.zip", "w") as archive:
        archive.write(CT, "deep/ct.dcm")
        archive.writestr("deep/readme.txt", "text")
        archive.writestr("empty/", "")
    return root


def test_a_medium_is_walked_and_its_dicomdir_skipped(tmp_path: Path) -> None:
    found = collect([_medium(tmp_path)])
    labels = sorted(item.label.removeprefix(str(tmp_path)) for item in found.items)
    assert labels == ["/IMAGES/A/IM1", "/IMAGES/IM2", "/index.htm", "/x.zip:deep/ct.dcm", "/x.zip:deep/readme.txt"]
    assert [label.removeprefix(str(tmp_path)) for label, _ in found.skipped] == ["/DICOMDIR"]


def test_naming_the_dicomdir_sends_the_medium(tmp_path: Path) -> None:
    medium = _medium(tmp_path)
    assert collect([medium / "DICOMDIR"]).items == collect([medium]).items


def test_a_file_named_twice_is_found_once(tmp_path: Path) -> None:
    medium = _medium(tmp_path)
    assert len(collect([medium, medium / "IMAGES" / "A" / "IM1"]).items) == 5


def test_missing_paths_are_reported(tmp_path: Path) -> None:
    assert collect([tmp_path / "nope"]).missing == [str(tmp_path / "nope")]


def test_examine_tells_dicom_from_the_rest_and_hashes_what_is_sent(tmp_path: Path) -> None:
    items = {item.label.removeprefix(str(tmp_path)): item for item in collect([_medium(tmp_path)]).items}
    ct = hashlib.sha256(CT.read_bytes()).hexdigest()
    assert items["/IMAGES/A/IM1"].examine() == ct
    assert items["/x.zip:deep/ct.dcm"].examine() == ct  # a member, read from the archive
    assert items["/IMAGES/IM2"].examine() is not None  # a file without the preamble is sent: the server decides
    assert items["/index.htm"].examine() is None
    assert items["/x.zip:deep/readme.txt"].examine() is None


def test_the_report_sends_each_checksum_once_and_says_whether_all_went_in(tmp_path: Path) -> None:
    items = collect([_medium(tmp_path)]).items
    report = Report()
    to_send = report.sort([(items[0], "a"), (items[1], "b"), (items[2], "a"), (items[3], "c")], have={"c"})
    assert [sha for _, sha in to_send] == ["a", "b"]
    assert report.already == 2
    report.add(items[0], Outcome("stored", "id"))
    assert report.all_in
    assert report.done == 1
    report.add(items[1], Outcome("refused", "HTTP 400: not DICOM"))
    assert not report.all_in
    assert report.refused == [(items[1].label, "HTTP 400: not DICOM")]


def test_a_dicom_file_is_never_taken_for_an_archive_and_a_damaged_archive_is_skipped(tmp_path: Path) -> None:
    polyglot = tmp_path / "polyglot.dcm"  # a preamble is free: it may start like a zip
    polyglot.write_bytes(b"PK\x03\x04" + CT.read_bytes()[4:])
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(b"PK\x03\x04" + b"\0" * 300)
    found = collect([tmp_path])
    assert [item.label for item in found.items] == [str(polyglot)]
    assert found.skipped == [(str(damaged), "a damaged zip archive")]
