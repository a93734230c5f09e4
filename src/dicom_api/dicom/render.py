"""Render one frame of a DICOM image to an 8-bit PNG, the way a radiologist expects to see it.

The grayscale pipeline follows PS3.4 N.2: stored values -> Modality LUT (PS3.3 C.11.1) -> VOI LUT
(PS3.3 C.11.2) -> Presentation LUT (PS3.3 C.11.6, MONOCHROME1 inverted). Colour images (RGB, YBR, palette,
PS3.3 C.7.6.3.1.2) become RGB. Overlays are never burned in.
"""

from __future__ import annotations

import pickle
import struct
import sys
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, get_frame
from pydicom.multival import MultiValue
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi_lut
from pydicom.pixels.utils import pixel_array
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from dicom_api.dicom.codestreams import repair_sequential_scans
from dicom_api.dicom.deflated import inflated, is_deflated
from dicom_api.dicom.frames import (
    Geometry,
    check_codestream,
    check_native_frame,
    dataset_syntax,
    encapsulated_frames_present,
    frame_count,
    geometry,
    native_frames_present,
    syntax_name,
)
from dicom_api.dicom.inspect import PIXEL_TAGS
from dicom_api.dicom.limits import DEFAULT_LIMITS, DicomLimits
from dicom_api.dicom.png import encode_png
from dicom_api.errors import InvalidDicom, InvalidParameter, NoImage, PayloadTooLarge, UndecodableImage

_LUT_MAX_ENTRIES = 1 << 20


@dataclass(frozen=True)
class Window:
    """A VOI window (PS3.3 C.11.2.1.2): centre, width and the VOI LUT Function."""

    center: float
    width: float
    function: str = "LINEAR"


def render_png(
    fp: BinaryIO,
    frame: int = 1,
    window: Window | None = None,
    header: RenderHeader | None = None,
    limits: DicomLimits = DEFAULT_LIMITS,
) -> bytes:
    """Render ``frame`` (1-based) of the DICOM file ``fp`` as PNG bytes (grayscale pipeline: PS3.4 N.2).

    ``header``: what render_header took from the file's header, parsed before; without it the header is read.
    A deflated data set (PS3.5 A.5) is inflated within ``limits`` first.
    """
    return encode_png(render_file(fp, frame, window, header, limits))


def render_file(
    fp: BinaryIO,
    frame: int = 1,
    window: Window | None = None,
    header: RenderHeader | None = None,
    limits: DicomLimits = DEFAULT_LIMITS,
) -> np.ndarray:
    """``frame`` of the DICOM file ``fp`` as 8-bit grey (H x W) or RGB (H x W x 3), as render_png draws it."""
    if header is not None and dataset_syntax(header.attributes) != DeflatedExplicitVRLittleEndian:
        fp.seek(header.pixel_offset)
        return render_array(fp, header.attributes, frame, window, limits)
    if is_deflated(fp):
        try:
            with inflated(fp, limits) as (ds, data):
                ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian  # what the inflated copy holds
                return render_array(data, ds, frame, window, limits)
        except (InvalidDicom, PayloadTooLarge) as exc:
            raise UndecodableImage(exc.message) from None
    ds = pydicom.dcmread(fp, stop_before_pixels=True, force=True)
    return render_array(fp, ds, frame, window, limits)


# What rendering reads of a header: the Image Pixel, Modality LUT and VOI LUT modules and the palettes
# (group 0028), the Presentation LUT Shape and the enhanced images' functional groups.
_RENDER_TAGS = frozenset((0x20500020, 0x52009229, 0x52009230))


@dataclass(frozen=True)
class RenderHeader:
    """The attributes that render an image, and where its Pixel Data element starts: small enough to send to
    a render process instead of having it parse the whole header again."""

    attributes: Dataset
    pixel_offset: int


