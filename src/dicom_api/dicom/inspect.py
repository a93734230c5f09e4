"""Validate an uploaded file as DICOM (PS3.10) and extract what is indexed at upload.

pydicom reads lazily and forgives a great deal, so the checks that make an upload trustworthy are made here:
the preamble or a plausible dataset start, a header that parses, and element lengths that fit in the file
(a truncated file otherwise parses until its pixels are touched).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.errors import InvalidDicomError
from pydicom.filereader import data_element_generator
from pydicom.multival import MultiValue
from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian

from dicom_api.dicom.deflated import inflated, is_deflated, read_file_meta
from dicom_api.dicom.limits import DEFAULT_LIMITS, DicomLimits
from dicom_api.dicom.nesting import check_sequence_depth
from dicom_api.dicom.qido_attributes import indexed_values
from dicom_api.dicom.structure import ITEM_WEIGHT, TOO_MANY_ELEMENTS, count_elements, header_budget
from dicom_api.errors import InvalidDicom, PayloadTooLarge, UndecodableImage

Header = FileDataset  # a parsed header: everything but Pixel Data (PS3.10 7.1)

PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float and Double Float Pixel Data
UNDEFINED_LENGTH = 0xFFFFFFFF
_ITEM, _SEQUENCE_DELIMITER = 0xFFFEE000, 0xFFFEE0DD
_PREAMBLE = 128
_KEEP_DEFERRED = 64 * 1024  # a header keeps values up to this size in memory (the header cache's parse does)
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
    # What QIDO-RS searches and returns (qido_attributes.indexed_values), by tag.
    indexed: dict[int, str | int | None] = field(default_factory=dict, repr=False, compare=False)
    # The parsed header (the elements before Pixel Data), every value loaded; None when a value was too large
    # to keep.
    header: FileDataset | None = field(default=None, repr=False, compare=False)


def inspect_dicom(path: Path, limits: DicomLimits = DEFAULT_LIMITS) -> DicomSummary:
    """Validate the file at ``path`` as DICOM (PS3.10 7, PS3.5 7); return its summary or raise InvalidDicom
    (PayloadTooLarge for a deflated data set that inflates past ``limits``)."""
    size = path.stat().st_size
    if size == 0:
        raise InvalidDicom("The file is empty.")
    with path.open("rb") as fp:
        has_preamble = _has_preamble(fp, size)
        if is_deflated(fp):  # before pydicom reads it: it would inflate it whole
            return _deflated_summary(fp, has_preamble, size, limits)
        _check_element_count(fp, size)  # before pydicom builds a data set per item
        ds = _read_header(fp, has_preamble)
        check_sequence_depth(ds)
        header_end = fp.tell()
        pixel = _pixel_data_info(fp, ds, header_end, size)
        if pixel is None and len(ds):
            _check_runs_to_end(fp, *_last_element(ds), size)
    # Command elements (group 0000) are no data set: a run of zero bytes reads as a string of them.
    if all(int(tag) >> 16 == 0 for tag in ds.keys()):
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
    return replace(_summarise(ds, has_preamble, pixel.offset if pixel else size, pixel), header=_loaded(ds))


def _loaded(ds: FileDataset) -> FileDataset | None:
    """``ds`` with its deferred values read (while the file is still where it was parsed), or None when one of
    them is too large to keep in memory."""
    for tag, elem in list(ds._dict.items()):
        if isinstance(elem, RawDataElement) and elem.value is None:
            if elem.length > _KEEP_DEFERRED:
                return None
            try:
                ds[tag]  # reads the value from the file
            except Exception:
                return None
    return ds


def read_header(fp: BinaryIO, limits: DicomLimits = DEFAULT_LIMITS) -> FileDataset:
    """Every attribute before Pixel Data of a stored (validated) file; a deflated data set is inflated within
    ``limits`` (UndecodableImage past them: limits lowered since the upload)."""
    if not is_deflated(fp):
        return pydicom.dcmread(fp, stop_before_pixels=True, force=True)
    try:
        with inflated(fp, limits) as (ds, _):
            return ds  # every value was read from the inflated copy (no deferred reads)
    except (InvalidDicom, PayloadTooLarge) as exc:
        raise UndecodableImage(f"The stored file cannot be read: {exc.message}") from None


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


def _check_element_count(fp: BinaryIO, size: int) -> None:
    """Refuse a header holding more elements and items than its bytes justify (structure.header_budget), by a
    walk of its element headers; ``fp`` is rewound. A malformed File Meta Information is left to the parse."""
    try:
        fp.seek(0)
        meta = read_file_meta(fp)[1]
        start = fp.tell()
        syntax = meta.get("TransferSyntaxUID")
        implicit, little = _encoding(fp, None if syntax is None else str(syntax))
    except Exception:  # pydicom's parse reports it, in its own words
        fp.seek(0)
        return
    # The header ends at Pixel Data, known only at the walk's end: the whole file bounds it meanwhile.
    units, stop = count_elements(
        fp,
        size,
        allowed=header_budget(size - start),
        subject="The DICOM header",
        too_many=TOO_MANY_ELEMENTS,
        item_weight=ITEM_WEIGHT,
        implicit=implicit,
        little=little,
        stop_at_pixels=True,
    )
    fp.seek(0)
    if units > header_budget(stop - start):
        raise InvalidDicom(TOO_MANY_ELEMENTS)


def _encoding(fp: BinaryIO, syntax: str | None) -> tuple[bool, bool]:
    """Implicit VR and little endian, as pydicom's reader decides them for the data set at ``fp``."""
    if syntax == ImplicitVRLittleEndian:
        return True, True
    if syntax == ExplicitVRBigEndian:
        return False, False
    if syntax is not None:
        return False, True
    head = fp.read(6)
    fp.seek(-len(head), 1)
    if len(head) < 6 or not (0x40 < head[4] < 0x5B and 0x40 < head[5] < 0x5B):
        return True, True
    return False, struct.unpack("<H", head[:2])[0] < 1024


