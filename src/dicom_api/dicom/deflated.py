"""Deflated Explicit VR Little Endian data sets (PS3.5 A.5), inflated within limits before pydicom reads them.

pydicom inflates such a data set in one ``zlib.decompress`` call: 2 MB can become 2 GiB in memory, and a stream
of zeros reads as millions of empty elements. Here the stream is inflated in bounded chunks into a temporary
file, counting what comes out, and its element structure is walked (cheaply, without building a data set)
before pydicom parses it. pydicom is then handed the inflated stream, an Explicit VR Little Endian data set.
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, cast

from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.filereader import _read_file_meta_info, read_dataset, read_preamble
from pydicom.uid import DeflatedExplicitVRLittleEndian

from dicom_api.dicom.limits import RATIO_FREE_BYTES, DicomLimits
from dicom_api.dicom.structure import PIXEL_TAGS, count_elements
from dicom_api.errors import InvalidDicom, PayloadTooLarge

_CHUNK = 1024 * 1024
_IN_MEMORY = 8 * 1024 * 1024  # smaller inflated data sets never reach the disk
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
        allowed = min(MAX_ELEMENTS, max(MIN_ELEMENTS, deflated_size))
        count_elements(out, size, allowed=allowed, subject="The deflated data set", strict=True)
        out.seek(0)
        try:
            ds: Any = read_dataset(out, False, True, stop_when=lambda tag, _vr, _length: tag in PIXEL_TAGS)
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
