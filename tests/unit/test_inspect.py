"""inspect_dicom: what it accepts, what it refuses, and a summary that agrees with pydicom's own reading."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from dicom_api.dicom.inspect import PIXEL_TAGS, DicomSummary, inspect_dicom
from dicom_api.errors import InvalidDicom
from tests.helpers import sample

# Native and encapsulated (RLE, JPEG 2000), little and big endian, implicit and explicit, with and without images.
REFERENCE = [
    "CT_small.dcm",
    "MR_small_RLE.dcm",
    "JPEG2000.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_implicit.dcm",
    "SC_rgb_jpeg_dcmd.dcm",
    "SC_rgb_rle_2frame.dcm",
    "rtplan.dcm",
    "ExplVR_BigEndNoMeta.dcm",
]
TRUNCATED = ["CT_small.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm", "MR_small_bigendian.dcm", "SC_rgb_rle_2frame.dcm"]
_LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


def _write(tmp_path: Path, data: bytes, name: str = "f.dcm") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _refused(path: Path) -> str:
    with pytest.raises(InvalidDicom) as caught:
        inspect_dicom(path)
    assert len(caught.value.message) > 10
    return caught.value.message


def _header_size(elem: object, implicit: bool) -> int:
    vr = getattr(elem, "VR", None)
    return 8 if implicit or vr is None or str(vr) not in _LONG_VRS else 12


def _expected_pixel(path: Path) -> tuple[int, str, int, int, int] | None:
    """(tag, VR, offset, value offset, stored length) of the pixel element, from pydicom's full reading."""
    ds = pydicom.dcmread(path, force=True)
    tag = next((t for t in PIXEL_TAGS if t in ds), None)
    if tag is None:
        return None
    vr = str(ds[tag].VR)  # pydicom settles the VR (PS3.5 A.1: OW in implicit VR)
    raw = pydicom.dcmread(path, force=True, defer_size=0).get_item(tag, keep_deferred=True)
    tell = raw.value_tell
    offset = tell - _header_size(raw, raw.is_implicit_VR)
    if raw.length == 0xFFFFFFFF:
        return tag, vr, offset, tell, len(ds[tag].value) + 8  # the items and the sequence delimiter
    return tag, vr, offset, tell, raw.length


@pytest.mark.parametrize("name", REFERENCE)
def test_summary_agrees_with_pydicom(name: str) -> None:
    path = sample(name)
    summary = inspect_dicom(path)
    ds = pydicom.dcmread(path, force=True)
    meta = ds.file_meta
    assert summary.sop_class_uid == (ds.get("SOPClassUID") or meta.get("MediaStorageSOPClassUID"))
    assert summary.sop_instance_uid == (ds.get("SOPInstanceUID") or meta.get("MediaStorageSOPInstanceUID"))
    assert summary.study_instance_uid == ds.get("StudyInstanceUID")
    assert summary.series_instance_uid == ds.get("SeriesInstanceUID")
    assert summary.patient_id == (ds.get("PatientID") or None)
    assert summary.patient_name == (str(ds.PatientName) if ds.get("PatientName") else None)
    assert summary.modality == ds.get("Modality")
    assert summary.rows == ds.get("Rows")
    assert summary.columns == ds.get("Columns")
    assert summary.transfer_syntax_uid == meta.get("TransferSyntaxUID")
    assert summary.has_preamble == (path.read_bytes()[128:132] == b"DICM")
    expected = _expected_pixel(path)
    if expected is None:
        assert summary.pixel_data is None
        assert summary.number_of_frames == ds.get("NumberOfFrames")
        assert summary.header_length == path.stat().st_size
    else:
        pixel = summary.pixel_data
        assert pixel is not None
        assert (pixel.tag, pixel.vr, pixel.offset, pixel.value_offset, pixel.length) == expected
        assert pixel.undefined_length == (ds[pixel.tag].is_undefined_length)
        assert summary.header_length == pixel.offset
        assert summary.number_of_frames == int(ds.get("NumberOfFrames") or 1)


