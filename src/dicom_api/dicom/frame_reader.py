"""Where each frame of a stored instance is, and its bytes as stored, for WADO-RS frame retrieval (PS3.18 10.4.1.1.3).

Native Pixel Data (PS3.5 8.1.1): frames follow one another, found by arithmetic; frames whose size is not a
whole number of bytes (1-bit images) are cut out bit by bit. Encapsulated Pixel Data (PS3.5 A.4): the items are
walked by their headers alone (never their content), then grouped into frames by the Extended Offset Table,
the Basic Offset Table, one frame, one fragment per frame, or the JPEG end-of-image marker closing each frame,
in that order, as pydicom's ``encaps.generate_fragmented_frames`` does (tests compare the two). Locations can be
computed once at storage time and kept; reading one then costs a seek per fragment.

A deflated data set (PS3.5 A.5) has no frames at offsets in the stored file: read them from an inflated copy.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from pydicom.dataset import Dataset

from dicom_api.dicom.frames import frame_count, header_geometry
from dicom_api.dicom.inspect import PixelDataInfo
from dicom_api.dicom.limits import DEFAULT_LIMITS, DicomLimits
from dicom_api.errors import FrameNotFound, UndecodableImage

MAX_FRAGMENTS = 1_000_000  # items of one encapsulated Pixel Data: one read each to locate them
CHUNK = 1024 * 1024
_ITEM, _SEQUENCE_DELIMITER = 0xFFFEE000, 0xFFFEE0DD
_JPEG_FAMILY = frozenset(f"1.2.840.10008.1.2.4.{n}" for n in (50, 51, 57, 70, 80, 81))
_EOI = b"\xff\xd9"


@dataclass(frozen=True)
class FrameLocation:
    """One frame's bytes in the stored file: byte ranges (file offset, length) joined in order. A native frame
    that is no whole number of bytes also gives ``bits``, its length in bits, and ``first_bit``, the bits of its
    first byte that belong to the frame before it (PS3.5 8.1.1: bits are packed from the least significant)."""

    fragments: tuple[tuple[int, int], ...]
    bits: int | None = None
    first_bit: int = 0

    @property
    def size(self) -> int:
        """The bytes ``read_frame`` yields."""
        if self.bits is not None:
            return (self.bits + 7) // 8
        return sum(length for _, length in self.fragments)


def frame_locations(
    fp: BinaryIO, header: Dataset, pixel: PixelDataInfo, limits: DicomLimits = DEFAULT_LIMITS
) -> list[FrameLocation]:
    """Every frame of the instance (PS3.5 8.1.1 native, A.4 encapsulated), in order: frame k is item k - 1.
    ``header`` is the data set before Pixel Data, ``pixel`` where Pixel Data is (dicom/inspect.py). Raises
    UndecodableImage (422) when the frames cannot be told apart or are not all in the file."""
    if pixel.undefined_length:
        return _encapsulated(fp, header, pixel)
    per_frame = header_geometry(header).stored_bits
    frames = frame_count(header, (pixel.length * 8) // per_frame)
    if frames * per_frame > pixel.length * 8:
        raise UndecodableImage("The Pixel Data is shorter than its Number of Frames declares.")
    return [_native(pixel, per_frame, k, limits) for k in range(1, frames + 1)]


def frame_location(
    fp: BinaryIO, header: Dataset, pixel: PixelDataInfo, frame: int, limits: DicomLimits = DEFAULT_LIMITS
) -> FrameLocation:
    """Frame ``frame`` (1-based, PS3.18 10.4.1.1.3): FrameNotFound (404) past the Number of Frames, UndecodableImage
    (422) when it is declared but not all in the file. A native frame is found without listing the others."""
    if pixel.undefined_length:
        locations = _encapsulated(fp, header, pixel)
        _check_number(frame, len(locations))
        return locations[frame - 1]
    per_frame = header_geometry(header).stored_bits
    _check_number(frame, frame_count(header, (pixel.length * 8) // per_frame))
    if frame * per_frame > pixel.length * 8:
        raise UndecodableImage(f"Frame {frame} is not in the file: its Pixel Data is shorter than declared.")
    return _native(pixel, per_frame, frame, limits)


def _check_number(frame: int, frames: int) -> None:
    if not 1 <= frame <= frames:
        raise FrameNotFound(f"The instance has {frames} frame(s); frame {frame} does not exist.")


def _native(pixel: PixelDataInfo, per_frame: int, frame: int, limits: DicomLimits) -> FrameLocation:
    """Native frame ``frame`` (PS3.5 8.1.1): frames follow one another bit by bit, so most start on a byte."""
    start = (frame - 1) * per_frame
    if per_frame % 8 == 0:
        return FrameLocation(((pixel.value_offset + start // 8, per_frame // 8),))
    if (per_frame + 7) // 8 > limits.max_frame_bytes:
        raise UndecodableImage("A bit-packed frame is larger than a frame may be (DICOM_API_MAX_FRAME_BYTES).")
    first, end = start // 8, (start + per_frame + 7) // 8
    return FrameLocation(((pixel.value_offset + first, end - first),), bits=per_frame, first_bit=start % 8)


def read_frame(fp: BinaryIO, location: FrameLocation, chunk_size: int = CHUNK) -> Iterator[bytes]:
    """The frame's bytes in chunks of at most ``chunk_size`` (a bit-packed frame in one, its bits realigned to
    start at the first bit of its first byte). UndecodableImage when the file ends before them."""
    if location.bits is not None:
        data = b"".join(_read_ranges(fp, location.fragments, chunk_size))
        value = int.from_bytes(data, "little") >> location.first_bit
        yield (value & ((1 << location.bits) - 1)).to_bytes(location.size, "little")
        return
    yield from _read_ranges(fp, location.fragments, chunk_size)


def _read_ranges(fp: BinaryIO, ranges: tuple[tuple[int, int], ...], chunk_size: int) -> Iterator[bytes]:
    for offset, length in ranges:
        fp.seek(offset)
        left = length
        while left:
            chunk = fp.read(min(chunk_size, left))
            if not chunk:
                raise UndecodableImage("The stored file ends inside a frame.")
            left -= len(chunk)
            yield chunk


@dataclass(frozen=True)
class _Fragment:
    item: int  # offset of its item tag in the file
    offset: int  # of its content
    length: int


def _encapsulated(fp: BinaryIO, header: Dataset, pixel: PixelDataInfo) -> list[FrameLocation]:
    offsets, fragments = _walk_items(fp, pixel.value_offset, pixel.value_offset + pixel.length)
    if not fragments:
        raise UndecodableImage("The encapsulated Pixel Data holds no fragment.")
    single = len(fragments) == 1 or len(offsets) == 1
    frames = frame_count(header, 1 if single else None)
    groups = _group(fp, header, offsets, fragments, frames)
    return [FrameLocation(tuple((f.offset, f.length) for f in group)) for group in groups]


def _walk_items(fp: BinaryIO, start: int, end: int) -> tuple[list[int], list[_Fragment]]:
    """The Basic Offset Table's entries and every fragment (PS3.5 A.4), from the item headers alone."""
    unpack = struct.Struct("<HHI").unpack
    position, offsets, fragments = start, None, []
    while position + 8 <= end:
        fp.seek(position)
        head = fp.read(8)
        if len(head) < 8:
            break
        group, element, length = unpack(head)
        tag = group << 16 | element
        if tag == _SEQUENCE_DELIMITER:
            break
        if tag != _ITEM or length == 0xFFFFFFFF or position + 8 + length > end:
            raise UndecodableImage("The encapsulated Pixel Data is malformed: an item is missing or cut.")
        if offsets is None:
            if length > 4 * MAX_FRAGMENTS:
                raise UndecodableImage("The Basic Offset Table is larger than any frame count allowed.")
            table = fp.read(length)
            offsets = list(struct.unpack(f"<{length // 4}I", table[: length // 4 * 4]))
        else:
            fragments.append(_Fragment(position, position + 8, length))
            if len(fragments) > MAX_FRAGMENTS:
                raise UndecodableImage(f"The encapsulated Pixel Data has more than {MAX_FRAGMENTS} fragments.")
        position += 8 + length
    return offsets or [], fragments


def _group(
    fp: BinaryIO, header: Dataset, offsets: list[int], fragments: list[_Fragment], frames: int
) -> list[list[_Fragment]]:
    """Fragments per frame (PS3.5 A.4): by an offset table, else by count, else by JPEG end-of-image markers."""
    base = fragments[0].item  # offsets count from the first fragment's item tag
    extended = _extended_offsets(header)
    if extended is not None:
        starts, lengths = extended
        groups = _by_offsets(fragments, [base + s for s in starts])
        if len(groups) == frames and all(sum(f.length for f in g) == n for g, n in zip(groups, lengths, strict=True)):
            return groups
        raise UndecodableImage("The Extended Offset Table does not match the Pixel Data fragments.")
    if len(offsets) > 1 or (offsets and frames == 1):
        groups = _by_offsets(fragments, [base + s for s in offsets])
        if len(groups) == frames:
            return groups
        raise UndecodableImage("The Basic Offset Table does not match the Number of Frames.")
    if frames == 1:
        return [fragments]
    if len(fragments) == frames:
        return [[f] for f in fragments]
    syntax = str(getattr(getattr(header, "file_meta", None), "TransferSyntaxUID", "") or "")
    if syntax in _JPEG_FAMILY:
        groups = _by_end_of_image(fp, fragments)
        if len(groups) == frames:
            return groups
    raise UndecodableImage("The frames of the encapsulated Pixel Data cannot be told apart (no offset table).")


def _by_offsets(fragments: list[_Fragment], starts: list[int]) -> list[list[_Fragment]]:
    if starts != sorted(starts) or len(set(starts)) != len(starts):
        return []
    index = {f.item: i for i, f in enumerate(fragments)}
    if any(s not in index for s in starts):
        return []
    bounds = [index[s] for s in starts] + [len(fragments)]
    return [fragments[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _by_end_of_image(fp: BinaryIO, fragments: list[_Fragment]) -> list[list[_Fragment]]:
    """A JPEG frame ends with the EOI marker (ITU-T T.81 B.2.1), maybe followed by one padding byte (PS3.5 A.4)."""
    groups: list[list[_Fragment]] = []
    current: list[_Fragment] = []
    for fragment in fragments:
        current.append(fragment)
        fp.seek(fragment.offset + max(0, fragment.length - 3))
        tail = fp.read(min(3, fragment.length))
        if tail.endswith(_EOI) or tail[:-1].endswith(_EOI):
            groups.append(current)
            current = []
    return groups if not current else []


def _extended_offsets(header: Dataset) -> tuple[list[int], list[int]] | None:
    """Extended Offset Table and its Lengths (PS3.3 C.7.6.3.1.8), 64-bit each; None when absent or unusable."""
    try:
        raw_table = bytes(header.get("ExtendedOffsetTable") or b"")
        raw_lengths = bytes(header.get("ExtendedOffsetTableLengths") or b"")
    except Exception:  # noqa: BLE001 - a malformed table is treated as none
        return None
    if not raw_table or len(raw_table) != len(raw_lengths) or len(raw_table) % 8:
        return None
    count = len(raw_table) // 8
    return list(struct.unpack(f"<{count}Q", raw_table)), list(struct.unpack(f"<{count}Q", raw_lengths))