def render_header(ds: Dataset, pixel_offset: int) -> RenderHeader:
    subset = Dataset()
    for tag in ds.keys():
        number = int(tag)
        if number >> 16 == 0x0028 or number in _RENDER_TAGS:
            subset[tag] = ds.get_item(tag)  # as read: converted in the render process, if at all
    subset.file_meta = FileMetaDataset()
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        subset.file_meta.TransferSyntaxUID = meta.TransferSyntaxUID
    implicit, little = ds.original_encoding
    subset.set_original_encoding(implicit, little, ds.original_character_set)
    header = RenderHeader(subset, pixel_offset)
    # It is sent to a render process: an element pydicom left half-converted (a value it could not read)
    # does not pickle, so that header is refused here and the render process parses the file itself.
    pickle.dumps(header)
    return header


def render_array(
    fp: BinaryIO, ds: Dataset, frame: int = 1, window: Window | None = None, limits: DicomLimits = DEFAULT_LIMITS
) -> np.ndarray:
    """Decode ``frame`` (1-based) only and return it as uint8, H x W (grey) or H x W x 3 (RGB).

    ``ds`` is the header read from ``fp`` by a read that stopped before Pixel Data, and ``fp`` is still where
    that read stopped. Pixel data: PS3.5 8 (native and encapsulated), PS3.3 C.7.6.3 (Image Pixel module). What
    the frame needs is checked against ``limits`` and the bytes present before it is decoded (frames.py).
    """
    syntax = dataset_syntax(ds)
    full = _full_data_set(fp, syntax)
    present = any(t in full for t in PIXEL_TAGS) if full is not None else _pixel_tag_follows(fp, syntax)
    if not present:
        raise NoImage("The DICOM file has no image: it carries no Pixel Data.")
    if "Rows" not in ds or "Columns" not in ds:
        raise UndecodableImage("The Pixel Data cannot be shown: the file gives no Rows or no Columns.")
    if not syntax.is_transfer_syntax:  # no decoder for it: said before anything is read
        raise UndecodableImage(f"The pixel data cannot be decoded ({syntax_name(syntax)}).")
    found = geometry(ds, limits)
    length, value_offset = _pixel_length(fp, full, syntax)
    if length is None:
        frames = frame_count(ds, _encapsulated_frames(fp, value_offset))
    else:
        frames = frame_count(ds, native_frames_present(length, found))
    if not 1 <= frame <= frames:
        raise InvalidParameter(f"frame must be between 1 and {frames}.")
    if length is not None:
        check_native_frame(length, found, frame)
    arr = _decode(fp, ds, full, syntax, frame, frames, found, limits, value_offset if length is None else None)
    if arr.ndim == 3 and arr.shape[-1] not in (3, 4) or arr.ndim not in (2, 3):
        raise UndecodableImage(f"The decoded pixel data has an unexpected shape ({syntax_name(syntax)}).")
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if photometric == "PALETTE COLOR":
        return _palette_to_rgb(arr, ds)
    if arr.ndim == 3:
        return _colour_to_8bit(arr[..., :3], ds)
    return grayscale_to_8bit(arr, frame_attributes(ds, frame), window)


def _decode(
    fp: BinaryIO,
    ds: Dataset,
    full: Dataset | None,
    syntax: UID,
    frame: int,
    frames: int,
    found: Geometry,
    limits: DicomLimits,
    value_offset: int | None,
) -> np.ndarray:
    """The frame's stored values, from the whole data set, the native bytes at their offset, or one
    encapsulated frame checked (check_codestream) before its decoder sees it."""
    try:
        if full is not None:
            return np.asarray(pixel_array(full, index=frame - 1))
        if value_offset is not None:
            fp.seek(value_offset)
            return _encapsulated_frame(fp, ds, syntax, frame, frames, found, limits)
        native = _native_frame(fp, ds, syntax, frame)
        if native is None:
            fp.seek(0)
            native = pixel_array(fp, index=frame - 1, transfer_syntax_uid=syntax, number_of_frames=frames)
        return native
    except UndecodableImage:
        raise
    except Exception:
        raise UndecodableImage(f"The pixel data cannot be decoded ({syntax_name(syntax)}).") from None


