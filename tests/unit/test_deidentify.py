"""De-identification over the real files of the test corpora: nothing identifying left in the bytes, UIDs
consistent per key, the method recorded, images that may show identity refused."""

from __future__ import annotations

import copy
import io
import re
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID_dictionary

from dicom_api.dicom.deidentify import Options, deidentify_dataset, deidentify_file
from dicom_api.errors import BurnedInAnnotation, InvalidDicom, InvalidParameter
from tests.confidentiality_table import BY_TAG, cell
from tests.corpus import CORPUS

KEY, OTHER_KEY = b"k" * 32, b"o" * 32
# The option sets the corpus runs under: the Basic Profile, and the options that clean rather than keep.
CLEANING = ("clean_descriptors", "clean_structured_content", "retain_safe_private")
RUNS = {"basic": (), "cleaning": CLEANING}
RECORDED = {0x00120063, 0x00120064, 0x00280303}  # what de-identification writes about itself
# UIDs that name a kind of thing, not an instance: a coding scheme (DCMTK's 1.2.276.0.7230010.3.0.0.1), a SOP
# class, a transfer syntax, a mapping resource.
NAMING = ("CodingScheme", "Class", "TransferSyntax", "MappingResource")
MIN_LENGTH = 4  # shorter values ("M", "1", "CT") turn up by chance in any file


def _read(path: Path) -> FileDataset | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, force=True)
            ds.SOPInstanceUID  # noqa: B018
        except Exception:
            return None
    return ds


def _deidentified(path: Path, key: bytes = KEY, options: Options | None = None) -> bytes:
    out = io.BytesIO()
    with path.open("rb") as fp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deidentify_file(fp, out, key, options or Options(accept_burned_in=True))
    return out.getvalue()


def _action(tag: int, options: tuple[str, ...]) -> str:
    """The tests' copy of Table E.1-1 under ``options`` (K for an unlisted attribute)."""
    row = BY_TAG.get(tag)
    return cell(row, options) if row is not None else "K"


def _identifying(ds: Dataset, options: tuple[str, ...]) -> set[str]:
    """Every identifying value of the original: UIDs the standard does not register, names, dates and times
    anywhere, and the values of every attribute the table does not keep (IDs, addresses, descriptions...)."""
    found: set[str] = set()
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta:
        found.add(str(meta.MediaStorageSOPInstanceUID).strip())
    for elem in ds.iterall():
        if elem.tag.is_private or elem.VR in ("SQ", "OB", "OW", "UN") or elem.value is None:
            continue
        values = elem.value if elem.VM > 1 else [elem.value]
        if elem.VR == "UI" and not any(word in elem.keyword for word in NAMING):
            found.update(str(v).strip() for v in values if str(v).strip() not in UID_dictionary)
        elif elem.VR in ("PN", "DA", "DT", "TM") or _action(int(elem.tag), options) not in ("K", "C"):
            found.update(str(v).strip() for v in values)
    return {v for v in found if len(v) >= MIN_LENGTH}


def _explained(original: Dataset, output: FileDataset, options: tuple[str, ...]) -> list[str]:
    """Where a value may turn up without leaking: in attributes the profile keeps (the same text as a
    removed one: a manufacturer that is also the institution's name), in the dummies that replaced values
    (a short ID "0010" inside "19000101"), and in the method and file meta that the writer adds."""
    kept = [e for e in original.iterall() if not e.tag.is_private and _kept(int(e.tag), e.VR, options)]
    written = [e for e in output.iterall() if "D" in _action(int(e.tag), options) or int(e.tag) in RECORDED]
    written += [e for e in output.iterall() if e.VR == "UI" and str(e.value).startswith("2.25.")]  # new UIDs
    written += list(output.file_meta)
    return [str(e.value) for e in kept + written if e.VR not in ("SQ", "OB", "OW", "UN")]


def _kept(tag: int, vr: str, options: tuple[str, ...]) -> bool:
    return vr not in ("PN", "DA", "DT", "TM", "UI") and _action(tag, options) == "K"


def _without_pixels(data: bytes, ds: Dataset) -> bytes:
    """The output's bytes less its pixel data, which de-identification leaves as it was (and where short
    values can occur by chance)."""
    pixels = ds.get("PixelData")
    return data.replace(pixels, b"") if pixels else data


CORPUS_FILES = [name for name, path in CORPUS.items() if _read(path) is not None]


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_no_identifying_value_is_left_in_the_bytes(name: str, run: str) -> None:
    original = _read(CORPUS[name])
    assert original is not None
    options = RUNS[run]
    data = _deidentified(CORPUS[name], options=Options.from_names([*options, "accept_burned_in"]))
    output = pydicom.dcmread(io.BytesIO(data))
    raw = _without_pixels(data, output)
    explained = _explained(original, output, options)
    found = [v for v in _identifying(original, options) if v.encode("latin-1", "replace") in raw]
    left = sorted(v for v in found if not any(v in text for text in explained))
    assert left == []
    assert output.PatientIdentityRemoved == "YES"
    assert output.file_meta.MediaStorageSOPInstanceUID == output.SOPInstanceUID
    assert not any(e.tag.is_private for e in output.iterall()) or "retain_safe_private" in options