def _deflated_summary(fp: BinaryIO, has_preamble: bool, size: int, limits: DicomLimits) -> DicomSummary:
    """A deflated data set (PS3.5 A.5), inflated within ``limits`` into a temporary copy whose structure is
    checked as a file's is. Its header is the whole file; Pixel Data is described from the inflated value."""
    with inflated(fp, limits) as (ds, data):
        check_sequence_depth(ds)
        header_end = data.tell()  # where the header's read stopped: Pixel Data, or the end
        pixel = _pixel_data_info(data, ds, header_end, data.seek(0, 2))
    if len(ds) == 0:
        raise InvalidDicom("The file holds no DICOM data set.")
    if pixel is not None:
        pixel = PixelDataInfo(pixel.tag, pixel.vr, size, size, pixel.length, False)
    return _summarise(ds, has_preamble, size, pixel)


def _last_element(ds: Dataset) -> tuple[int, bool, bool]:
    """Where the data set's last element starts, and its encoding (pydicom keeps elements in file order)."""
    elem: Any = list(ds._dict.values())[-1]
    implicit = getattr(elem, "is_implicit_VR", ds.original_encoding[0] is True)
    little = getattr(elem, "is_little_endian", ds.original_encoding[1] is not False)
    tell = getattr(elem, "value_tell", None)
    if tell is None:  # an undefined-length sequence, parsed as it was read
        tell = elem.file_tell
    long_header = not implicit and elem.VR is not None and str(elem.VR).encode() in _EXPLICIT_LONG_VRS
    return int(tell) - (12 if long_header else 8), bool(implicit), bool(little)