def _encapsulated_frame(
    fp: BinaryIO, ds: Dataset, syntax: UID, frame: int, frames: int, found: Geometry, limits: DicomLimits
) -> np.ndarray:
    """One frame of encapsulated Pixel Data (PS3.5 A.4; ``fp`` at its Basic Offset Table item), its
    codestream's declared size checked, then decoded by pydicom's decoder for the transfer syntax."""
    offsets = None
    if "ExtendedOffsetTable" in ds and "ExtendedOffsetTableLengths" in ds:
        offsets = (ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths)
    data = get_frame(fp, frame - 1, number_of_frames=frames, extended_offsets=offsets)
    check_codestream(str(syntax), data, found, limits)
    view = Dataset()
    # The header's elements are shared, not copied: Number of Frames is left out, not overwritten.
    view.update({tag: ds[tag] for tag in ds.keys() if int(tag) >> 16 == 0x0028 and tag != 0x00280008})
    view.NumberOfFrames = 1
    view.file_meta = FileMetaDataset()
    view.file_meta.TransferSyntaxUID = syntax
    view.set_original_encoding(False, True)
    view.PixelData = encapsulate([repair_sequential_scans(data)])
    view["PixelData"].VR = "OB"
    return np.asarray(get_decoder(syntax).as_array(view, index=0)[0])


_FRAME_GROUPS = {
    "PixelValueTransformationSequence": ("RescaleSlope", "RescaleIntercept", "RescaleType"),
    "FrameVOILUTSequence": ("WindowCenter", "WindowWidth", "VOILUTFunction"),
}