def test_header_stops_where_a_header_only_read_stops() -> None:
    path = sample("CT_small.dcm")
    summary = inspect_dicom(path)
    with path.open("rb") as fp:
        header = pydicom.dcmread(fp, stop_before_pixels=True)
        assert fp.tell() == summary.header_length
    head = pydicom.dcmread(io.BytesIO(path.read_bytes()[: summary.header_length]))
    assert head.PatientID == header.PatientID
    assert "PixelData" not in head


def test_file_meta_without_preamble_is_accepted(tmp_path: Path) -> None:
    data = sample("CT_small.dcm").read_bytes()[132:]
    summary = inspect_dicom(_write(tmp_path, data))
    full = inspect_dicom(sample("CT_small.dcm"))
    assert summary.has_preamble is False
    assert summary.header_length == full.header_length - 132
    assert summary.pixel_data is not None
    assert full.pixel_data is not None
    assert summary.pixel_data.length == full.pixel_data.length
    assert (summary.sop_instance_uid, summary.rows, summary.transfer_syntax_uid) == (
        full.sop_instance_uid,
        full.rows,
        full.transfer_syntax_uid,
    )


def _image(bits: int = 16, rows: int = 4, columns: int = 3) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.PatientID = "ANON"
    ds.Modality = "OT"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    dtype = np.uint8 if bits == 8 else np.uint16
    ds.PixelData = np.arange(rows * columns, dtype=dtype).tobytes()
    return ds


def _encode(ds: Dataset, *, implicit: bool, meta: bool = False, preamble: bool = False) -> bytes:
    if meta:
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    ds.preamble = b"\0" * 128 if preamble else None
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, implicit_vr=implicit, little_endian=True, enforce_file_format=preamble)
    return buffer.getvalue()


@pytest.mark.parametrize("implicit", [True, False], ids=["implicit", "explicit"])
def test_data_set_starting_with_group_0008_is_accepted(tmp_path: Path, implicit: bool) -> None:
    ds = _image()
    data = _encode(ds, implicit=implicit)
    assert data[:2] == b"\x08\x00"
    summary = inspect_dicom(_write(tmp_path, data))
    assert summary.has_preamble is False
    assert summary.transfer_syntax_uid is None
    assert (summary.rows, summary.columns, summary.number_of_frames) == (4, 3, 1)
    assert summary.sop_instance_uid == ds.SOPInstanceUID
    pixel = summary.pixel_data
    assert pixel is not None
    assert pixel.length == 4 * 3 * 2
    assert pixel.value_offset + pixel.length == len(data)
    assert pixel.offset == summary.header_length == len(data) - pixel.length - (8 if implicit else 12)
    assert data[pixel.offset : pixel.offset + 4] == b"\xe0\x7f\x10\x00"


@pytest.mark.parametrize("implicit", [True, False], ids=["implicit", "explicit"])
def test_data_set_starting_with_group_0002_is_accepted(tmp_path: Path, implicit: bool) -> None:
    data = _encode(_image(), implicit=implicit, meta=True)
    assert data[:2] == b"\x02\x00"
    summary = inspect_dicom(_write(tmp_path, data))
    assert summary.has_preamble is False
    assert summary.transfer_syntax_uid == (ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian)
    assert summary.pixel_data is not None
    assert summary.pixel_data.value_offset + summary.pixel_data.length == len(data)


def test_implicit_vr_pixel_data_is_ow_even_for_8_bits(tmp_path: Path) -> None:
    # PS3.5 A.1: in Implicit VR Little Endian, Pixel Data is OW whatever Bits Allocated says.
    data = _encode(_image(bits=8), implicit=True, meta=True, preamble=True)
    summary = inspect_dicom(_write(tmp_path, data))
    assert summary.pixel_data is not None
    assert summary.pixel_data.vr == "OW"
    assert summary.pixel_data.length == 12


def test_explicit_vr_pixel_data_keeps_its_written_vr(tmp_path: Path) -> None:
    data = _encode(_image(bits=8), implicit=False, meta=True, preamble=True)
    summary = inspect_dicom(_write(tmp_path, data))
    assert summary.pixel_data is not None
    assert summary.pixel_data.vr == "OB"


