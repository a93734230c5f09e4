"""Deflated Explicit VR Little Endian data sets (PS3.5 A.5), inflated within limits before pydicom reads them.

pydicom inflates such a data set in one ``zlib.decompress`` call: 2 MB can become 2 GiB in memory, and a stream
of zeros reads as millions of empty elements. Here the stream is inflated in bounded chunks into a temporary
file, counting what comes out, and its element structure is walked (cheaply, without building a data set)
before pydicom parses it. pydicom is then handed the inflated stream, an Explicit VR Little Endian data set.
"""

from __future__ import annotations

import struct
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, cast

from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.filereader import _read_file_meta_info, read_dataset, read_preamble
from pydicom.uid import DeflatedExplicitVRLittleEndian

from dicom_api.dicom.limits import RATIO_FREE_BYTES, DicomLimits
from dicom_api.errors import InvalidDicom, PayloadTooLarge

_CHUNK = 1024 * 1024
_IN_MEMORY = 8 * 1024 * 1024  # smaller inflated data sets never reach the disk
_PIXEL_TAGS = frozenset((0x7FE00010, 0x7FE00008, 0x7FE00009))
_LONG_VRS = frozenset((b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"))
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
# Elements and items a deflated data set may hold: one per deflated byte, at least MIN_ELEMENTS, at most
# MAX_ELEMENTS. Each costs pydicom 8 us (an element) to 60 us and 700 bytes (an item): 10 KB deflated can hold
# 900,000 empty items (85 s and 660 MB to parse). Honest data sets deflate a few times, and each element
# takes at least 8 bytes inflated, so they hold fewer elements than deflated bytes.
MIN_ELEMENTS, MAX_ELEMENTS = 20_000, 1_000_000


def read_file_meta(fp: BinaryIO) -> tuple[bytes | None, FileMetaDataset]:
    """The preamble and File Meta Information (PS3.10 7.1), ``fp`` left at the data set.

    pydicom's own reader of the group is used (its public one opens a path); its full reader would inflate.
    """
    preamble = read_preamble(fp, True)
    return preamble, _read_file_meta_info(fp)


def is_deflated(fp: BinaryIO) -> bool:
    """Whether the file's transfer syntax is Deflated Explicit VR Little Endian; ``fp`` is rewound."""
    start = fp.tell()
    try:
        return str(read_file_meta(fp)[1].get("TransferSyntaxUID", "")) == DeflatedExplicitVRLittleEndian
    except Exception:  # a malformed group (an unknown VR, say) raises only when a value is read
        return False  # not this reader's to judge: the caller's parse reports it
    finally:
        fp.seek(start)


@contextmanager
def inflated(fp: BinaryIO, limits: DicomLimits) -> Iterator[tuple[FileDataset, BinaryIO]]:
    """The header (every element before Pixel Data) of the deflated file ``fp``, and a temporary copy of its
    inflated data set (Explicit VR Little Endian, no File Meta Information) positioned at its Pixel Data; the
    copy lives as long as the block.

    Raises PayloadTooLarge past a limit, InvalidDicom when the stream is corrupt or its elements malformed.
    """
    fp.seek(0)
    preamble, meta = read_file_meta(fp)
    start = fp.tell()
    deflated_size = fp.seek(0, 2) - start
    fp.seek(start)
    with tempfile.SpooledTemporaryFile(_IN_MEMORY) as spooled:
        out = cast(BinaryIO, spooled)
        size = _inflate(fp, out, deflated_size, limits)
        out.seek(0)
        _walk(out, size, min(MAX_ELEMENTS, max(MIN_ELEMENTS, deflated_size)))
        out.seek(0)
        try:
            ds: Any = read_dataset(out, False, True, stop_when=lambda tag, _vr, _length: tag in _PIXEL_TAGS)
        except Exception:  # pydicom's messages may quote values
            raise InvalidDicom("The deflated data set cannot be parsed: an attribute is malformed.") from None
        header = FileDataset("", ds, preamble=preamble, file_meta=meta, is_implicit_VR=False, is_little_endian=True)
        yield header, out


def _inflate(fp: BinaryIO, out: BinaryIO, deflated_size: int, limits: DicomLimits) -> int:
    """Inflate the raw deflate stream (RFC 1951) of ``fp`` into ``out``, never holding more than a chunk of
    output at once; stop as soon as a limit is passed."""
    allowed = min(limits.max_inflated_bytes, max(RATIO_FREE_BYTES, deflated_size * limits.max_inflation_ratio))
    inflater, written = zlib.decompressobj(-zlib.MAX_WBITS), 0
    try:
        while not inflater.eof:
            data = inflater.unconsumed_tail or fp.read(_CHUNK)
            chunk = inflater.decompress(data, _CHUNK)  # with no input left, what zlib still holds
            if not data and not chunk:
                raise InvalidDicom("The deflated data set is truncated: its deflate stream does not end.")
            written += len(chunk)
            if written > allowed:
                raise PayloadTooLarge(_too_large(allowed, limits))
            out.write(chunk)
    except zlib.error:
        raise InvalidDicom("The deflated data set cannot be inflated: its deflate stream is corrupt.") from None
    return written


def _too_large(allowed: int, limits: DicomLimits) -> str:
    if allowed == limits.max_inflated_bytes:
        return (
            f"The deflated data set inflates to more than {limits.max_inflated_bytes} bytes "
            "(DICOM_API_MAX_INFLATED_BYTES)."
        )
    return (
        f"The deflated data set inflates to more than {limits.max_inflation_ratio} times its size "
        "(DICOM_API_MAX_INFLATION_RATIO)."
    )


def _walk(fp: BinaryIO, size: int, allowed: int) -> None:
    """Walk the element headers of the inflated data set (PS3.5 7.1.2, 7.5), skipping values: each must have
    a valid VR and fit, and there may be at most ``allowed`` elements and items. A run of zero bytes (which
    pydicom reads as millions of elements, slowly) fails at its first element."""
    _walk_data_set(fp, size, [allowed], top=True)


def _spend(budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise InvalidDicom("The deflated data set holds more attributes and items than its size allows.")


def _walk_data_set(fp: BinaryIO, end: int, budget: list[int], *, top: bool = False) -> None:
    """Elements until ``end`` or, in an item of undefined length, its delimiter (consumed)."""
    while fp.tell() < end:
        head = fp.read(8)
        if len(head) < 8:
            raise InvalidDicom("The deflated data set is truncated inside an attribute's header.")
        group, element = struct.unpack_from("<HH", head)
        tag = group << 16 | element
        if tag == _ITEM_END:
            return
        _spend(budget)
        vr = head[4:6]
        if not (vr.isalpha() and vr.isupper()):
            raise InvalidDicom("The deflated data set is malformed: an attribute has no valid VR.")
        if vr in _LONG_VRS:
            extra = fp.read(4)
            if len(extra) < 4:
                raise InvalidDicom("The deflated data set is truncated inside an attribute's header.")
            (length,) = struct.unpack("<I", extra)
        else:
            (length,) = struct.unpack_from("<H", head, 6)
        if top and tag in _PIXEL_TAGS and length == _UNDEFINED:
            _walk_items(fp, end, True, budget, fragments=True)  # encapsulated (PS3.5 A.4)
        else:
            _skip_value(fp, vr, length, end, budget)


def _skip_value(fp: BinaryIO, vr: bytes, length: int, end: int, budget: list[int]) -> None:
    if vr == b"SQ" or length == _UNDEFINED:
        if length == _UNDEFINED and vr != b"SQ":
            # An undefined-length UN holds an Implicit VR sequence (PS3.5 6.2.2): not walked, refused.
            raise InvalidDicom("The deflated data set holds an attribute of undefined length that is no sequence.")
        _walk_items(fp, end if length == _UNDEFINED else fp.tell() + length, length == _UNDEFINED, budget)
        return
    if fp.tell() + length > end:
        raise InvalidDicom("The deflated data set is truncated: an attribute's value runs past its end.")
    fp.seek(length, 1)


def _walk_items(fp: BinaryIO, end: int, undefined: bool, budget: list[int], *, fragments: bool = False) -> None:
    """A sequence's items (PS3.5 7.5.1), to ``end`` or its delimiter; ``fragments``: items of encapsulated
    Pixel Data, whose values are skipped."""
    while fp.tell() < end:
        head = fp.read(8)
        if len(head) < 8:
            raise InvalidDicom("The deflated data set is truncated inside a sequence.")
        group, element, length = struct.unpack("<HHI", head)
        tag = group << 16 | element
        if tag == _SEQUENCE_END and undefined:
            return
        _spend(budget)
        if tag != _ITEM:
            raise InvalidDicom("The deflated data set is malformed inside a sequence.")
        if length == _UNDEFINED:
            if fragments:
                raise InvalidDicom("The deflated data set's Pixel Data has a fragment of undefined length.")
            _walk_data_set(fp, end, budget)
        else:
            if fp.tell() + length > end:
                raise InvalidDicom("The deflated data set is truncated inside a sequence.")
            if fragments:
                fp.seek(length, 1)
            else:
                _walk_data_set(fp, fp.tell() + length, budget)
    if undefined:
        raise InvalidDicom("The deflated data set is truncated: a sequence has no end.")
