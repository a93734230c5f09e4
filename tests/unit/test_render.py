"""Rendering to PNG: the VOI functions of PS3.3 C.11.2, polarity, colour, and the errors a client sees.

Expected images are computed here from the standard's formulas, never by calling the code under test; PNGs are
decoded with Pillow.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    JPEGBaseline8Bit,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from dicom_api.dicom.render import Window, apply_window, render_png
from dicom_api.errors import InvalidParameter, NoImage, UndecodableImage
from tests.bombs import to_file as _file
from tests.helpers import sample


def linear(x: np.ndarray, c: float, w: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1, output range 0..255, written piecewise as in the standard."""
    with np.errstate(divide="ignore", invalid="ignore"):  # w = 1 leaves no ramp: its branch is never chosen
        ramp = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255.0
    return np.select([x <= c - 0.5 - (w - 1) / 2, x > c - 0.5 + (w - 1) / 2], [0.0, 255.0], ramp)


def linear_exact(x: np.ndarray, c: float, w: float) -> np.ndarray:
    """PS3.3 C.11.2.1.3.2."""
    return np.select([x <= c - w / 2, x > c + w / 2], [0.0, 255.0], ((x - c) / w + 0.5) * 255.0)


def sigmoid(x: np.ndarray, c: float, w: float) -> np.ndarray:
    """PS3.3 C.11.2.1.3.1."""
    return 255.0 / (1.0 + np.exp(-4.0 * (x - c) / w))


# ---- the VOI functions on hand-picked values ----


@pytest.mark.parametrize(
    ("x", "c", "w", "expected"),
    [
        (-160.0, 40, 400, 0.0),  # x <= c - 0.5 - (w-1)/2 = -160
        (-160.5, 40, 400, 0.0),
        (39.5, 40, 400, 127.5),  # the centre of the ramp
        (100.0, 40, 400, (60.5 / 399 + 0.5) * 255),
        (239.0, 40, 400, 255.0),  # x = c - 0.5 + (w-1)/2 is the top of the ramp
        (239.5, 40, 400, 255.0),
        (0.0, 0, 2, 255.0),  # width 2: (0 - -0.5) / 1 + 0.5 = 1
        (-1.0, 0, 2, 0.0),
        (9.5, 10, 1, 0.0),  # width 1: a threshold at c - 0.5
        (9.6, 10, 1, 255.0),
        (10.0, 10, 1, 255.0),
    ],
)
def test_linear_window_follows_the_standard(x: float, c: float, w: float, expected: float) -> None:
    out = apply_window(np.array([x]), Window(c, w, "LINEAR"))
    assert out[0] == pytest.approx(expected)
    assert out[0] == pytest.approx(linear(np.array([x]), c, w)[0])


def test_linear_window_over_a_range_matches_the_piecewise_formula() -> None:
    x = np.linspace(-3000, 3000, 60001)
    for c, w in ((40, 400), (-600, 1500), (0.5, 2), (1000, 3.5), (7, 1)):
        np.testing.assert_allclose(apply_window(x, Window(c, w, "LINEAR")), linear(x, c, w), atol=1e-9)


@pytest.mark.parametrize(
    ("x", "c", "w", "expected"),
    [
        (-160.0, 40, 400, 0.0),  # x <= c - w/2
        (40.0, 40, 400, 127.5),
        (140.0, 40, 400, 0.75 * 255),
        (240.0, 40, 400, 255.0),
        (9.5, 10, 1, 0.0),  # width 1
        (10.0, 10, 1, 127.5),
        (10.25, 10, 1, 0.75 * 255),
        (10.5, 10, 1, 255.0),
    ],
)
def test_linear_exact_window_follows_the_standard(x: float, c: float, w: float, expected: float) -> None:
    out = apply_window(np.array([x]), Window(c, w, "LINEAR_EXACT"))
    assert out[0] == pytest.approx(expected)
    assert out[0] == pytest.approx(linear_exact(np.array([x]), c, w)[0])


@pytest.mark.parametrize(
    ("x", "c", "w", "expected"),
    [
        (40.0, 40, 400, 127.5),
        (240.0, 40, 400, 255 / (1 + np.exp(-2.0))),  # x = c + w/2
        (-160.0, 40, 400, 255 / (1 + np.exp(2.0))),
        (10.0, 10, 1, 127.5),
        (11.0, 10, 1, 255 / (1 + np.exp(-4.0))),
    ],
)
def test_sigmoid_window_follows_the_standard(x: float, c: float, w: float, expected: float) -> None:
    out = apply_window(np.array([x]), Window(c, w, "SIGMOID"))
    assert out[0] == pytest.approx(expected)
    assert out[0] == pytest.approx(sigmoid(np.array([x]), c, w)[0])


