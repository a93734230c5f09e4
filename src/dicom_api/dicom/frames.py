"""What one frame may cost to decode, checked before a decoder is called.

The header's image size (PS3.3 C.7.6.3 Image Pixel module) is held to a limit and to the bytes that are
present: native Pixel Data must hold the frame asked for (PS3.5 8.1.1), and each compressed frame must declare
the header's size in its own codestream (ITU-T T.81, T.87, T.800; the RLE header of PS3.5 G.5), because a
decoder allocates what its codestream declares.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import Decoder, get_decoder
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from dicom_api.dicom.codestreams import Declared, MalformedCodestream, j2k_size, jpeg_frame, rle_segments
from dicom_api.dicom.limits import DicomLimits
from dicom_api.errors import CannotTranscode, UndecodableImage

_JPEG = frozenset(f"1.2.840.10008.1.2.4.{n}" for n in (50, 51, 57, 70, 80, 81))  # T.81 and T.87 (JPEG-LS)
_J2K = frozenset(f"1.2.840.10008.1.2.4.{n}" for n in (90, 91, 92, 93, 201, 202, 203))  # T.800 and HTJ2K
_RLE = "1.2.840.10008.1.2.5"
_RLE_MAX_EXPANSION = 64  # a replicate run turns 2 bytes into at most 128 (PS3.5 G.3.1)
_ITEM, _SEQUENCE_DELIMITER = 0xFFFEE000, 0xFFFEE0DD


@dataclass(frozen=True)
class Geometry:
    """One frame as the header declares it (PS3.3 C.7.6.3)."""

    rows: int
    columns: int
    samples: int
    bits_allocated: int
    subsampled: bool = False  # YBR_FULL_422: native Pixel Data holds two samples per pixel (PS3.3 C.7.6.3.1.2)

    @property
    def decoded_bytes(self) -> int:
        """What a decoder returns for it: 1-bit samples come back one byte each."""
        return self.rows * self.columns * self.samples * max(1, (self.bits_allocated + 7) // 8)

    @property
    def stored_bits(self) -> int:
        """Its size in native Pixel Data, where frames follow one another bit by bit (PS3.5 8.1.1)."""
        return self.rows * self.columns * (2 if self.subsampled else self.samples) * self.bits_allocated


def geometry(ds: Dataset, limits: DicomLimits) -> Geometry:
    """The header's frame size, refused (422) when decoding it would need more than ``max_frame_bytes``."""
    found = header_geometry(ds)
    _within_limit(found.decoded_bytes, found.columns, found.rows, limits)
    return found


def header_geometry(ds: Dataset) -> Geometry:
    """The header's frame size (PS3.3 C.7.6.3), whatever it is; UndecodableImage (422) when it is no size."""
    try:
        found = Geometry(
            int(ds.Rows),
            int(ds.Columns),
            int(ds.get("SamplesPerPixel") or 1),
            int(ds.get("BitsAllocated") or 0),
            str(ds.get("PhotometricInterpretation", "")).strip().upper() == "YBR_FULL_422",
        )
    except (AttributeError, TypeError, ValueError):
        raise UndecodableImage(
            "The Pixel Data cannot be shown: its Rows, Columns or Bits Allocated are not numbers."
        ) from None
    if min(found.rows, found.columns, found.samples) < 1 or not 1 <= found.bits_allocated <= 64:
        raise UndecodableImage("The Pixel Data cannot be shown: the image's size or sample layout is invalid.")
    return found


def _within_limit(decoded: int, columns: int, rows: int, limits: DicomLimits) -> None:
    if decoded > limits.max_frame_bytes:
        raise UndecodableImage(
            f"The image is not rendered: a frame of {columns} x {rows} would decode to {decoded} bytes, more than "
            f"the {limits.max_frame_bytes} allowed (DICOM_API_MAX_FRAME_BYTES)."
        )


def frame_count(ds: Dataset, frames_present: int | None) -> int:
    """Number of Frames (PS3.3 C.7.6.6, an IS); absent, 1. Read as dcmtk reads it: the digits it starts with
    (pydicom's badVR.dcm has '1A'). A value with none, or not positive, is read as 1 when the Pixel Data holds
    exactly one frame (``frames_present``; None when that cannot be told), and refused otherwise."""
    elem: Any = ds.get_item(0x00280008) if 0x00280008 in ds else None
    raw = elem.value if elem is not None else None
    if raw in (None, b"", ""):
        return 1
    text = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    digits = re.match(r"\s*\+?(\d{1,10})", text)
    count = int(digits.group(1)) if digits else 0
    if count >= 1:
        return count
    if frames_present == 1:
        return 1
    raise UndecodableImage(
        "The Number of Frames (0028,0008) is not a positive number, and the Pixel Data does not hold exactly one frame."
    )


