"""What a compressed frame declares about itself, read from its own header before any decoder sees it.

Decoders allocate the image their codestream declares before they can be stopped: a 644-byte JPEG-LS frame can
ask for 65535 x 65535 samples. The headers below are a few fixed fields each, so they are read by hand here
(no decoder exposes them without decoding): JPEG frame headers (ITU-T T.81 B.2.2), JPEG-LS ones (ITU-T T.87
C.2.2, marker SOF55), the JPEG 2000 image and tile size marker (ITU-T T.800 A.5.1) and the RLE header
(PS3.5 G.5).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Start Of Frame markers (T.81 B.1.1.3, table B.1): all but DHT (C4), JPG (C8) and DAC (CC); F7 is JPEG-LS's
# SOF55 (T.87 C.2.2).
_SOF = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7))
_SEQUENTIAL_DCT = frozenset((0xC0, 0xC1, 0xC9))  # baseline and extended sequential (Huffman, arithmetic)
_STANDALONE = frozenset((0x01, *range(0xD0, 0xDA)))  # TEM, RSTn, SOI, EOI: no length field (T.81 B.1.1.2)
_SOS = 0xDA
_J2K_SIZ = b"\xff\x4f\xff\x51"  # SOC then SIZ, the codestream's first two markers (T.800 A.4.1, A.5.1)
_J2K_SEARCH = 64 * 1024  # a JP2 file's boxes that precede its codestream (T.800 I.5) are small
RLE_HEADER = 64


class MalformedCodestream(ValueError):
    """The frame's header is missing or cut short."""


@dataclass(frozen=True)
class Declared:
    """The image a codestream says it holds."""

    columns: int
    rows: int
    components: int
    precision: int  # bits per sample

    @property
    def decoded_bytes(self) -> int:
        return self.columns * self.rows * self.components * ((self.precision + 7) // 8)


def jpeg_frame(data: bytes) -> tuple[Declared, int]:
    """The frame header of a JPEG or JPEG-LS stream (T.81 B.2.2, T.87 C.2.2: P, Y, X, Nf) and its SOF marker."""
    if data[:2] != b"\xff\xd8":
        raise MalformedCodestream("no SOI marker")
    for marker, start, length in _jpeg_segments(data):
        if marker in _SOF:
            if length < 8:
                raise MalformedCodestream("frame header cut short")
            precision, rows, columns, components = struct.unpack_from(">BHHB", data, start + 2)
            return Declared(columns, rows, components, precision), marker
        if marker == _SOS:
            break
    raise MalformedCodestream("no frame header before the first scan")


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, offset of its length field, length) of each marker segment up to the first scan's header
    (T.81 B.1.1.4: a length counts itself; fill bytes 0xFF may precede a marker)."""
    found, position = [], 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise MalformedCodestream("a marker was expected")
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        if marker in _STANDALONE:
            position += 2
            continue
        (length,) = struct.unpack_from(">H", data, position + 2)
        if length < 2 or position + 2 + length > len(data):
            raise MalformedCodestream("a marker segment runs past the frame")
        found.append((marker, position + 2, length))
        if marker == _SOS:
            break
        position += 2 + length
    return found


def repair_sequential_scans(data: bytes) -> bytes:
    """Sequential DCT scans whose header gives a spectral selection other than 0..63 with no successive
    approximation, rewritten as T.81 B.2.3 requires (Ss = 0, Se = 63, Ah = Al = 0).

    Some writers leave Se = 0 there; the IJG decoder ignores these fields in sequential mode (with a warning)
    and decodes the image, while pylibjpeg-libjpeg refuses the stream. The fields carry no information in
    sequential mode, so setting them is lossless. Other streams are returned unchanged.
    """
    try:
        _, sof = jpeg_frame(data)
    except MalformedCodestream:
        return data
    if sof not in _SEQUENTIAL_DCT:
        return data
    out, position = bytearray(data), 2
    while position + 4 <= len(out):
        marker = out[position + 1] if out[position] == 0xFF else None
        if marker is None or marker == 0xFF:
            position += 1
            continue
        if marker in _STANDALONE:
            position += 2
            continue
        (length,) = struct.unpack_from(">H", out, position + 2)
        end = position + 2 + length
        if marker == _SOS and length >= 6 and end <= len(out):
            out[end - 3 : end] = b"\x00\x3f\x00"
            position = _after_entropy_coded(out, end)
        else:
            position = end
    return bytes(out)


def _after_entropy_coded(data: bytearray, position: int) -> int:
    """The next marker after a scan's entropy-coded data (T.81 B.1.1.5: 0xFF there is followed by 0x00 or RSTn)."""
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            return len(data)
        following = data[position + 1]
        if following != 0x00 and not 0xD0 <= following <= 0xD7 and following != 0xFF:
            return position
        position += 1 if following == 0xFF else 2


def j2k_size(data: bytes) -> Declared:
    """The image size a JPEG 2000 codestream declares in its SIZ marker segment (T.800 A.5.1): the reference
    grid less its offset, the component count and the largest component precision."""
    start = 0 if data[:4] == _J2K_SIZ else data.find(_J2K_SIZ, 0, _J2K_SEARCH)
    if start < 0 or len(data) < start + 4 + 38:
        raise MalformedCodestream("no SIZ marker segment")
    x, y, x0, y0 = struct.unpack_from(">IIII", data, start + 8)
    (components,) = struct.unpack_from(">H", data, start + 40)
    if x <= x0 or y <= y0 or components == 0 or len(data) < start + 42 + 3 * components:
        raise MalformedCodestream("invalid SIZ marker segment")
    precision = max((data[start + 42 + 3 * i] & 0x7F) + 1 for i in range(components))
    return Declared(x - x0, y - y0, components, precision)


def rle_segments(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each segment of an RLE frame, from its 64-byte header (PS3.5 G.5: the number of
    segments, then 15 offsets from the frame's start; the first is 64, and they increase)."""
    if len(data) < RLE_HEADER:
        raise MalformedCodestream("the RLE header is cut short")
    count, *offsets = struct.unpack_from("<16I", data)
    if not 1 <= count <= 15:
        raise MalformedCodestream("the RLE header gives an invalid number of segments")
    bounds = [*offsets[:count], len(data)]
    if bounds[0] != RLE_HEADER or any(a >= b for a, b in zip(bounds, bounds[1:], strict=False)):
        raise MalformedCodestream("the RLE segment offsets are out of order or outside the frame")
    return [(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False)]