def test_exact_and_sigmoid_over_a_range() -> None:
    x = np.linspace(-2000, 2000, 4001)
    for c, w in ((40, 400), (0, 1), (-500, 0.5)):
        np.testing.assert_allclose(apply_window(x, Window(c, w, "LINEAR_EXACT")), linear_exact(x, c, w), atol=1e-9)
        np.testing.assert_allclose(apply_window(x, Window(c, w, "SIGMOID")), sigmoid(x, c, w), atol=1e-9)


# ---- whole renders of data sets built here ----


def _grey(
    pixels: np.ndarray, *, photometric: str = "MONOCHROME2", signed: bool = False, bits_stored: int | None = None
) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    frames = pixels.shape[0] if pixels.ndim == 3 else 1
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = pixels.shape[-2:]
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated, ds.BitsStored = bits, bits_stored or bits
    ds.HighBit, ds.PixelRepresentation = ds.BitsStored - 1, int(signed)
    ds.PixelData = pixels.tobytes()
    return ds


def _rgb(pixels: np.ndarray, bits_stored: int) -> Dataset:
    ds = _grey(pixels[..., 0])
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsStored, ds.HighBit = bits_stored, bits_stored - 1
    ds.PixelData = pixels.tobytes()
    return ds


def _render(data: bytes | Path, frame: int = 1, window: Window | None = None) -> np.ndarray:
    raw = data.read_bytes() if isinstance(data, Path) else data
    png = render_png(io.BytesIO(raw), frame, window)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return np.asarray(Image.open(io.BytesIO(png)))


