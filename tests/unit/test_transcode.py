"""Instances rewritten in Explicit VR Little Endian (PS3.18 8.7.3.4): the same pixel values as pydicom decodes from
the stored file, the same instance UID, and a clean refusal (406) when it cannot be done or would cost too much."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.filewriter import dcmwrite
from pydicom.uid import MPEG2MPML, ExplicitVRBigEndian, ExplicitVRLittleEndian, JPEGBaseline8Bit

from dicom_api.dicom.limits import DicomLimits
from dicom_api.dicom.transcode import transcode_to_explicit_little_endian
from dicom_api.errors import CannotTranscode
from tests.corpus import CORPUS


def _transcode(data: bytes, limits: DicomLimits | None = None) -> Dataset:
    out = io.BytesIO()
    if limits is None:
        transcode_to_explicit_little_endian(io.BytesIO(data), out)
    else:
        transcode_to_explicit_little_endian(io.BytesIO(data), out, limits)
    return pydicom.dcmread(io.BytesIO(out.getvalue()))


@pytest.mark.parametrize(
    "name",
    [
        "pydicom/MR_small_implicit.dcm",
        "pydicom/MR_small_bigendian.dcm",
        "pydicom/MR_small_RLE.dcm",
        "pydicom/MR_small_jp2klossless.dcm",
        "pydicom/MR_small_jpeg_ls_lossless.dcm",
        "pydicom/SC_rgb_jpeg_dcmtk.dcm",
        "pydicom/SC_rgb_jpeg.dcm",  # written implicit under an explicit syntax
        "pydicom/SC_rgb_rle_2frame.dcm",
        "pydicom/image_dfl.dcm",  # deflated
        "pydicom-data/SC_rgb_expb_32bit_2frame.dcm",
        "pydicom-data/OBXXXX1A_expb.dcm",
        "pydicom-data/JPEG-LL.dcm",
        "pydicom-data/emri_small_RLE.dcm",
    ],
)
def test_pixel_values_survive(name: str) -> None:
    path: Path = CORPUS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stored = pydicom.dcmread(path, force=True)
        expected = stored.pixel_array
        back = _transcode(path.read_bytes())
        assert back.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert back.original_encoding == (False, True)
        assert back.SOPInstanceUID == stored.SOPInstanceUID
        assert not back["PixelData"].is_undefined_length
        np.testing.assert_array_equal(back.pixel_array, expected)


def test_other_word_values_of_a_big_endian_file_are_swapped() -> None:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", "1.2.3"
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 2, 16, 16, 15
    ds.SamplesPerPixel, ds.PixelRepresentation, ds.PhotometricInterpretation = 1, 0, "MONOCHROME2"
    ds.add_new(0x60003000, "OW", b"\x01\x02\x03\x04")  # Overlay Data: big endian words 0x0102, 0x0304
    ds.PixelData = b"\x12\x34\x56\x78"
    ds["PixelData"].VR = "OW"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    out = io.BytesIO()
    dcmwrite(out, ds, implicit_vr=False, little_endian=False, enforce_file_format=True)
    back = _transcode(out.getvalue())
    assert np.frombuffer(back[0x60003000].value, "<u2").tolist() == [0x0102, 0x0304]
    assert back.pixel_array.tolist() == [[0x1234, 0x5678]]


def _encapsulated(syntax: str, frames: list[bytes], rows: int = 8, columns: int = 8) -> bytes:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", "1.2.3"
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = rows, columns, 8, 8, 7
    ds.SamplesPerPixel, ds.PixelRepresentation, ds.PhotometricInterpretation = 1, 0, "MONOCHROME2"
    ds.NumberOfFrames = len(frames)
    ds.PixelData = encapsulate(frames)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_no_decoder_is_a_refusal() -> None:
    with pytest.raises(CannotTranscode):
        _transcode(_encapsulated(MPEG2MPML, [b"\x00\x00\x01\xb3" + bytes(100)]))


def test_a_corrupt_codestream_is_a_refusal() -> None:
    with pytest.raises(CannotTranscode):
        _transcode(_encapsulated(JPEGBaseline8Bit, [b"\xff\xd8garbage\xff\xd9"]))


def _jpeg_file() -> bytes:
    return CORPUS["pydicom/SC_rgb_jpeg_dcmtk.dcm"].read_bytes()  # 100 x 100 RGB, 30,000 bytes decoded


def test_the_frame_limit_is_checked_before_decoding() -> None:
    with pytest.raises(CannotTranscode, match="DICOM_API_MAX_FRAME_BYTES"):
        _transcode(_jpeg_file(), DicomLimits(max_frame_bytes=29_999))


def test_the_total_limit_is_checked_before_decoding() -> None:
    with pytest.raises(CannotTranscode, match="DICOM_API_MAX_INFLATED_BYTES"):
        _transcode(_jpeg_file(), DicomLimits(max_inflated_bytes=29_999))
    assert _transcode(_jpeg_file(), DicomLimits(max_frame_bytes=30_000, max_inflated_bytes=30_000)).Rows == 100


def test_a_codestream_declaring_another_size_is_refused() -> None:
    """The header says 8 x 8; the JPEG says 100 x 100: its decoder is never called."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stored = pydicom.dcmread(CORPUS["pydicom/SC_rgb_jpeg_dcmtk.dcm"])
    codestream = next(pydicom.encaps.generate_frames(stored.PixelData, number_of_frames=1))
    with pytest.raises(CannotTranscode, match="declares"):
        _transcode(_encapsulated(JPEGBaseline8Bit, [codestream]))


def test_not_dicom_is_a_refusal() -> None:
    with pytest.raises(CannotTranscode):
        _transcode(b"not a DICOM file at all")