def test_the_corpus_is_walked() -> None:
    assert len(CORPUS_FILES) > 100


def _instance(sop_uid: str) -> FileDataset:
    ds = _read(CORPUS["pydicom/CT_small.dcm"])
    assert ds is not None
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    return ds


def _run(ds: Dataset, key: bytes = KEY, options: Options | None = None) -> FileDataset:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return pydicom.dcmread(io.BytesIO(_deidentified_bytes(out.getvalue(), key, options)))


def _deidentified_bytes(data: bytes, key: bytes, options: Options | None) -> bytes:
    out = io.BytesIO()
    deidentify_file(io.BytesIO(data), out, key, options or Options())
    return out.getvalue()


def test_one_series_stays_one_series_and_references_follow() -> None:
    first, second = _instance("1.2.826.0.1.3680043.2.1125.1.1"), _instance("1.2.826.0.1.3680043.2.1125.1.2")
    reference = Dataset()
    reference.ReferencedSOPClassUID, reference.ReferencedSOPInstanceUID = first.SOPClassUID, first.SOPInstanceUID
    second.ReferencedImageSequence = Sequence([reference])
    a, b = _run(first), _run(second)
    assert a.StudyInstanceUID == b.StudyInstanceUID != first.StudyInstanceUID
    assert a.SeriesInstanceUID == b.SeriesInstanceUID != first.SeriesInstanceUID
    assert a.FrameOfReferenceUID == b.FrameOfReferenceUID
    assert a.SOPInstanceUID != b.SOPInstanceUID
    assert b.ReferencedImageSequence[0].ReferencedSOPInstanceUID == a.SOPInstanceUID
    assert b.ReferencedImageSequence[0].ReferencedSOPClassUID == first.SOPClassUID
    assert all(len(u) <= 64 and re.fullmatch(r"2\.25\.[1-9][0-9]*", u) for u in (a.StudyInstanceUID, a.SOPInstanceUID))


def test_another_key_gives_other_uids() -> None:
    ds = _instance("1.2.826.0.1.3680043.2.1125.1.1")
    a, b = _run(ds), _run(ds, OTHER_KEY)
    assert a.StudyInstanceUID != b.StudyInstanceUID
    assert a.SOPInstanceUID != b.SOPInstanceUID


def test_retain_uids_keeps_them() -> None:
    ds = _instance("1.2.826.0.1.3680043.2.1125.1.1")
    out = _run(ds, options=Options(retain_uids=True))
    assert out.SOPInstanceUID == ds.SOPInstanceUID
    assert out.StudyInstanceUID == ds.StudyInstanceUID


