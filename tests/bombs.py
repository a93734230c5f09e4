"""Generated bombs: small DICOM files that ask a reader for far more memory or CPU than they hold.

Each is a complete PS3.10 file (preamble, File Meta Information) built in memory; none is stored in the repo.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
    SecondaryCaptureImageStorage,
    generate_uid,
)

HUGE = 65535  # the largest Rows and Columns a US can hold (PS3.5 6.2)


def image(rows: int = 8, columns: int = 8, *, bits: int = 8, samples: int = 1, frames: int | None = None) -> Dataset:
    """An Image Pixel module (PS3.3 C.7.6.3) without Pixel Data."""
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = "MONOCHROME2" if samples == 1 else "RGB"
    if samples > 1:
        ds.PlanarConfiguration = 0
    if frames is not None:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    return ds


def to_file(ds: Dataset, syntax: str = ExplicitVRLittleEndian) -> bytes:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = syntax
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True, implicit_vr=False, little_endian=True)
    return buffer.getvalue()


def encapsulated(ds: Dataset, frame: bytes, syntax: str) -> bytes:
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    return to_file(ds, syntax)


# ---- deflate (PS3.5 A.5) ----------------------------------------------------------------------------------------


def deflated_file(data_set: bytes, ds: Dataset | None = None) -> bytes:
    """A file whose data set is the raw deflate stream of ``data_set`` (bytes of an Explicit VR LE data set)."""
    ds = ds or image()
    plain = to_file(ds, DeflatedExplicitVRLittleEndian)  # written deflated by pydicom: only its meta is kept
    meta_end = 132 + 12 + struct.unpack_from("<I", plain, 132 + 8)[0]
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return plain[:meta_end] + compressor.compress(data_set) + compressor.flush()


def _explicit(tag: int, vr: bytes, value: bytes) -> bytes:
    if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
        return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def deflate_bomb(inflated_bytes: int = 2 * 1024**3) -> bytes:
    """A valid image header, then native Pixel Data of ``inflated_bytes`` zeros: about 2 MB for 2 GiB."""
    ds = image(rows=HUGE, columns=HUGE // 2 + 1, bits=8)
    header = _data_set_bytes(ds)
    # Streamed into the compressor: the bomb itself is never held in memory whole.
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [compressor.compress(header + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, inflated_bytes))]
    block = bytes(1024 * 1024)
    for _ in range(inflated_bytes // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(bytes(inflated_bytes % len(block))))
    parts.append(compressor.flush())
    plain = to_file(image(), DeflatedExplicitVRLittleEndian)
    meta_end = 132 + 12 + struct.unpack_from("<I", plain, 132 + 8)[0]
    return plain[:meta_end] + b"".join(parts)


def zeros_stream(inflated_bytes: int = 64 * 1024 * 1024) -> bytes:
    """A deflated data set of one element, then zeros: each 8 zero bytes read as an empty element (0000,0000)."""
    first = _explicit(0x00080060, b"CS", b"OT")
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [compressor.compress(first)]
    block = bytes(1024 * 1024)
    for _ in range(inflated_bytes // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    plain = to_file(image(), DeflatedExplicitVRLittleEndian)
    meta_end = 132 + 12 + struct.unpack_from("<I", plain, 132 + 8)[0]
    return plain[:meta_end] + b"".join(parts)


def items_bomb(items: int = 900_000) -> bytes:
    """A deflated sequence of ``items`` empty items (8 bytes each): 10 KB that pydicom parses into as many
    Dataset objects (minutes, and 700 bytes of memory each)."""
    head = struct.pack("<HH2sHI", 0x0008, 0x1115, b"SQ", 0, 0xFFFFFFFF)
    empty_item = struct.pack("<HHI", 0xFFFE, 0xE000, 0)
    return deflated_file(head + empty_item * items + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))


def plain_items_bomb(
    items: int = 200_000, *, syntax: str = ExplicitVRLittleEndian, defined_length: bool = False, padding: int = 0
) -> bytes:
    """A plain (not deflated) file whose data set holds a sequence of ``items`` empty items (8 bytes each): 1.6 MB
    that pydicom parses into as many Dataset objects (17 s, 140 MiB). ``padding``: bytes of Pixel Data after it
    (native, zeros), which must not buy the header more items."""
    uid = UID(syntax)
    implicit, little = uid.is_implicit_VR, uid.is_little_endian
    endian = "<" if little else ">"
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "OT"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID = uid
    preamble = DicomBytesIO(bytes(128) + b"DICM")
    preamble.seek(0, 2)
    write_file_meta_info(preamble, meta)
    body = struct.pack(endian + "HHI", 0xFFFE, 0xE000, 0) * items
    if not defined_length:
        body += struct.pack(endian + "HHI", 0xFFFE, 0xE0DD, 0)
    length = len(body) if defined_length else 0xFFFFFFFF
    if implicit:
        head = struct.pack(endian + "HHI", 0x0008, 0x1115, length)
        pixels = struct.pack(endian + "HHI", 0x7FE0, 0x0010, padding)
    else:
        head = struct.pack(endian + "HH2sHI", 0x0008, 0x1115, b"SQ", 0, length)
        pixels = struct.pack(endian + "HH2sHI", 0x7FE0, 0x0010, b"OB", 0, padding)
    first = _data_set_bytes(ds, implicit=implicit, little=little)
    return preamble.getvalue() + first + head + body + (pixels + bytes(padding) if padding else b"")


def private_items_bomb(items: int = 200_000) -> bytes:
    """Implicit VR: empty items in the defined-length value of a private tag that a private dictionary of
    pydicom's calls a sequence (GEIIS (0009,xx10)); converted, and so parsed, when the header is checked."""
    data = plain_items_bomb(0, syntax=ImplicitVRLittleEndian, defined_length=True)
    data = data[: data.index(struct.pack("<HHI", 0x0008, 0x1115, 0))]
    creator = b"GEIIS "
    body = struct.pack("<HHI", 0xFFFE, 0xE000, 0) * items
    creator_element = struct.pack("<HHI", 0x0009, 0x0010, len(creator)) + creator
    return data + creator_element + struct.pack("<HHI", 0x0009, 0x1010, len(body)) + body