def _as_png_values(y: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def _assert_close(image: np.ndarray, expected: np.ndarray) -> None:
    """Equal shapes and values within one grey level (rounding of a .5 may go either way)."""
    assert image.dtype == np.uint8
    assert image.shape == expected.shape
    assert np.abs(image.astype(int) - expected.astype(int)).max() <= 1


RAMP = np.arange(-512, 512, dtype=np.int16).reshape(16, 64)


def test_stored_window_after_rescale() -> None:
    ds = _grey(RAMP, signed=True)
    ds.RescaleSlope, ds.RescaleIntercept = 2, -100
    ds.WindowCenter, ds.WindowWidth = [100, 50], [400, 10]  # the first pair is used
    image = _render(_file(ds))
    _assert_close(image, _as_png_values(linear(RAMP * 2.0 - 100, 100, 400)))


def test_rescale_that_is_no_number_is_ignored_as_an_unusable_window_is() -> None:
    ds = _grey(RAMP, signed=True)
    ds.RescaleSlope = 2
    ds.add_new(0x00281052, "CS", "ABC")  # Rescale Intercept written as text under another VR
    ds.WindowCenter, ds.WindowWidth = 100, 400
    _assert_close(_render(_file(ds)), _as_png_values(linear(RAMP.astype(float), 100, 400)))


@pytest.mark.parametrize(("function", "formula"), [("LINEAR_EXACT", linear_exact), ("SIGMOID", sigmoid)])
def test_stored_voi_lut_function(function: str, formula) -> None:
    ds = _grey(RAMP, signed=True)
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = 20, 300, function
    image = _render(_file(ds))
    _assert_close(image, _as_png_values(formula(RAMP.astype(float), 20, 300)))


def test_requested_window_overrides_the_stored_one() -> None:
    ds = _grey(RAMP, signed=True)
    ds.WindowCenter, ds.WindowWidth = 100, 400
    image = _render(_file(ds), window=Window(0, 1))
    assert np.array_equal(image, np.where(RAMP > -0.5, 255, 0).astype(np.uint8))


def test_without_window_values_are_stretched_min_to_max() -> None:
    pixels = np.array([[100, 200], [300, 1100]], dtype=np.uint16)
    image = _render(_file(_grey(pixels)))
    _assert_close(image, _as_png_values((pixels - 100.0) / 1000.0 * 255.0))
    assert (image.min(), image.max()) == (0, 255)


def test_flat_image_is_black() -> None:
    assert not _render(_file(_grey(np.full((3, 5), 700, dtype=np.uint16)))).any()


def test_unusable_stored_window_falls_back_to_min_max() -> None:
    pixels = np.array([[0, 50], [100, 200]], dtype=np.uint16)
    ds = _grey(pixels)
    ds.WindowCenter, ds.WindowWidth = 100, 0  # width must be >= 1 (C.11.2.1.2): ignored
    _assert_close(_render(_file(ds)), _as_png_values(pixels / 200.0 * 255.0))


@pytest.mark.parametrize(
    ("photometric", "shape", "inverted"),
    [
        ("MONOCHROME1", None, True),
        ("MONOCHROME2", None, False),
        ("MONOCHROME2", "INVERSE", True),
        ("MONOCHROME1", "INVERSE", True),  # the DX convention: INVERSE spells out MONOCHROME1's inversion
        ("MONOCHROME1", "IDENTITY", False),
    ],
)
def test_polarity(photometric: str, shape: str | None, inverted: bool) -> None:
    pixels = np.array([[0, 10], [20, 40]], dtype=np.uint16)
    ds = _grey(pixels, photometric=photometric)
    ds.WindowCenter, ds.WindowWidth = 20.5, 40  # LINEAR: 0 -> 0, 10 -> 62, 20 -> 127.5, 40 -> 255
    if shape:
        ds.PresentationLUTShape = shape
    grey = linear(pixels.astype(float), 20.5, 40)
    expected = _as_png_values(255.0 - grey if inverted else grey)
    _assert_close(_render(_file(ds)), expected)


def _voi_lut(descriptor: list[int], data: list[int]) -> Dataset:
    item = Dataset()
    item.LUTDescriptor = descriptor
    item.add_new(0x00283006, "US", data)  # LUT Data, "US or OW": US keeps the entries as numbers
    return item


def test_voi_lut_sequence_applies_its_first_table() -> None:
    pixels = np.arange(10, dtype=np.uint16).reshape(2, 5)
    ds = _grey(pixels)
    ds.VOILUTSequence = Sequence([_voi_lut([4, 3, 8], [0, 100, 200, 255]), _voi_lut([2, 0, 8], [255, 0])])
    # entries for 3..6; below the first input value the first entry, above the last the last (C.11.2.1.1)
    expected = np.array([[0, 0, 0, 0, 100], [200, 255, 255, 255, 255]], dtype=np.uint8)
    assert np.array_equal(_render(_file(ds)), expected)


def test_voi_lut_sequence_scales_16_bit_entries() -> None:
    pixels = np.array([[0, 1, 2, 3]], dtype=np.uint16)
    ds = _grey(pixels)
    ds.VOILUTSequence = Sequence([_voi_lut([4, 0, 16], [0, 4096, 32768, 65535])])
    expected = _as_png_values(np.array([[0, 4096, 32768, 65535]]) / 65535 * 255)
    assert np.array_equal(_render(_file(ds)), expected)


def test_voi_lut_understating_its_bits_falls_back_to_the_table_range() -> None:
    pixels = np.array([[0, 1, 2]], dtype=np.uint16)
    ds = _grey(pixels)
    ds.VOILUTSequence = Sequence([_voi_lut([3, 0, 12], [10, 5010, 10010])])  # 12 bits: at most 4095
    _assert_close(_render(_file(ds)), np.array([[0, 128, 255]], dtype=np.uint8))


def test_voi_lut_whose_entries_overflow_its_bits_is_ignored() -> None:
    pixels = np.array([[0, 100, 200]], dtype=np.uint16)
    ds = _grey(pixels)
    ds.VOILUTSequence = Sequence([_voi_lut([3, 0, 8], [10, 510, 1010])])  # 8-bit entries cannot hold 510
    _assert_close(_render(_file(ds)), _as_png_values(pixels / 200.0 * 255.0))


@pytest.mark.parametrize("bits", [8, 16])
def test_palette_colour(bits: int) -> None:
    pixels = np.array([[0, 1], [2, 3]], dtype=np.uint8)
    ds = _grey(pixels, photometric="PALETTE COLOR")
    top = (1 << bits) - 1
    red, green, blue = [0, top, 0, top // 2], [0, 0, top, top // 2], [top, 0, 0, top // 2]
    dtype = np.uint8 if bits == 8 else np.uint16
    for colour, table in (("Red", red), ("Green", green), ("Blue", blue)):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [4, 0, bits])
        setattr(ds, f"{colour}PaletteColorLookupTableData", np.array(table, dtype=dtype).tobytes())
    image = _render(_file(ds))
    scale = 1 if bits == 8 else 256
    expected = np.stack([np.array(t)[pixels] // scale for t in (red, green, blue)], axis=-1)
    assert image.shape == (2, 2, 3)
    assert np.array_equal(image, expected)


@pytest.mark.parametrize("bits_stored", [8, 10, 12, 16])
def test_rgb_is_scaled_from_its_bits_stored(bits_stored: int) -> None:
    rng = np.random.default_rng(bits_stored)
    dtype = np.uint8 if bits_stored == 8 else np.uint16
    pixels = rng.integers(0, 1 << bits_stored, size=(6, 7, 3)).astype(dtype)
    pixels[0, 0] = (1 << bits_stored) - 1
    image = _render(_file(_rgb(pixels, bits_stored)))
    assert image.shape == (6, 7, 3)
    assert np.array_equal(image, pixels // (1 << (bits_stored - 8)))  # the 8 most significant stored bits
    assert np.array_equal(image[0, 0], [255, 255, 255])


def test_second_frame_of_a_multi_frame_image() -> None:
    frames = np.stack([np.zeros((4, 4), np.uint8), np.arange(16, dtype=np.uint8).reshape(4, 4)])
    ds = _grey(frames)
    ds.WindowCenter, ds.WindowWidth = 8, 16
    image = _render(_file(ds), frame=2)
    _assert_close(image, _as_png_values(linear(frames[1].astype(float), 8, 16)))


@pytest.mark.parametrize("frame", [0, 3, 99])
def test_frame_out_of_range_is_invalid_parameter(frame: int) -> None:
    ds = _grey(np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(InvalidParameter, match="between 1 and 2"):
        _render(_file(ds), frame=frame)


def test_no_pixel_data_is_no_image() -> None:
    with pytest.raises(NoImage):
        _render(sample("rtplan.dcm"))
    ds = _grey(np.zeros((2, 2), np.uint8))
    del ds.PixelData
    with pytest.raises(NoImage, match="no Pixel Data"):
        _render(_file(ds))


def test_pixel_data_without_rows_is_undecodable_not_missing() -> None:
    ds = _grey(np.zeros((2, 2), np.uint8))
    del ds.Rows
    with pytest.raises(UndecodableImage, match="Rows"):
        _render(_file(ds))


def test_malformed_number_of_frames_over_one_frame_reads_as_one() -> None:
    """As dcmtk does (PS3.3 C.7.6.6 asks for a positive IS; pydicom's badVR.dcm has '1A')."""
    ds = _grey(RAMP.astype(np.uint16) + 512)
    ds.NumberOfFrames = 1
    data = _file(ds).replace(b"\x08\x00IS\x02\x001 ", b"\x08\x00IS\x02\x001A")
    assert b"1A" in data
    expected = _render(_file(_grey(RAMP.astype(np.uint16) + 512)))
    assert np.array_equal(_render(data), expected)
    with pytest.raises(InvalidParameter, match="between 1 and 1"):
        _render(data, frame=2)


def test_malformed_number_of_frames_over_several_frames_is_undecodable() -> None:
    ds = _grey(np.zeros((2, 2, 2), np.uint8))
    data = _file(ds).replace(b"\x08\x00IS\x02\x002 ", b"\x08\x00IS\x02\x00-1")
    assert b"-1" in data
    with pytest.raises(UndecodableImage, match="Number of Frames"):
        _render(data)


def test_undecodable_data_names_the_transfer_syntax() -> None:
    ds = _grey(np.zeros((8, 8), np.uint8))
    ds.PixelData = encapsulate([b"\xff\xd8 not a JPEG stream \xff\xd9"])
    ds["PixelData"].VR = "OB"
    with pytest.raises(UndecodableImage) as caught:
        _render(_file(ds, JPEGBaseline8Bit))
    assert "JPEG Baseline (Process 1)" in caught.value.message
    assert JPEGBaseline8Bit in caught.value.message


def test_unknown_transfer_syntax_is_undecodable() -> None:
    ds = _grey(np.zeros((8, 8), np.uint8))
    ds.PixelData = encapsulate([b"\x00" * 16])
    ds["PixelData"].VR = "OB"
    with pytest.raises(UndecodableImage, match=r"1\.2\.3\.4"):
        _render(_file(ds, "1.2.3.4"))


def _reference(path: Path, frame: int = 0) -> np.ndarray:
    arr = pydicom.dcmread(path).pixel_array
    return arr[frame] if arr.ndim == 4 else arr


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("SC_rgb_jpeg.dcm", "Pixel Data written implicit under an explicit transfer syntax"),
        ("image_dfl.dcm", "deflated data set (PS3.5 A.5)"),
        ("SC_rgb_rle_2frame.dcm", "encapsulated, second frame"),
        ("SC_rgb_16bit.dcm", "RGB, 16 bits stored"),
    ],
)
def test_reference_files_render_like_pydicom(name: str, why: str) -> None:
    path = sample(name)
    ds = pydicom.dcmread(path)
    frame = 2 if int(ds.get("NumberOfFrames") or 1) > 1 else 1
    image = _render(path, frame=frame)
    reference = _reference(path, frame - 1)
    if reference.ndim == 3:
        expected = (reference >> (int(ds.BitsStored) - 8)).astype(np.uint8)
    else:
        expected = _as_png_values((reference - reference.min()) / np.ptp(reference) * 255.0)
    _assert_close(image, expected)


def test_bare_data_set_without_transfer_syntax_renders() -> None:
    pixels = np.arange(12, dtype=np.uint16).reshape(3, 4)
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, _grey(pixels), implicit_vr=True, little_endian=True)
    assert buffer.getvalue()[:2] == b"\x08\x00"
    _assert_close(_render(buffer.getvalue()), _as_png_values(pixels / 11.0 * 255))