def test_the_method_is_recorded_with_its_codes() -> None:
    out = _run(_instance("1.2.3.4"), options=Options(retain_uids=True, clean_descriptors=True))
    codes = [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113110", "113105"]
    assert {item.CodingSchemeDesignator for item in out.DeidentificationMethodCodeSequence} == {"DCM"}
    assert list(out.DeidentificationMethod)[0] == "Basic Application Confidentiality Profile"
    assert out.PatientIdentityRemoved == "YES"
    assert out.LongitudinalTemporalInformationModified == "REMOVED"


def test_the_basic_profile_alone_records_one_code() -> None:
    out = _run(_instance("1.2.3.4"))
    assert [item.CodeValue for item in out.DeidentificationMethodCodeSequence] == ["113100"]


def test_modified_dates_keep_the_intervals() -> None:
    ds = _instance("1.2.3.4")
    ds.StudyDate, ds.ContentDate, ds.PatientBirthDate = "20240131", "20240203", "19700101"
    out = _run(ds, options=Options(retain_modified_dates=True))
    assert out.StudyDate != "20240131"
    assert _days(out.ContentDate) - _days(out.StudyDate) == 3
    assert out.PatientBirthDate == ""  # Z in the table, no option column: not a longitudinal date
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"
    again = _run(ds, options=Options(retain_modified_dates=True))
    assert again.StudyDate == out.StudyDate  # one key, one shift


def _days(text: str) -> int:
    from datetime import date

    return date(int(text[:4]), int(text[4:6]), int(text[6:8])).toordinal()


def test_full_dates_are_kept() -> None:
    ds = _instance("1.2.3.4")
    out = _run(ds, options=Options(retain_full_dates=True))
    assert out.StudyDate == ds.StudyDate
    assert out.LongitudinalTemporalInformationModified == "UNMODIFIED"


def test_clean_descriptors_takes_identity_out_of_the_text() -> None:
    ds = _instance("1.2.3.4")
    ds.PatientName, ds.PatientID = "Sample^Alexandra", "PID-778899"
    ds.StudyDescription = "Head CT of Alexandra, PID-778899"
    assert _run(ds).get("StudyDescription") is None  # X without the option
    out = _run(ds, options=Options(clean_descriptors=True))
    assert out.StudyDescription == "Head CT of *, *"


def test_private_attributes_go_unless_safe_and_retained() -> None:
    ds = _instance("1.2.3.4")
    block = ds.private_block(0x0019, "SIEMENS MR HEADER", create=True)
    block.add_new(0x0C, "IS", "1000")  # B_value: on the safe list
    block.add_new(0x0F, "LO", "Operator Roe")  # not on it
    ds.private_block(0x0021, "OTHER VENDOR", create=True).add_new(0x01, "LO", "x")
    assert not any(e.tag.is_private for e in _run(ds))
    kept = [(int(e.tag), str(e.value)) for e in _run(ds, options=Options(retain_safe_private=True)) if e.tag.is_private]
    creator = (0x0019 << 16) | (block.block_start >> 8)
    assert kept == [(creator, "SIEMENS MR HEADER"), (0x00190000 | block.block_start | 0x0C, "1000")]


def test_group_5000_and_6000_overlays_are_removed() -> None:
    ds = _instance("1.2.3.4")
    ds.add_new(0x60003000, "OW", b"\0" * 8)
    ds.add_new(0x60004000, "LT", "Roe")
    ds.add_new(0x60000010, "US", 8)  # Overlay Rows: not in the table, but nothing without its data
    ds.add_new(0x50000010, "US", 1)
    out = _run(ds)
    assert [e.tag for e in out if e.tag >> 16 in (0x5000, 0x6000)] == []


@pytest.mark.parametrize(
    ("sop_class", "flag", "refused"),
    [
        ("1.2.840.10008.5.1.4.1.1.2", "YES", True),
        ("1.2.840.10008.5.1.4.1.1.2", None, False),
        ("1.2.840.10008.5.1.4.1.1.7", None, True),  # secondary capture, flag absent
        ("1.2.840.10008.5.1.4.1.1.6.1", None, True),  # ultrasound, flag absent
        ("1.2.840.10008.5.1.4.1.1.6.1", "NO", False),
        ("1.2.840.10008.5.1.4.1.1.77.1.4", None, False),  # VL photographic: not matched by a prefix of 1.1.7
    ],
)
def test_images_that_may_show_identity_are_refused(sop_class: str, flag: str | None, refused: bool) -> None:
    ds = _instance("1.2.3.4")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class
    if flag:
        ds.BurnedInAnnotation = flag
    if refused:
        with pytest.raises(BurnedInAnnotation) as raised:
            _run(ds)
        assert raised.value.status_code == 422
        _run(ds, options=Options(accept_burned_in=True))  # the caller's word lifts it
    else:
        _run(ds)


def test_options_are_checked() -> None:
    with pytest.raises(InvalidParameter):
        Options(retain_full_dates=True, retain_modified_dates=True)
    with pytest.raises(InvalidParameter):
        Options.from_names(["retain_everything"])


def test_not_dicom_is_refused() -> None:
    with pytest.raises(InvalidDicom):
        deidentify_file(io.BytesIO(b"not a dicom file" * 20), io.BytesIO(), KEY, Options())


def test_the_input_is_not_changed_by_the_dataset_call() -> None:
    ds = _instance("1.2.3.4")
    before = copy.deepcopy(ds)
    deidentify_dataset(copy.deepcopy(ds), KEY, Options())
    assert ds == before


def test_names_dates_and_instance_uids_the_table_does_not_list_are_not_kept() -> None:
    ds = _instance("1.2.3.4")
    ds.EvaluatorName, ds.ExpiryDate, ds.StudyUpdateDateTime = "Roe^Jane", "20240131", "20240131101010"
    ds.SOPInstanceUIDOfConcatenationSource = "1.2.826.0.1.3680043.2.1125.5.5"
    ds.CodingSchemeUID = "1.2.276.0.7230010.3.0.0.1"  # names a coding scheme: kept
    out = _run(ds)
    assert (str(out.EvaluatorName), out.ExpiryDate, out.StudyUpdateDateTime) == ("", "", "")
    assert out.SOPInstanceUIDOfConcatenationSource.startswith("2.25.")
    assert out.CodingSchemeUID == ds.CodingSchemeUID
    kept = _run(ds, options=Options(retain_full_dates=True))
    assert (kept.ExpiryDate, kept.StudyUpdateDateTime) == ("20240131", "20240131101010")
