"""A stored instance rewritten in Explicit VR Little Endian, the syntax WADO-RS sends when none is asked for
(PS3.18 8.7.3.4; PS3.5 A.2).

Native little endian data sets are re-encoded as they are; compressed Pixel Data is decoded by pydicom's decoders
(pylibjpeg, Pillow), each frame's codestream checked first (dicom/frames.py); big endian Pixel Data is decoded and
written little endian, and the other word-sized binary values swapped. What it may cost is bounded before any of
it is done: a frame by ``max_frame_bytes``, all frames together by ``max_inflated_bytes``, a deflated data set
inflated within limits (dicom/deflated.py). CPU-bound: run it off the event loop.

The SOP Instance UID is kept: the instance is the same one, in another encoding (PS3.18 8.7.3.4 lets a server
convert; a lossy source stays marked by its Lossy Image Compression attributes).
"""

from __future__ import annotations

import warnings
from typing import BinaryIO

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.filereader import read_dataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian

from dicom_api.dicom.codestreams import repair_sequential_scans
from dicom_api.dicom.deflated import inflated, is_deflated
from dicom_api.dicom.frames import available_decoder, check_codestream, dataset_syntax, frame_count, geometry
from dicom_api.dicom.limits import DEFAULT_LIMITS, DicomLimits
from dicom_api.errors import AppError, CannotTranscode

PIXEL_DATA = 0x7FE00010
_WORD_SIZES = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}  # PS3.5 7.3: byte order within these values
_JPEG_DCT = frozenset(f"1.2.840.10008.1.2.4.{n}" for n in (50, 51))


def transcode_to_explicit_little_endian(src: BinaryIO, out: BinaryIO, limits: DicomLimits = DEFAULT_LIMITS) -> None:
    """Write the Part 10 file in ``src`` to ``out`` in Explicit VR Little Endian (PS3.10 7, PS3.5 A.2).
    CannotTranscode (406) when its Pixel Data has no decoder here, fails to decode, or would need more than
    ``limits``; nothing useful is in ``out`` then."""
    try:
        with warnings.catch_warnings():  # pydicom's warnings may quote values: none reach the log
            warnings.simplefilter("ignore")
            ds = _read(src, limits)
            syntax = dataset_syntax(ds)
            # Every value decoded now: a raw element keeps its encoding's bytes and VR (None when it was
            # written implicit under an explicit syntax, which pydicom reads but cannot write).
            ds.walk(lambda _ds, _elem: None)
            _complete_file_meta(ds)
            if PIXEL_DATA in ds and ds[PIXEL_DATA].is_undefined_length:
                _decompress(ds, syntax, limits)
            elif syntax == ExplicitVRBigEndian:
                _big_to_little(ds, limits)
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            dcmwrite(out, ds, implicit_vr=False, little_endian=True, enforce_file_format=True)
    except CannotTranscode:
        raise
    except AppError as exc:
        raise CannotTranscode(f"The instance cannot be sent in Explicit VR Little Endian: {exc.message}") from None
    except Exception:  # noqa: BLE001 - a decoder's or writer's message may quote values
        raise CannotTranscode(
            "The instance cannot be sent in Explicit VR Little Endian: it fails to convert."
        ) from None


def _read(src: BinaryIO, limits: DicomLimits) -> Dataset:
    src.seek(0)
    if not is_deflated(src):
        ds = pydicom.dcmread(src, force=True)
        if not hasattr(ds, "file_meta") or ds.file_meta is None:
            ds.file_meta = FileMetaDataset()
        return ds
    with inflated(src, limits) as (header, data):
        rest = read_dataset(data, False, True)  # Pixel Data and what follows it, already inflated
        header.update(rest)
        return header


def _complete_file_meta(ds: Dataset) -> None:
    """PS3.10 7.1: the Media Storage SOP Class and Instance UIDs, taken from the data set when the file has none."""
    meta = ds.file_meta
    for meta_keyword, keyword in (
        ("MediaStorageSOPClassUID", "SOPClassUID"),
        ("MediaStorageSOPInstanceUID", "SOPInstanceUID"),
    ):
        if not meta.get(meta_keyword) and ds.get(keyword):
            setattr(meta, meta_keyword, ds.get(keyword))


def _decompress(ds: Dataset, syntax: UID, limits: DicomLimits) -> None:
    """Encapsulated Pixel Data (PS3.5 A.4) decoded: every frame's codestream checked against the header and the
    limits before any decoder runs, sequential JPEG scans repaired as the renderer does."""
    available_decoder(syntax, "pixel data")  # none installed: refused before any work
    found = geometry(ds, limits)
    frames = frame_count(ds, None)
    _check_total(found.decoded_bytes * frames, limits)
    offsets = None
    if "ExtendedOffsetTable" in ds and "ExtendedOffsetTableLengths" in ds:
        offsets = (ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths)
    codestreams = list(generate_frames(ds.PixelData, number_of_frames=frames, extended_offsets=offsets))
    for data in codestreams:
        check_codestream(str(syntax), data, found, limits)
    if str(syntax) in _JPEG_DCT:
        codestreams = [repair_sequential_scans(data) for data in codestreams]
    for keyword in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
        ds.pop(keyword, None)
    ds.PixelData = encapsulate(codestreams)
    ds.decompress(as_rgb=True, generate_instance_uid=False)


def _big_to_little(ds: Dataset, limits: DicomLimits) -> None:
    """Big endian values (PS3.5 A.3) in little endian order: Pixel Data decoded to its values and written
    again, other OW/OF/OL/OD/OV values swapped word by word."""
    _swap_words(ds)
    if PIXEL_DATA not in ds:
        return
    found = geometry(ds, limits)
    if found.bits_allocated not in (8, 16, 32, 64) or found.subsampled:
        raise CannotTranscode("Big endian Pixel Data of this layout is not converted here.")
    _check_total(found.decoded_bytes * frame_count(ds, None), limits)
    arr = ds.pixel_array
    ds.PixelData = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    ds[PIXEL_DATA].VR = "OB" if found.bits_allocated == 8 else "OW"
    if found.samples > 1:
        ds.PlanarConfiguration = 0  # pydicom gives the samples of a pixel together


def _swap_words(ds: Dataset) -> None:
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value or []:
                _swap_words(item)
        elif elem.tag != PIXEL_DATA and elem.VR in _WORD_SIZES and isinstance(elem.value, bytes):
            size = _WORD_SIZES[elem.VR]
            usable = len(elem.value) // size * size
            words = np.frombuffer(elem.value[:usable], dtype=f">u{size}")
            elem.value = words.astype(f"<u{size}").tobytes() + elem.value[usable:]


def _check_total(decoded: int, limits: DicomLimits) -> None:
    if decoded > limits.max_inflated_bytes:
        raise CannotTranscode(
            f"The instance decodes to {decoded} bytes, more than the {limits.max_inflated_bytes} allowed "
            "(DICOM_API_MAX_INFLATED_BYTES)."
        )
