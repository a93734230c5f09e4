"""A large, valid DICOM file, written without ever holding it in memory.

pydicom writes the header (CT_small's data set with a larger image); the Pixel Data element header is written
by hand (explicit VR little endian, PS3.5 7.1.2: tag, 'OW', two reserved bytes, 32-bit length) and its value
streamed frame by frame.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian

ROWS = COLUMNS = 512
FRAME_BYTES = ROWS * COLUMNS * 2  # 16 bits allocated
MAX_LENGTH = 0xFFFFFFFE  # the largest even defined length (0xFFFFFFFF means undefined)


@dataclass(frozen=True)
class BigDicom:
    path: Path
    size: int
    sha256: str
    pixel_data_length: int
    frames: int


def write_big_dicom(path: Path, pixel_bytes: int) -> BigDicom:
    """Write a CT of 512x512 16-bit frames whose Pixel Data holds at least ``pixel_bytes`` bytes."""
    frames = max(1, -(-pixel_bytes // FRAME_BYTES))
    length = frames * FRAME_BYTES
    if length > MAX_LENGTH:
        raise ValueError(f"{length} bytes of Pixel Data do not fit a 32-bit element length")
    header = _header(frames) + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, length)
    digest = hashlib.sha256(header)
    block = bytearray(random.Random(0).randbytes(FRAME_BYTES))
    with path.open("wb") as fp:
        fp.write(header)
        for frame in range(frames):
            block[:8] = frame.to_bytes(8, "little")  # every frame differs, so a repeated or lost chunk shows
            fp.write(block)
            digest.update(block)
    return BigDicom(path, len(header) + length, digest.hexdigest(), length, frames)


def _header(frames: int) -> bytes:
    source = get_testdata_file("CT_small.dcm", download=False)
    if source is None:
        raise FileNotFoundError("pydicom's test file CT_small.dcm is missing")
    ds = pydicom.dcmread(source)
    del ds.PixelData
    if 0xFFFCFFFC in ds:  # Data Set Trailing Padding follows Pixel Data; it must not precede it
        del ds[0xFFFCFFFC]
    ds.Rows, ds.Columns, ds.NumberOfFrames = ROWS, COLUMNS, frames
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
