"""Frames as stored (PS3.5 8.1.1 native, A.4 encapsulated): located from item headers, read by offset, and equal
to what pydicom's own frame reader gives for every image of the corpus."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, encapsulate_extended, generate_frames
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEGBaseline8Bit, RLELossless

from dicom_api.dicom.frame_reader import FrameLocation, frame_location, frame_locations, read_frame
from dicom_api.dicom.inspect import DicomSummary, inspect_dicom
from dicom_api.errors import FrameNotFound, UndecodableImage
from tests.corpus import CORPUS


def _summary(path: Path) -> DicomSummary | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return inspect_dicom(path)
    except Exception:  # not DICOM, or refused at upload: never stored
        return None


def _frames(path: Path, summary: DicomSummary) -> list[bytes]:
    assert summary.header is not None
    assert summary.pixel_data is not None
    with path.open("rb") as fp:
        return [
            b"".join(read_frame(fp, loc, chunk_size=1000))
            for loc in frame_locations(fp, summary.header, summary.pixel_data)
        ]


def _reference(path: Path, sizes: int) -> list[bytes]:
    """pydicom's frames: generate_frames for encapsulated Pixel Data, slices of the value for native."""
    ds = pydicom.dcmread(path, force=True)  # a file without preamble is accepted at upload
    frames = int(str(ds.get("NumberOfFrames") or 1).rstrip("A"))  # badVR.dcm says "1A"
    if ds["PixelData"].is_undefined_length:
        offsets = None
        if "ExtendedOffsetTable" in ds:
            offsets = (ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths)
        return list(generate_frames(ds.PixelData, number_of_frames=frames, extended_offsets=offsets))
    return [bytes(ds.PixelData[k * sizes : (k + 1) * sizes]) for k in range(frames)]


def test_every_stored_image_of_the_corpus_matches_pydicom() -> None:
    compared = 0
    for path in CORPUS.values():
        summary = _summary(path)
        if summary is None or summary.pixel_data is None or summary.header is None or "Rows" not in summary.header:
            continue
        if summary.pixel_data.offset == summary.pixel_data.value_offset:
            continue  # deflated: frames are read from an inflated copy
        mine = _frames(path, summary)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert mine == _reference(path, len(mine[0])), path.name
        compared += 1
    assert compared > 100


def _stored(tmp_path: Path, ds: Dataset, syntax: str) -> tuple[Path, DicomSummary]:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", "1.2.3.4"
    path = tmp_path / "f.dcm"
    ds.save_as(path, enforce_file_format=True)
    summary = inspect_dicom(path)
    return path, summary


def _image(rows: int, columns: int, bits: int, frames: int) -> Dataset:
    ds = Dataset()
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = rows, columns, bits, bits, bits - 1
    ds.SamplesPerPixel, ds.PixelRepresentation, ds.PhotometricInterpretation = 1, 0, "MONOCHROME2"
    ds.NumberOfFrames = frames
    return ds


def test_bit_packed_frames_are_cut_out_bit_by_bit(tmp_path: Path) -> None:
    """3 x 3 1-bit frames: 9 bits each, so every frame after the first starts inside a byte."""
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2, size=(4, 9), dtype=np.uint8)
    ds = _image(3, 3, 1, 4)
    ds.PixelData = np.packbits(bits.ravel(), bitorder="little").tobytes()
    path, summary = _stored(tmp_path, ds, ExplicitVRLittleEndian)
    frames = _frames(path, summary)
    assert [len(f) for f in frames] == [2, 2, 2, 2]
    for k, frame in enumerate(frames):
        unpacked = np.unpackbits(np.frombuffer(frame, np.uint8), bitorder="little")
        assert unpacked[:9].tolist() == bits[k].tolist()
        assert not unpacked[9:].any()  # the bits of the next frame are not carried along