def test_non_image_data_set_has_no_pixel_data(tmp_path: Path) -> None:
    ds = Dataset()
    ds.PatientID = "ANON"
    ds.StudyDate = "20200101"
    data = _encode(ds, implicit=True)
    summary = inspect_dicom(_write(tmp_path, data))
    assert summary.pixel_data is None
    assert summary.number_of_frames is None
    assert summary.header_length == len(data)
    assert summary.study_date == "20200101"


@pytest.mark.parametrize(
    ("label", "payload"),
    [
        ("empty", b""),
        ("text", b"hello, not dicom\n" * 50),
        ("short text", b"DICM"),
        ("png", b"\x89PNG\r\n\x1a\n" + bytes(500)),
        ("gzip", b"\x1f\x8b\x08\x00" + bytes(200)),
        ("random", np.random.default_rng(7).bytes(4096)),
        ("preamble only", bytes(128) + b"DICM"),
        ("zeros", bytes(4096)),
        ("zeros after the preamble", bytes(128) + b"DICM" + bytes(64)),
    ],
)
def test_non_dicom_is_refused(tmp_path: Path, label: str, payload: bytes) -> None:
    _refused(_write(tmp_path, payload))


def test_file_meta_alone_is_refused(tmp_path: Path) -> None:
    data = _encode(_image(), implicit=False, meta=True, preamble=True)
    meta_end = 144 + struct.unpack("<I", data[140:144])[0]  # File Meta Information Group Length
    assert "no DICOM data set" in _refused(_write(tmp_path, data[:meta_end]))


def _element_starts(path: Path) -> dict[int, int]:
    """Where each top-level data set element of a reference file starts, by tag."""
    ds = pydicom.dcmread(path, force=True, defer_size=0)
    starts = {}
    for tag in ds.keys():
        raw = ds.get_item(tag, keep_deferred=True)
        tell = getattr(raw, "value_tell", None)
        if tell is None:  # an undefined-length sequence, already parsed
            tell = raw.file_tell
        implicit = getattr(raw, "is_implicit_VR", ds.original_encoding[0])
        starts[int(tag)] = tell - _header_size(raw, implicit)
    return starts


def _tolerated_cuts(path: Path) -> set[int]:
    """Cut points that leave a well-formed data set, which nothing can tell from a complete one.

    A cut at an element boundary ahead of Bits Allocated leaves a data set that describes no image; a cut at an
    element boundary after Pixel Data leaves a complete image. Anywhere else the cut must be detected.
    """
    starts = _element_starts(path)
    pixel = next((starts[t] for t in PIXEL_TAGS if t in starts), None)
    return {start for tag, start in starts.items() if tag <= 0x00280100 or (pixel is not None and start > pixel)}


