"""PNG encoding (ISO/IEC 15948): 8-bit grey or RGB, one IDAT compressed by libdeflate at level 1.

Written here rather than through OpenCV or Pillow because the three chunks a PNG needs are a few lines,
and the compressor is where the time goes: libdeflate (the `deflate` package) compresses a render 2.5 to 3
times faster than the zlib inside libpng at the same level, for files of about the same size (see the
README's performance notes). Every row uses filter type 1 (Sub): computed with one NumPy subtraction, it
makes smooth medical images about a fifth smaller than no filter, for no measurable time.
"""

from __future__ import annotations

import struct
import zlib

import deflate
import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SUB = 1
LEVEL = 1


def encode_png(image: np.ndarray) -> bytes:
    """``image``: uint8, H x W (grey) or H x W x 3 (RGB)."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"cannot encode an array of {image.dtype} {image.shape} as PNG")
    height, width = image.shape[:2]
    channels = 1 if image.ndim == 2 else 3
    flat = np.ascontiguousarray(image).reshape(height, width * channels)
    rows = np.empty((height, 1 + width * channels), np.uint8)
    rows[:, 0] = _SUB
    rows[:, 1 : 1 + channels] = flat[:, :channels]
    np.subtract(flat[:, channels:], flat[:, :-channels], out=rows[:, 1 + channels :])  # wraps modulo 256
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if channels == 1 else 2, 0, 0, 0)
    return b"".join(
        (_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", deflate.zlib_compress(rows, LEVEL)), _chunk(b"IEND", b""))
    )


def _chunk(kind: bytes, data: bytes | bytearray) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))