def enhanced_ct(frames: int = 2000) -> bytes:
    """An honest header as dense as any: an enhanced CT whose 7 per-frame functional groups (PS3.3 C.7.6.16)
    hold one-digit values; 31 elements and items per frame, 356 bytes."""
    ds = image(frames=frames)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2.1"  # Enhanced CT Image Storage

    def group(**values: object) -> list[Dataset]:
        item = Dataset()
        for keyword, value in values.items():
            setattr(item, keyword, value)
        return [item]

    per_frame = []
    for index in range(frames):
        frame = Dataset()
        frame.FrameContentSequence = group(
            DimensionIndexValues=[1, index + 1], StackID="1", InStackPositionNumber=index + 1, TemporalPositionIndex=1
        )
        frame.PlanePositionSequence = group(ImagePositionPatient=["0", "0", str(index)])
        frame.PlaneOrientationSequence = group(ImageOrientationPatient=["1", "0", "0", "0", "1", "0"])
        frame.PixelMeasuresSequence = group(PixelSpacing=["1", "1"], SliceThickness="1")
        frame.FrameVOILUTSequence = group(WindowCenter="40", WindowWidth="400")
        frame.PixelValueTransformationSequence = group(RescaleIntercept="0", RescaleSlope="1", RescaleType="HU")
        frame.CTExposureSequence = group(ExposureTimeInms=1.0, XRayTubeCurrentInmA=100.0, ExposureInmAs=1.0)
        per_frame.append(frame)
    ds.PerFrameFunctionalGroupsSequence = per_frame
    ds.PixelData = bytes(ds.Rows * ds.Columns * frames)
    return to_file(ds)