def _cut_points(size: int) -> list[int]:
    grid = range(1, size, max(1, size // 120))
    near_end = range(max(1, size - 40), size)
    return sorted(set(grid) | set(near_end))


@pytest.mark.parametrize("name", TRUNCATED)
def test_truncated_files_are_refused(tmp_path: Path, name: str) -> None:
    path = sample(name)
    data = path.read_bytes()
    tolerated = _tolerated_cuts(path)
    accepted = []
    for cut in _cut_points(len(data)):
        target = _write(tmp_path, data[:cut])
        try:
            inspect_dicom(target)
        except InvalidDicom:
            continue
        if cut not in tolerated:
            accepted.append(cut)
    assert accepted == [], f"{name}: truncated copies accepted at byte offsets {accepted}"


@pytest.mark.parametrize(
    ("name", "cut", "reason"),
    [
        ("CT_small.dcm", -1, "inside the trailing padding after Pixel Data"),
        ("CT_small.dcm", -130, "inside the header of the element after Pixel Data"),
        ("CT_small.dcm", 6290, "inside the Pixel Data element's header"),
        ("CT_small.dcm", 886, "inside an element header"),
        ("JPEG2000.dcm", -8, "without the sequence delimiter of the encapsulated Pixel Data"),
        ("JPEG2000.dcm", -20, "inside the last fragment"),
        ("MR_small_RLE.dcm", -3000, "inside a fragment"),
        ("rtplan.dcm", -3, "inside the last element's value"),
    ],
)
def test_truncation_at_known_places(tmp_path: Path, name: str, cut: int, reason: str) -> None:
    data = sample(name).read_bytes()
    assert "truncated" in _refused(_write(tmp_path, data[:cut])), reason


def test_incomplete_trailing_element_header_is_refused(tmp_path: Path) -> None:
    data = _encode(_image(), implicit=True, meta=True, preamble=True)
    for extra in (b"\x08", b"\x08\x00\x20\x00", b"\x08\x00\x20\x00\x08\x00\x00"):
        _refused(_write(tmp_path, data + extra))


def test_data_set_of_command_elements_only_is_refused(tmp_path: Path) -> None:
    _refused(_write(tmp_path, bytes(8)))  # (0000,0000) of length 0, as in a run of zero bytes
    _refused(_write(tmp_path, bytes(128) + b"DICM" + bytes(32)))


def test_image_without_pixel_data_is_refused(tmp_path: Path) -> None:
    ds = _image()
    del ds.PixelData
    assert "Pixel Data" in _refused(_write(tmp_path, _encode(ds, implicit=False, meta=True, preamble=True)))


def test_deflated_data_set_is_inflated() -> None:
    path = sample("image_dfl.dcm")
    summary = inspect_dicom(path)
    ds = pydicom.dcmread(path)
    assert summary.transfer_syntax_uid == "1.2.840.10008.1.2.1.99"
    assert summary.header_length == path.stat().st_size
    assert summary.pixel_data is not None
    assert summary.pixel_data.length == len(ds.PixelData)
    assert (summary.rows, summary.columns) == (ds.Rows, ds.Columns)


def test_truncated_deflated_stream_is_refused(tmp_path: Path) -> None:
    data = sample("image_dfl.dcm").read_bytes()
    _refused(_write(tmp_path, data[: len(data) // 2]))


def _check_or_refused(path: Path) -> None:
    try:
        summary = inspect_dicom(path)
    except InvalidDicom:
        return
    assert isinstance(summary, DicomSummary)
    size = path.stat().st_size
    assert 0 <= summary.header_length <= size
    if summary.pixel_data is not None:
        assert summary.pixel_data.value_offset + summary.pixel_data.length <= size


_FUZZED = {name: sample(name).read_bytes() for name in ("CT_small.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm")}
_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_FUZZ
@given(
    name=st.sampled_from(sorted(_FUZZED)),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=4)), max_size=6),
    cut=st.floats(0.01, 1),
)
def test_mutated_files_are_refused_or_accepted_never_crash(
    tmp_path: Path, name: str, edits: list[tuple[float, bytes]], cut: float
) -> None:
    data = bytearray(_FUZZED[name])
    for where, new in edits:
        at = int(where * len(data))
        data[at : at + len(new)] = new
    _check_or_refused(_write(tmp_path, bytes(data[: max(1, int(cut * len(data)))])))


@_FUZZ
@given(name=st.sampled_from(sorted(_FUZZED)), start=st.floats(0, 1), length=st.integers(1, 64))
def test_files_with_a_hole_are_refused_or_accepted_never_crash(
    tmp_path: Path, name: str, start: float, length: int
) -> None:
    data = _FUZZED[name]
    at = int(start * len(data))
    _check_or_refused(_write(tmp_path, data[:at] + data[at + length :]))


@_FUZZ
@given(data=st.binary(min_size=0, max_size=600))
def test_random_bytes_are_refused_or_accepted_never_crash(tmp_path: Path, data: bytes) -> None:
    _check_or_refused(_write(tmp_path, data))


@_FUZZ
@given(body=st.binary(min_size=0, max_size=300))
def test_random_bytes_after_a_preamble_are_refused_or_accepted_never_crash(tmp_path: Path, body: bytes) -> None:
    _check_or_refused(_write(tmp_path, bytes(128) + b"DICM" + body))