def test_frame_numbers_past_the_last_are_not_found(tmp_path: Path) -> None:
    ds = _image(2, 2, 8, 3)
    ds.PixelData = bytes(range(12))
    path, summary = _stored(tmp_path, ds, ExplicitVRLittleEndian)
    assert summary.header is not None
    assert summary.pixel_data is not None
    with path.open("rb") as fp:
        assert b"".join(read_frame(fp, frame_location(fp, summary.header, summary.pixel_data, 3))) == bytes(
            range(8, 12)
        )
        for frame in (0, 4):
            with pytest.raises(FrameNotFound):
                frame_location(fp, summary.header, summary.pixel_data, frame)


def _jpeg(n: int, size: int) -> bytes:
    """A stand-in JPEG frame: SOI, n * size filler bytes, EOI (only the markers matter to the grouping)."""
    return b"\xff\xd8" + bytes([n]) * size + b"\xff\xd9"


def test_fragments_grouped_by_end_of_image_without_offset_table(tmp_path: Path) -> None:
    frames = [_jpeg(1, 10), _jpeg(2, 21), _jpeg(3, 5)]
    ds = _image(2, 2, 8, 3)
    ds.PixelData = encapsulate(frames, fragments_per_frame=2, has_bot=False)  # 2 fragments each, no table
    path, summary = _stored(tmp_path, ds, JPEGBaseline8Bit)
    assert [f.rstrip(b"\0") for f in _frames(path, summary)] == frames


def test_extended_offset_table(tmp_path: Path) -> None:
    frames = [b"\x01" * 10, b"\x02" * 4, b"\x03" * 6]
    ds = _image(2, 2, 8, 3)
    ds.PixelData, ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths = encapsulate_extended(frames)
    path, summary = _stored(tmp_path, ds, RLELossless)
    assert _frames(path, summary) == frames


def test_an_offset_table_that_disagrees_is_refused(tmp_path: Path) -> None:
    ds = _image(2, 2, 8, 3)
    ds.PixelData = encapsulate([b"\x01" * 10, b"\x02" * 4], has_bot=True)  # 2 frames where 3 are declared
    path, summary = _stored(tmp_path, ds, RLELossless)
    with pytest.raises(UndecodableImage):
        _frames(path, summary)


def test_a_file_cut_inside_a_frame_fails_while_reading(tmp_path: Path) -> None:
    ds = _image(2, 2, 8, 3)
    ds.PixelData = bytes(12)
    path, summary = _stored(tmp_path, ds, ExplicitVRLittleEndian)
    assert summary.header is not None
    assert summary.pixel_data is not None
    with path.open("rb") as fp:
        last = frame_locations(fp, summary.header, summary.pixel_data)[-1]
    path.write_bytes(path.read_bytes()[:-2])
    with path.open("rb") as fp, pytest.raises(UndecodableImage):
        b"".join(read_frame(fp, last))


def test_location_size() -> None:
    assert FrameLocation(((0, 3), (10, 4))).size == 7
    assert FrameLocation(((0, 3),), bits=17, first_bit=5).size == 3


def test_a_frame_declared_but_cut_is_undecodable_and_the_others_are_served(tmp_path: Path) -> None:
    ds = _image(2, 2, 8, 4)
    ds.PixelData = bytes(range(12))  # 3 frames where 4 are declared
    path, summary = _stored(tmp_path, ds, ExplicitVRLittleEndian)
    assert summary.header is not None
    assert summary.pixel_data is not None
    with path.open("rb") as fp:
        assert b"".join(read_frame(fp, frame_location(fp, summary.header, summary.pixel_data, 2))) == bytes(range(4, 8))
        with pytest.raises(UndecodableImage):
            frame_location(fp, summary.header, summary.pixel_data, 4)
        with pytest.raises(FrameNotFound):
            frame_location(fp, summary.header, summary.pixel_data, 5)
        with pytest.raises(UndecodableImage):
            frame_locations(fp, summary.header, summary.pixel_data)