def frame_attributes(ds: Dataset, frame: int) -> Dataset:
    """The attributes that render ``frame`` of an enhanced multi-frame image (PS3.3 C.7.6.16): the Pixel Value
    Transformation (C.7.6.16.2.9) and Frame VOI LUT (C.7.6.16.2.10) of its per-frame functional group, else of
    the shared one, in place of top-level attributes. Other images are returned as they are."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    shared = ds.get("SharedFunctionalGroupsSequence") or []
    if not per_frame and not shared:
        return ds
    groups = ([per_frame[frame - 1]] if len(per_frame) >= frame else []) + list(shared[:1])
    view = Dataset()
    view.update({tag: ds[tag] for tag in ds.keys() if int(tag) >> 16 == 0x0028 or int(tag) == 0x20500020})
    for sequence, keywords in _FRAME_GROUPS.items():
        item = next((g[sequence][0] for g in groups if len(g.get(sequence) or []) > 0), None)
        if item is not None:
            for keyword in keywords:
                if keyword in item:
                    setattr(view, keyword, item[keyword].value)
    return view


def _full_data_set(fp: BinaryIO, syntax: UID) -> Dataset | None:
    """The whole data set when a frame cannot be read from the file on its own, else None.

    pydicom's frame reader cannot read a Pixel Data element written implicit under an explicit transfer syntax;
    its full reader can, at the cost of reading it all. A deflated data set is never read whole here: it
    would be inflated in one call (render_png inflates it within limits first).
    """
    if syntax == DeflatedExplicitVRLittleEndian:
        raise UndecodableImage("A deflated data set is rendered from its inflated copy only.")
    start = fp.tell()
    head = fp.read(6)
    fp.seek(start)
    if _encoding(syntax)[0] or len(head) < 6 or head[4:6].isalpha():
        return None  # no Pixel Data, or Pixel Data encoded as its transfer syntax says
    fp.seek(0)
    try:
        full = pydicom.dcmread(fp, force=True)
    except Exception:
        raise UndecodableImage(f"The pixel data cannot be read ({syntax_name(syntax)}).") from None
    full.file_meta.TransferSyntaxUID = syntax
    return full


_NATIVE_LITTLE = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
_LONG_PIXEL_VRS = (b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"UN")
_LONG_VRS = (b"OB", b"OW", b"UN")


def _native_frame(fp: BinaryIO, ds: Dataset, syntax: UID, frame: int) -> np.ndarray | None:
    """One frame of native little-endian single-sample Pixel Data: its bytes alone are read, at their offset,
    and decoded by pydicom's native decoder. pydicom's frame reader would parse the whole header again to
    find them, which was half of a 512x512 CT's first render. None for any other layout (pydicom reads it).

    ``fp`` is just past the Pixel Data element's tag (``_pixel_tag_follows``).
    """
    if syntax not in _NATIVE_LITTLE or int(ds.get("SamplesPerPixel") or 1) != 1:
        return None
    try:
        rows, columns, allocated = int(ds.Rows), int(ds.Columns), int(ds.BitsAllocated)
        stored, representation = int(ds.get("BitsStored") or allocated), int(ds.get("PixelRepresentation") or 0)
        photometric = str(ds.get("PhotometricInterpretation") or "MONOCHROME2")
    except (AttributeError, TypeError, ValueError):
        return None
    if allocated not in (8, 16, 32) or rows <= 0 or columns <= 0:
        return None
    if syntax == ExplicitVRLittleEndian:
        vr = fp.read(2)
        if vr not in _LONG_VRS:
            return None
        fp.read(2)
    head = fp.read(4)
    length = struct.unpack("<I", head)[0] if len(head) == 4 else 0
    frame_bytes = rows * columns * allocated // 8
    if length == 0xFFFFFFFF or length < frame_bytes * frame:
        return None  # encapsulated, or too short: pydicom's reader says what is wrong
    fp.seek(fp.tell() + (frame - 1) * frame_bytes)
    data = fp.read(frame_bytes)
    if len(data) != frame_bytes:
        return None
    options: dict[str, Any] = {
        "rows": rows,
        "columns": columns,
        "samples_per_pixel": 1,
        "bits_allocated": allocated,
        "bits_stored": stored,
        "pixel_representation": representation,
        "photometric_interpretation": photometric,
        "number_of_frames": 1,
        "pixel_keyword": "PixelData",
    }
    arr, _ = get_decoder(syntax).as_array(data, index=0, **options)
    return arr


def _pixel_tag_follows(fp: BinaryIO, syntax: UID) -> bool:
    head = fp.read(4)
    if len(head) < 4:
        return False
    group, element = struct.unpack(("<" if _encoding(syntax)[1] else ">") + "HH", head)
    return (group << 16 | element) in PIXEL_TAGS


def _encoding(syntax: UID) -> tuple[bool, bool]:
    """(implicit VR, little endian); an unknown syntax is read as explicit little endian, like all encapsulated ones."""
    try:
        return bool(syntax.is_implicit_VR), bool(syntax.is_little_endian)
    except ValueError:  # pydicom knows no encoding for a UID that is not a transfer syntax it lists
        return False, True


def _pixel_length(fp: BinaryIO, full: Dataset | None, syntax: UID) -> tuple[int | None, int | None]:
    """The length of the Pixel Data value (None: encapsulated) and where the value starts in ``fp``.

    ``fp`` is just past the element's tag (``_pixel_tag_follows``) and is left there; with ``full``, the value
    has been read already.
    """
    if full is not None:
        elem = next(full[t] for t in PIXEL_TAGS if t in full)
        return (None, None) if elem.is_undefined_length else (len(elem.value or b""), None)
    implicit, little = _encoding(syntax)
    start = fp.tell()
    head = fp.read(8)
    fp.seek(start)
    endian = "<" if little else ">"
    if len(head) < 8:
        return 0, None
    if not implicit and head[:2] in _LONG_PIXEL_VRS:
        length, value = struct.unpack(endian + "I", head[4:8])[0], 8
    elif not implicit and head[:2].isalpha():
        length, value = struct.unpack(endian + "H", head[2:4])[0], 4
    else:  # implicit, or written implicit despite its transfer syntax
        length, value = struct.unpack(endian + "I", head[:4])[0], 4
    return (None, start + value) if length == 0xFFFFFFFF else (length, start + value)


def _encapsulated_frames(fp: BinaryIO, value_offset: int | None) -> int | None:
    if value_offset is None:
        return None
    start = fp.tell()
    fp.seek(value_offset)
    try:
        return encapsulated_frames_present(fp)
    finally:
        fp.seek(start)


def grayscale_to_8bit(arr: np.ndarray, ds: Dataset, window: Window | None = None) -> np.ndarray:
    """Modality LUT, VOI and polarity (PS3.4 N.2.1) to uint8.

    Integer frames go through a lookup table built over their value range (much cheaper than float maths
    on every pixel); other frames are computed directly.
    """
    low, high = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
    if arr.dtype.kind == "u" and high < _LUT_MAX_ENTRIES:
        # Unsigned values index a table over 0..max directly: no widened copy of the frame. The table is
        # computed over the frame's own range only (min-max windows depend on it).
        lut = np.zeros(high + 1, dtype=np.uint8)
        lut[low:] = _to_8bit(np.arange(low, high + 1, dtype=np.int64).astype(arr.dtype), ds, window)
        return np.asarray(np.take(lut, arr), dtype=np.uint8)
    if arr.dtype.kind == "i" and arr.dtype.itemsize <= 2:
        # Signed 8/16-bit values index a table by their bit pattern (the unsigned view): no widened,
        # shifted copy of the frame, which cost five times the lookup itself.
        unsigned = np.dtype(f"u{arr.dtype.itemsize}")
        values = np.arange(low, high + 1, dtype=np.int64).astype(arr.dtype)
        lut = np.zeros(1 << (8 * arr.dtype.itemsize), dtype=np.uint8)
        lut[values.view(unsigned)] = _to_8bit(values, ds, window)
        return np.asarray(np.take(lut, arr.view(unsigned)), dtype=np.uint8)
    if arr.dtype.kind == "i" and 0 < high - low + 1 <= _LUT_MAX_ENTRIES:
        lut = _to_8bit(np.arange(low, high + 1, dtype=np.int64).astype(arr.dtype), ds, window)
        return np.asarray(np.take(lut, arr.astype(np.int32) - low), dtype=np.uint8)
    return _to_8bit(arr, ds, window)


def _to_8bit(values: np.ndarray, ds: Dataset, window: Window | None) -> np.ndarray:
    modality = _modality(values, ds)
    chosen = window or first_window(ds)
    out = None
    if chosen is not None:
        out = apply_window(modality, chosen)
    elif "VOILUTSequence" in ds and len(ds.VOILUTSequence) > 0:
        out = _voi_lut_sequence(values, ds)
    if out is None:
        out = _min_max(modality)
    del modality
    if _inverted(ds):
        np.subtract(255.0, out, out=out)
    # In place: a float64 copy of a large frame is 8 bytes a pixel; each one saved counts (frames.py limit).
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def _modality(values: np.ndarray, ds: Dataset) -> np.ndarray:
    """The Modality LUT (PS3.3 C.11.1) applied; one that cannot be applied (a Rescale Intercept stored as
    text, a table that does not fit its descriptor) is ignored, as an unusable window is: the stored values
    are shown as they are (identity transformation)."""
    try:
        return np.asarray(apply_modality_lut(values, ds), dtype=np.float64)
    except (TypeError, ValueError, IndexError, KeyError, AttributeError):
        return np.asarray(values, dtype=np.float64)


def first_window(ds: Dataset) -> Window | None:
    """The first Window Center/Width pair stored in the file (PS3.3 C.11.2.1.2), if any is usable."""
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is None or width is None or center == "" or width == "":
        return None
    try:
        c = float(center[0] if isinstance(center, MultiValue) else center)
        w = float(width[0] if isinstance(width, MultiValue) else width)
    except (TypeError, ValueError, IndexError):
        return None
    if w <= 0:
        return None
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").strip().upper()
    return Window(c, w, function)


def apply_window(x: np.ndarray, window: Window) -> np.ndarray:
    """Map values to 0..255 by a VOI window: LINEAR, LINEAR_EXACT or SIGMOID (PS3.3 C.11.2.1.2-3)."""
    c, w = window.center, window.width
    if window.function == "SIGMOID":
        return np.asarray(255.0 / (1.0 + np.exp(-4.0 * (x - c) / w)))
    if window.function == "LINEAR_EXACT":
        return np.asarray(np.clip(((x - c) / w + 0.5) * 255.0, 0.0, 255.0))
    if w <= 1:
        return np.where(x > c - 0.5, 255.0, 0.0)
    out = x - (c - 0.5)  # ((x - (c - 0.5)) / (w - 1) + 0.5) * 255, clipped; one copy of x, not five
    out /= w - 1
    out += 0.5
    out *= 255.0
    return np.clip(out, 0.0, 255.0, out=out)


def _voi_lut_sequence(values: np.ndarray, ds: Dataset) -> np.ndarray | None:
    """The first VOI LUT of the VOI LUT Sequence (PS3.3 C.11.2.1.1), scaled by its entry bit depth.

    None when the table cannot be applied (such as entries larger than its declared bits hold): it is then
    ignored, as an unusable window is.
    """
    try:
        out = np.asarray(apply_voi_lut(np.asarray(apply_modality_lut(values, ds)), ds, index=0), dtype=np.float64)
        item = ds.VOILUTSequence[0]
        bits = int(item.LUTDescriptor[2]) if "LUTDescriptor" in item else 16
    except Exception:
        return None
    top = float((1 << max(1, min(bits, 16))) - 1)
    if out.size and out.max() > top:  # descriptor understates the data: fall back to the data's range
        return _min_max(out)
    return out / top * 255.0


def _min_max(x: np.ndarray) -> np.ndarray:
    low, high = float(x.min()), float(x.max())
    if high <= low:
        return np.zeros_like(x, dtype=np.float64)
    out: np.ndarray = np.subtract(x, low, dtype=np.float64)
    out *= 255.0 / (high - low)
    return out


def _inverted(ds: Dataset) -> bool:
    """MONOCHROME1 shows low values bright; an explicit Presentation LUT Shape decides when present."""
    shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
    if shape in ("INVERSE", "IDENTITY"):
        return shape == "INVERSE"
    return str(ds.get("PhotometricInterpretation", "")).strip().upper() == "MONOCHROME1"


def _palette_to_rgb(arr: np.ndarray, ds: Dataset) -> np.ndarray:
    """PALETTE COLOR (PS3.3 C.7.6.3.1.5-6) to RGB through the file's lookup tables."""
    try:
        rgb = apply_color_lut(arr, _native_order_palette(ds))
    except Exception:
        raise UndecodableImage("The palette colour lookup tables cannot be applied.") from None
    if rgb.dtype.itemsize > 1:
        rgb = rgb >> (8 * (rgb.dtype.itemsize - 1))
    return np.asarray(rgb, dtype=np.uint8)