def _data_set_bytes(ds: Dataset, *, implicit: bool = False, little: bool = True) -> bytes:
    """The data set alone, Explicit VR Little Endian (no preamble, no meta)."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=False, implicit_vr=implicit, little_endian=little)
    return buffer.getvalue()


def honest_deflated(rows: int = 64, columns: int = 64) -> bytes:
    """A deflated image that inflates as honest files do (a gradient: a few times smaller deflated)."""
    ds = image(rows, columns, bits=16)
    values = (np.arange(rows * columns, dtype=np.uint32) * 7 % 4096).astype(np.uint16)
    ds.PixelData = values.tobytes()
    return to_file(ds, DeflatedExplicitVRLittleEndian)


# ---- declared image sizes ----------------------------------------------------------------------------------------


def native_huge() -> bytes:
    """65535 x 65535 16-bit native image with 8 bytes of Pixel Data."""
    ds = image(HUGE, HUGE, bits=16)
    ds.PixelData = bytes(8)
    return to_file(ds)


def one_bit_huge() -> bytes:
    """65535 x 65535 1-bit image: decoded one byte per pixel, 4 GiB (reported as 32 GiB by numpy)."""
    ds = image(HUGE, HUGE, bits=1)
    ds.BitsStored, ds.HighBit = 1, 0
    ds.PixelData = bytes(16)
    return to_file(ds)


def rle_huge() -> bytes:
    """An RLE frame (PS3.5 G) for 65535 x 65535: one segment of replicate runs, a few KB."""
    segment = b"\x81\x00" * 4000  # each pair: 128 zeros
    header = struct.pack("<16I", 1, 64, *([0] * 14))
    return encapsulated(image(HUGE, HUGE), header + segment, RLELossless)


def rle_inconsistent() -> bytes:
    """A small RLE image whose header gives two segments for 8-bit single-sample data (which has one)."""
    segment = b"\x81\x00"
    header = struct.pack("<16I", 2, 64, 66, *([0] * 13))
    return encapsulated(image(8, 8), header + segment + segment, RLELossless)


def sof(marker: int, rows: int, columns: int, precision: int = 8, components: int = 1) -> bytes:
    body = struct.pack(">BHHB", precision, rows, columns, components)
    body += b"".join(struct.pack(">BBB", i + 1, 0x11, 0) for i in range(components))
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def jpeg_baseline_huge() -> bytes:
    """A JPEG baseline frame header (T.81 B.2.2, SOF0) declaring 65535 x 65535 in a small DICOM image."""
    frame = b"\xff\xd8" + sof(0xC0, HUGE, HUGE) + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + bytes(600) + b"\xff\xd9"
    return encapsulated(image(HUGE, HUGE), frame, JPEGBaseline8Bit)


def jpeg_ls_huge(header_rows: int = HUGE) -> bytes:
    """A 644-byte JPEG-LS frame (T.87, SOF55) declaring 65535 x 65535."""
    frame = b"\xff\xd8" + sof(0xF7, HUGE, HUGE) + b"\xff\xda\x00\x08\x01\x01\x00\x00\x00\x00"
    frame += bytes(644 - len(frame) - 2) + b"\xff\xd9"
    return encapsulated(image(header_rows, header_rows), frame, JPEGLSLossless)


def jpeg_ls_lying_header() -> bytes:
    """An 8 x 8 image whose JPEG-LS frame declares 65535 x 65535: the header is small, the codestream is not."""
    return jpeg_ls_huge(header_rows=8)


def j2k_huge() -> bytes:
    """A JPEG 2000 codestream (T.800 A.5.1: SOC, SIZ) declaring 65535 x 65535, one 16-bit component."""
    siz = struct.pack(">HHIIIIIIIIH", 41, 0, HUGE, HUGE, 0, 0, HUGE, HUGE, 0, 0, 1) + b"\x0f\x01\x01"
    frame = b"\xff\x4f\xff\x51" + siz + b"\xff\xd9" + bytes(200)
    return encapsulated(image(HUGE, HUGE, bits=16), frame, JPEG2000Lossless)


# ---- Number of Frames --------------------------------------------------------------------------------------------


def with_number_of_frames(raw: bytes, frames_present: int = 1) -> bytes:
    """An 8 x 8 8-bit native image holding ``frames_present`` frames, whose Number of Frames is ``raw`` as
    written (an IS value, possibly invalid: b"-1", b"abc", b"1A")."""
    ds = image(frames=1)
    ds.PixelData = (np.arange(64 * frames_present) % 251).astype(np.uint8).tobytes()
    data = to_file(ds)
    written = b"\x28\x00\x08\x00IS\x02\x001 "
    value = raw + b" " * (len(raw) % 2)
    assert written in data
    return data.replace(written, b"\x28\x00\x08\x00IS" + struct.pack("<H", len(value)) + value)


def huge_number_of_frames() -> bytes:
    """Number of Frames 2^31 - 1 over one 8 x 8 frame of Pixel Data."""
    ds = image(frames=2**31 - 1)
    ds.PixelData = bytes(64)
    return to_file(ds)
