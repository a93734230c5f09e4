"""Validate an uploaded file as DICOM (PS3.10) and extract what is indexed at upload.

pydicom reads lazily and forgives a great deal, so the checks that make an upload trustworthy are made here:
the preamble or a plausible dataset start, a header that parses, and element lengths that fit in the file
(a truncated file otherwise parses until its pixels are touched).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pydicom
from pydicom.dataset import Dataset, FileDataset
from pydicom.encaps import generate_fragments
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.uid import DeflatedExplicitVRLittleEndian

from dicom_api.errors import InvalidDicom

PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float and Double Float Pixel Data
UNDEFINED_LENGTH = 0xFFFFFFFF
_PREAMBLE = 128
# Groups a dataset without preamble can plausibly start with (command, file meta, directory, identifying).
_FIRST_GROUPS = {0x0000, 0x0002, 0x0004, 0x0008}
_EXPLICIT_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}


@dataclass(frozen=True)
class PixelDataInfo:
    """Where the Pixel Data element sits in the file, so it can be described without being read."""

    tag: int
    vr: str
    offset: int  # of the element's tag in the file
    value_offset: int
    length: int  # bytes of the value as stored (encapsulated: all items and the delimiter)
    undefined_length: bool


@dataclass(frozen=True)
class DicomSummary:
    """The identifying attributes indexed at upload (PS3.3 C.7 Patient, Study, Series, SOP Common)."""

    sop_class_uid: str | None
    sop_instance_uid: str | None
    study_instance_uid: str | None
    series_instance_uid: str | None
    patient_id: str | None
    patient_name: str | None
    modality: str | None
    study_date: str | None
    rows: int | None
    columns: int | None
    number_of_frames: int | None
    transfer_syntax_uid: str | None
    has_preamble: bool
    header_length: int  # bytes before Pixel Data (or the whole file): a header-only read needs no more
    pixel_data: PixelDataInfo | None


def inspect_dicom(path: Path) -> DicomSummary:
    """Validate the file at ``path`` as DICOM and return its summary; raise InvalidDicom otherwise."""
    size = path.stat().st_size
    if size == 0:
        raise InvalidDicom("The file is empty.")
    with path.open("rb") as fp:
        has_preamble = _has_preamble(fp, size)
        ds = _read_header(fp, has_preamble)
        if _is_deflated(ds):
            return _deflated_summary(fp, has_preamble, size)
        header_end = fp.tell()
        _check_header_fits(ds, size)
        pixel = _pixel_data_info(fp, ds, header_end, size)
    if len(ds) == 0:
        raise InvalidDicom(
            "The file holds no DICOM data set (at most its file meta information): it is truncated or empty."
        )
    if (
        pixel is None
        and "Rows" in ds
        and "Columns" in ds
        and "BitsAllocated" in ds
        and "PixelDataProviderURL" not in ds
    ):
        # The Image Pixel module requires Pixel Data (PS3.3 C.7.6.3): a file that stops before it was cut.
        raise InvalidDicom("The DICOM file is truncated: it describes an image but its Pixel Data is missing.")
    return _summarise(ds, has_preamble, pixel.offset if pixel else size, pixel)


def read_header(fp: BinaryIO, *, force: bool = True) -> FileDataset:
    """Read every attribute before Pixel Data, deferring large values (for files already validated)."""
    return pydicom.dcmread(fp, stop_before_pixels=True, defer_size=64 * 1024, force=force)


def _has_preamble(fp: BinaryIO, size: int) -> bool:
    head = fp.read(_PREAMBLE + 4)
    fp.seek(0)
    if size >= _PREAMBLE + 4 and head[_PREAMBLE:] == b"DICM":
        return True
    if len(head) >= 8:
        group_le, group_be = struct.unpack("<H", head[:2])[0], struct.unpack(">H", head[:2])[0]
        if group_le in _FIRST_GROUPS or group_be in _FIRST_GROUPS:
            return False
    raise InvalidDicom(
        "The file is not DICOM: it has neither the 'DICM' prefix after a 128-byte preamble "
        "nor a DICOM data set at its start."
    )


def _read_header(fp: BinaryIO, has_preamble: bool) -> FileDataset:
    try:
        # force only where the preamble is absent and the start was judged plausible above.
        ds = pydicom.dcmread(fp, stop_before_pixels=True, defer_size=1024, force=not has_preamble)
    except InvalidDicomError as exc:  # pydicom's own message here describes structure, never values
        raise InvalidDicom(f"The DICOM header cannot be parsed: {_short(exc)}") from None
    except EOFError:
        raise InvalidDicom("The DICOM file is truncated: it ends inside its header.") from None
    except Exception:  # pydicom raises many kinds on malformed input; their text may quote values
        raise InvalidDicom("The DICOM header cannot be parsed: an attribute is malformed.") from None
    return ds


def _is_deflated(ds: FileDataset) -> bool:
    meta = ds.file_meta
    return bool(meta) and str(meta.get("TransferSyntaxUID", "")) == DeflatedExplicitVRLittleEndian


def _deflated_summary(fp: BinaryIO, has_preamble: bool, size: int) -> DicomSummary:
    """A deflated data set (PS3.5 A.5) has no byte positions to check: inflate and read it whole.

    Its header is then the whole file, and Pixel Data is described from the inflated value.
    """
    fp.seek(0)
    try:
        ds = pydicom.dcmread(fp, force=not has_preamble)
        elem = next((ds[t] for t in PIXEL_TAGS if t in ds), None)
        pixel = (
            None
            if elem is None
            else PixelDataInfo(int(elem.tag), str(elem.VR), size, size, len(elem.value or b""), False)
        )
    except Exception:
        raise InvalidDicom("The deflated DICOM data set cannot be inflated: it is truncated or corrupt.") from None
    if len(ds) == 0:
        raise InvalidDicom("The file holds no DICOM data set.")
    return _summarise(ds, has_preamble, size, pixel)


def _check_header_fits(ds: Dataset, size: int) -> None:
    """A deferred value is only skipped over while parsing, so check that each one ends inside the file."""
    for elem in ds._dict.values():  # raw elements keep their position in the file
        tell, length = getattr(elem, "value_tell", None), getattr(elem, "length", 0)
        if tell is not None and length != UNDEFINED_LENGTH and tell + length > size:
            raise InvalidDicom("The DICOM file is truncated: an attribute runs past the end of the file.")


def _pixel_data_info(fp: BinaryIO, ds: FileDataset, start: int, size: int) -> PixelDataInfo | None:
    """Read the element header at ``start`` (where a header-only read stopped) and check its value fits.

    Hand-written because pydicom either reads the whole value or drops the element when it stops before it.
    """
    fp.seek(start)
    head = fp.read(12)
    if len(head) < 8:
        if head:
            raise InvalidDicom("The DICOM file is truncated: it ends inside an attribute's header.")
        return None
    little = ds.original_encoding[1] is not False
    implicit = ds.original_encoding[0] is True
    endian = "<" if little else ">"
    group, element = struct.unpack(endian + "HH", head[:4])
    tag = group << 16 | element
    if tag not in PIXEL_TAGS:
        raise InvalidDicom("The DICOM data set cannot be parsed past its header.")
    if not implicit and not head[4:6].isalpha():
        implicit = True  # the data set was written implicit despite its transfer syntax; pydicom adapts too
    if implicit:
        vr, length, value_offset = _implicit_pixel_vr(ds, tag), struct.unpack(endian + "I", head[4:8])[0], start + 8
    elif head[4:6] in _EXPLICIT_LONG_VRS:
        if len(head) < 12:
            raise InvalidDicom("The DICOM file is truncated: it ends inside the Pixel Data header.")
        vr, length, value_offset = head[4:6].decode(), struct.unpack(endian + "I", head[8:12])[0], start + 12
    else:
        raise InvalidDicom("The Pixel Data element has an invalid value representation.")
    if length == UNDEFINED_LENGTH:
        end = _encapsulated_end(fp, value_offset, little)
        return PixelDataInfo(tag, vr, start, value_offset, end - value_offset, True)
    if value_offset + length > size:
        raise InvalidDicom("The DICOM file is truncated: its Pixel Data is shorter than declared.")
    return PixelDataInfo(tag, vr, start, value_offset, length, False)


def _implicit_pixel_vr(ds: Dataset, tag: int) -> str:
    if tag != 0x7FE00010:
        return "OF" if tag == 0x7FE00008 else "OD"
    return "OW" if int(ds.get("BitsAllocated", 16) or 16) > 8 else "OB"


def _encapsulated_end(fp: BinaryIO, value_offset: int, little: bool) -> int:
    """Walk the items of encapsulated Pixel Data (PS3.5 A.4) up to the sequence delimiter; return its end."""
    fp.seek(value_offset)
    try:
        for _ in generate_fragments(fp, endianness="<" if little else ">"):
            pass
    except (ValueError, EOFError, struct.error):
        raise InvalidDicom("The DICOM file is truncated or malformed inside its encapsulated Pixel Data.") from None
    end = fp.tell()
    fp.seek(0, 2)
    if end > fp.tell():
        raise InvalidDicom("The DICOM file is truncated: its Pixel Data is shorter than declared.")
    return end


def _summarise(ds: FileDataset, has_preamble: bool, header_length: int, pixel: PixelDataInfo | None) -> DicomSummary:
    meta = ds.file_meta
    tsyntax = meta.get("TransferSyntaxUID") if meta else None
    return DicomSummary(
        sop_class_uid=_text(ds, "SOPClassUID") or (_text(meta, "MediaStorageSOPClassUID") if meta else None),
        sop_instance_uid=_text(ds, "SOPInstanceUID") or (_text(meta, "MediaStorageSOPInstanceUID") if meta else None),
        study_instance_uid=_text(ds, "StudyInstanceUID"),
        series_instance_uid=_text(ds, "SeriesInstanceUID"),
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        modality=_text(ds, "Modality"),
        study_date=_text(ds, "StudyDate"),
        rows=_int(ds, "Rows"),
        columns=_int(ds, "Columns"),
        number_of_frames=_int(ds, "NumberOfFrames") or (1 if pixel else None),
        transfer_syntax_uid=str(tsyntax) if tsyntax else None,
        has_preamble=has_preamble,
        header_length=header_length,
        pixel_data=pixel,
    )


def _text(ds: Dataset, keyword: str) -> str | None:
    try:
        value: Any = ds.get(keyword)
    except Exception:  # a malformed value must not refuse the file; it is simply not indexed
        return None
    if value is None or value == "":
        return None
    if isinstance(value, MultiValue | list | tuple):
        value = "\\".join(str(v) for v in value)
    text = str(value).strip()
    return text[:324] or None


def _int(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    except Exception:
        return None


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    return first[:200]