def native_frames_present(length: int, found: Geometry) -> int:
    return (length * 8) // found.stored_bits


def check_native_frame(length: int, found: Geometry, frame: int) -> None:
    """Native Pixel Data of ``length`` bytes must hold all of ``frame`` (1-based; PS3.5 8.1.1)."""
    if frame * found.stored_bits > length * 8:
        raise UndecodableImage(
            f"Frame {frame} is not in the file: its Pixel Data is shorter than its Number of Frames declares."
        )


def encapsulated_frames_present(fp: BinaryIO, little: bool = True) -> int | None:
    """1 when encapsulated Pixel Data (PS3.5 A.4; ``fp`` at its Basic Offset Table item) plainly holds one frame:
    one fragment, or an offset table of one entry. None when that cannot be told without decoding."""
    unpack = struct.Struct(("<" if little else ">") + "HHI").unpack
    start = fp.tell()
    try:
        fragments, offsets = 0, None
        while fragments < 2:
            head = fp.read(8)
            if len(head) < 8:
                return None
            group, element, length = unpack(head)
            if group << 16 | element != _ITEM:
                break  # the sequence delimiter, or something malformed that pydicom will report
            if offsets is None:
                offsets = length // 4
            else:
                fragments += 1
            fp.seek(length, 1)
        return 1 if fragments == 1 or offsets == 1 else None
    finally:
        fp.seek(start)


def check_codestream(syntax: str, data: bytes, found: Geometry, limits: DicomLimits) -> None:
    """Refuse (422) a compressed frame whose own header declares another size than the DICOM header, or more
    than the limit: JPEG and JPEG-LS frame headers (T.81 B.2.2, T.87 C.2.2), the JPEG 2000 SIZ segment
    (T.800 A.5.1), the RLE header (PS3.5 G.5). Other transfer syntaxes are left to their decoder."""
    try:
        if syntax in _JPEG:
            declared: Declared | None = jpeg_frame(data)[0]
        elif syntax in _J2K:
            declared = j2k_size(data)
        elif syntax == _RLE:
            _check_rle(data, found)
            declared = None
        else:
            return
    except MalformedCodestream as exc:
        raise UndecodableImage(f"The compressed frame cannot be decoded ({syntax_name(syntax)}): {exc}.") from None
    if declared is None:
        return
    _within_limit(declared.decoded_bytes, declared.columns, declared.rows, limits)
    if (declared.columns, declared.rows) != (found.columns, found.rows):
        raise UndecodableImage(
            f"The compressed frame declares {declared.columns} x {declared.rows} pixels where the header says "
            f"{found.columns} x {found.rows}: it is not decoded."
        )


def _check_rle(data: bytes, found: Geometry) -> None:
    """One segment per byte of each sample (PS3.5 G.2), each long enough to hold Rows x Columns bytes."""
    segments = rle_segments(data)
    expected = found.samples * max(1, found.bits_allocated // 8)
    if len(segments) != expected:
        raise MalformedCodestream(f"it has {len(segments)} RLE segments where the header implies {expected}")
    if any(length * _RLE_MAX_EXPANSION < found.rows * found.columns for _, length in segments):
        raise MalformedCodestream("an RLE segment is too short to hold the frame the header declares")


def available_decoder(syntax: str, what: str) -> Decoder:
    """pydicom's decoder of the encapsulated transfer syntax ``syntax`` (PS3.5 A.4) when its plugin is installed
    here; CannotTranscode (406), naming ``what`` ("frame", "pixel data"), when there is none."""
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        decoder = None
    if decoder is None or not decoder.is_available:
        raise CannotTranscode(f"The {what} cannot be decoded here ({syntax_name(syntax)}).")
    return decoder


def syntax_name(uid: str) -> str:
    name = UID(uid).name
    return f"{name}, {uid}" if name and name != str(uid) else str(uid)


def dataset_syntax(ds: Dataset) -> UID:
    """The file's transfer syntax; for a bare data set, the one its encoding implies (PS3.5 A.1-A.3)."""
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid:
        return UID(str(uid))
    implicit, little = ds.original_encoding
    if implicit:
        return ImplicitVRLittleEndian
    return ExplicitVRBigEndian if little is False else ExplicitVRLittleEndian