def _native_order_palette(ds: Dataset) -> Dataset:
    """pydicom reads 16-bit palette LUT Data in the machine's byte order; a big-endian file's tables must be
    swapped first, or every colour comes out byte-swapped (PS3.5 7.3: OW data follows the transfer syntax)."""
    little = ds.original_encoding[1] is not False
    wide = [c for c in ("Red", "Green", "Blue") if f"{c}PaletteColorLookupTableData" in ds
            and int(ds[f"{c}PaletteColorLookupTableDescriptor"].value[2]) > 8]  # fmt: skip
    if little == (sys.byteorder == "little") or not wide:
        return ds  # segmented tables are decoded in the file's byte order already
    view = Dataset()
    view.update({tag: ds[tag] for tag in ds.keys() if int(tag) >> 16 == 0x0028})
    view.set_original_encoding(ds.original_encoding[0], ds.original_encoding[1], ds.original_character_set)
    for colour in wide:
        elem = ds[f"{colour}PaletteColorLookupTableData"]
        swapped = np.frombuffer(elem.value, dtype="<u2" if little else ">u2").astype("=u2").tobytes()
        view[elem.tag] = DataElement(elem.tag, elem.VR, swapped)  # a new element: ``ds``'s is left as it was
    return view


def _colour_to_8bit(arr: np.ndarray, ds: Dataset) -> np.ndarray:
    """RGB samples (YBR already converted by the decoder) scaled to 8 bits."""
    bits = int(ds.get("BitsStored") or arr.dtype.itemsize * 8)
    if arr.dtype.kind == "f":
        return _uint8(_min_max(arr))
    if arr.dtype.kind == "u":  # shifted and clipped in its own type: no float or 64-bit copy of the frame
        if bits > 8:
            arr = np.right_shift(arr, bits - 8)
        return np.asarray(np.minimum(arr, 255), dtype=np.uint8)
    if bits > 8:
        arr = np.right_shift(arr.astype(np.uint64), bits - 8)
    return _uint8(arr)


def _uint8(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(np.rint(x), 0, 255), dtype=np.uint8)