def _check_runs_to_end(fp: BinaryIO, start: int, implicit: bool, little: bool, size: int) -> None:
    """Check that the elements from ``start`` end exactly at the end of the file.

    pydicom stops without complaint at an element header cut short, reads a value cut short as it is and skips
    deferred values by seeking, so a file cut inside its last element would otherwise pass for a complete one.
    """
    fp.seek(start)
    end = start
    try:
        for elem in data_element_generator(fp, implicit, little, defer_size=0):
            if (
                isinstance(elem, RawDataElement)
                and elem.length != UNDEFINED_LENGTH
                and elem.value_tell + elem.length > size
            ):
                break  # its value is cut short
            end = fp.tell()  # the generator has consumed exactly this element
    except Exception:
        raise InvalidDicom("The DICOM file is truncated or malformed after its last complete attribute.") from None
    if end != size:
        raise InvalidDicom("The DICOM file is truncated: it ends inside an attribute.")


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
        length, value_offset = struct.unpack(endian + "I", head[4:8])[0], start + 8
        vr = _implicit_pixel_vr(tag, length)
    elif head[4:6] in _EXPLICIT_LONG_VRS:
        if len(head) < 12:
            raise InvalidDicom("The DICOM file is truncated: it ends inside the Pixel Data header.")
        vr, length, value_offset = head[4:6].decode(), struct.unpack(endian + "I", head[8:12])[0], start + 12
    else:
        raise InvalidDicom("The Pixel Data element has an invalid value representation.")
    if length == UNDEFINED_LENGTH:
        end = _encapsulated_end(fp, value_offset, little, size)
    elif value_offset + length > size:
        raise InvalidDicom("The DICOM file is truncated: its Pixel Data is shorter than declared.")
    else:
        end = value_offset + length
    if end < size:  # what follows Pixel Data (e.g. Data Set Trailing Padding) must be whole too
        _check_runs_to_end(fp, end, implicit, little, size)
    return PixelDataInfo(tag, vr, start, value_offset, end - value_offset, length == UNDEFINED_LENGTH)


def _implicit_pixel_vr(tag: int, length: int) -> str:
    """PS3.5 A.1: native Pixel Data is OW in Implicit VR, whatever Bits Allocated says; encapsulated is OB."""
    if tag != 0x7FE00010:
        return "OF" if tag == 0x7FE00008 else "OD"
    return "OB" if length == UNDEFINED_LENGTH else "OW"


def _encapsulated_end(fp: BinaryIO, value_offset: int, little: bool, size: int) -> int:
    """Walk the items of encapsulated Pixel Data (PS3.5 A.4) to the sequence delimiter; return the end of it.

    Each item must fit in the file and the delimiter must be there: a file cut between two fragments is
    otherwise indistinguishable from one with fewer frames.
    """
    unpack = struct.Struct(("<" if little else ">") + "HHI").unpack
    position = value_offset
    while True:
        fp.seek(position)
        head = fp.read(8)
        if len(head) < 8:
            raise InvalidDicom("The DICOM file is truncated: its encapsulated Pixel Data has no end delimiter.")
        group, element, length = unpack(head)
        tag, position = group << 16 | element, position + 8
        if tag == _SEQUENCE_DELIMITER:
            return position
        if tag != _ITEM or length == UNDEFINED_LENGTH:
            raise InvalidDicom("The encapsulated Pixel Data is malformed: an item is missing or has no length.")
        position += length
        if position > size:
            raise InvalidDicom("The DICOM file is truncated: its Pixel Data is shorter than declared.")


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
        number_of_frames=_positive(_int(ds, "NumberOfFrames")) or (1 if pixel else None),
        transfer_syntax_uid=str(tsyntax) if tsyntax else None,
        has_preamble=has_preamble,
        header_length=header_length,
        pixel_data=pixel,
        indexed=indexed_values(ds),
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


def _positive(value: int | None) -> int | None:
    """Number of Frames is indexed only when valid; otherwise the image is read as one frame (frames.py)."""
    return value if value is not None and value > 0 else None


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    return first[:200]
