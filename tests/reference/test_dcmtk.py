"""Every image of pydicom's test files and of pydicom-data, rendered by us and by dcmtk (tests/reference/dcmtk.py).

One case per file and frame: the first frame, and the middle one of a multi-frame file. A case passes when both
PNGs are exact or close (every sample within +-1 grey level) or, for a lossy file, within PSNR 40 dB. When dcmtk
cannot render a file, we must. The tables below are the reviewed exceptions, each with its reason: the files we
refuse; the cases where dcmtk is right and we are not (strict xfail: the rendering bugs to fix); the cases where
dcmtk is wrong, checked against an independent computation instead. JPEG 2000, which dcmtk cannot decode, must
render as its uncompressed twin does.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels.utils import pixel_array

from dicom_api.dicom.render import render_png
from dicom_api.errors import NoImage, UndecodableImage
from tests.corpus import CORPUS
from tests.reference.dcmtk import (
    CLOSE,
    EXACT,
    WRONG,
    Dcmtk,
    compare,
    decode_png,
    functional_group_window,
    is_lossy,
    syntax_of,
)

PIXEL_TAGS = (0x7FE00008, 0x7FE00009, 0x7FE00010)  # Float, Double Float and (integer) Pixel Data
_PIXEL_TAG_BYTES = {struct.pack(f"{e}HH", t >> 16, t & 0xFFFF) for e in "<>" for t in PIXEL_TAGS}


@functools.cache
def _header(name: str) -> Dataset:
    return pydicom.dcmread(CORPUS[name], stop_before_pixels=True, force=True)


def _frames(path: Path) -> int | None:
    """How many frames an image-bearing file holds (1 when its Number of Frames is unreadable); None otherwise.

    A file carries an image when Pixel Data follows its header. The header read finds it even where the full
    read keeps nothing (an unterminated encapsulated sequence); the full read finds it in a deflated file.
    """
    try:
        with path.open("rb") as fp:
            header = pydicom.dcmread(fp, stop_before_pixels=True, force=True)
            present = fp.read(4) in _PIXEL_TAG_BYTES
        present = present or any(t in pydicom.dcmread(path, force=True, defer_size=1024) for t in PIXEL_TAGS)
    except Exception:  # not DICOM at all: text, JSON, gzip, an ICC profile
        return None
    if not present:
        return None
    try:
        return max(1, int(header.get("NumberOfFrames") or 1))
    except (TypeError, ValueError):
        return 1


IMAGES = {name: count for name, path in CORPUS.items() if (count := _frames(path)) is not None}
CASES = [(name, frame) for name, count in IMAGES.items() for frame in sorted({1, count // 2 + 1})]

# We raise UndecodableImage for these, each for a reason read in the file; True when dcmtk renders it all the same.
REFUSED: dict[str, tuple[str, bool]] = {
    "pydicom/JPEG2000-embedded-sequence-delimiter.dcm": (
        "its one 250-byte fragment is no J2K codestream (the SIZ marker holds a sequence delimiter's bytes)",
        False,
    ),
    "pydicom/MR_truncated.dcm": ("truncated: Pixel Data shorter than its declared length", False),
    "pydicom/meta_missing_tsyntax.dcm": ("2 bytes of Pixel Data and no Image Pixel module (no Rows, Columns)", False),
    "pydicom/nested_priv_SQ.dcm": ("2 bytes of Pixel Data and no Image Pixel module (no Rows, Columns)", False),
}

# dcmtk is right and we are not: the rendering bugs to fix, each with its diagnosis (none at present).
DCMTK_RIGHT: dict[str, str] = {}


def _dcmtk_of(twin: str) -> Callable[[Dcmtk, int], np.ndarray]:
    def reference(dcmtk: Dcmtk, frame: int) -> np.ndarray:
        rendered = dcmtk.render(CORPUS[twin], frame)
        image = rendered.image()
        assert image is not None, rendered.failure
        return image

    return reference


def _ybr_full_to_rgb(name: str) -> Callable[[Dcmtk, int], np.ndarray]:
    """The YBR_FULL to RGB equations of PS3.3 C.7.6.3.1.2, in floating point, rounded to the nearest level."""

    def reference(_: Dcmtk, frame: int) -> np.ndarray:
        ybr = pixel_array(CORPUS[name], index=frame - 1, raw=True).astype(np.float64)
        y, cb, cr = ybr[..., 0], ybr[..., 1] - 128.0, ybr[..., 2] - 128.0
        rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], axis=-1)
        return np.asarray(np.clip(np.rint(rgb), 0, 255), dtype=np.uint8)

    return reference


# dcmtk is wrong and we are right: each case is checked against an independent computation, and dcmtk's own
# rendering must still differ from ours (an entry that stops being true fails, as a strict xfail would).
_DCMTK_BIG_ENDIAN_32 = (
    "dcmtk 3.6.7 misreads 32-bit samples of Explicit VR Big Endian Pixel Data (it finds values up to 4292345870 "
    "where pydicom reads 795000..1254000, as dcmtk itself does in the little-endian twin): ours must equal "
    "dcmtk's rendering of that twin"
)
DCMTK_WRONG: dict[str, tuple[Callable[[Dcmtk, int], np.ndarray], str]] = {
    "pydicom/rtdose_expb.dcm": (_dcmtk_of("pydicom/rtdose.dcm"), _DCMTK_BIG_ENDIAN_32),
    "pydicom/rtdose_expb_1frame.dcm": (_dcmtk_of("pydicom/rtdose_1frame.dcm"), _DCMTK_BIG_ENDIAN_32),
    "pydicom-data/SC_ybr_full_uncompressed.dcm": (
        _ybr_full_to_rgb("pydicom-data/SC_ybr_full_uncompressed.dcm"),
        "dcmtk's integer YCbCr to RGB conversion is up to 1.85 levels from the equations of PS3.3 C.7.6.3.1.2 "
        "(2 after rounding); ours is within 0.5 of them",
    ),
}

# JPEG 2000 files and their uncompressed twins in the corpus, found by SOP Instance UID or by name (J2KR with UNCR,
# J2KI with UNCI, which holds the J2KI's decoded samples). dcmtk has no JPEG 2000 decoder: it checks the twin.
TWINS = {
    "pydicom/693_J2KI.dcm": "pydicom-data/693_UNCI.dcm",
    "pydicom/JPEG2000.dcm": "pydicom-data/JPEG2000_UNC.dcm",
    "pydicom/MR_small_jp2klossless.dcm": "pydicom/MR_small.dcm",
    "pydicom/SC_rgb_gdcm_KY.dcm": "pydicom-data/SC_rgb_gdcm2k_uncompressed.dcm",
    "pydicom/examples_jpeg2k.dcm": "pydicom-data/US1_UNCR.dcm",  # the UID of US1_J2KR.dcm
    "pydicom-data/693_J2KR.dcm": "pydicom-data/693_UNCR.dcm",
    "pydicom-data/MR2_J2KI.dcm": "pydicom-data/MR2_UNCI.dcm",
    "pydicom-data/MR2_J2KR.dcm": "pydicom-data/MR2_UNCR.dcm",
    "pydicom-data/RG1_J2KI.dcm": "pydicom-data/RG1_UNCI.dcm",
    "pydicom-data/RG1_J2KR.dcm": "pydicom-data/RG1_UNCR.dcm",
    "pydicom-data/RG3_J2KI.dcm": "pydicom-data/RG3_UNCI.dcm",
    "pydicom-data/RG3_J2KR.dcm": "pydicom-data/RG3_UNCR.dcm",
    "pydicom-data/US1_J2KI.dcm": "pydicom-data/US1_UNCI.dcm",
    "pydicom-data/US1_J2KR.dcm": "pydicom-data/US1_UNCR.dcm",
    "pydicom-data/emri_small_jpeg_2k_lossless.dcm": "pydicom-data/emri_small.dcm",
    # Its encapsulated Pixel Data ends without the sequence delimiter, but every frame's fragment is whole.
    "pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm": "pydicom-data/emri_small.dcm",
}
JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
JPEG_2000 = {JPEG_2000_LOSSLESS, "1.2.840.10008.1.2.4.91"}
NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}


# Enhanced multi-frame cases whose window is in a functional group, not at the top level.
FUNCTIONAL_GROUP_WINDOWS = [(name, frame) for name, frame in CASES if functional_group_window(_header(name), frame)]


def _ours(name: str, frame: int) -> np.ndarray:
    with CORPUS[name].open("rb") as fp:
        return decode_png(render_png(fp, frame))


def _expected_shape(ds: Dataset) -> tuple[int, ...]:
    grey = str(ds.get("PhotometricInterpretation", "")).startswith("MONOCHROME")
    return (int(ds.Rows), int(ds.Columns)) if grey else (int(ds.Rows), int(ds.Columns), 3)


def _case(name: str, frame: int) -> object:
    if name in DCMTK_RIGHT:
        return pytest.param(
            name, frame, marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason=DCMTK_RIGHT[name])
        )
    return pytest.param(name, frame)


def test_tables_name_image_files_of_the_corpus() -> None:
    assert len(IMAGES) > 150
    tables = [*REFUSED, *DCMTK_RIGHT, *DCMTK_WRONG, *TWINS, *TWINS.values()]
    assert set(tables) <= set(IMAGES), set(tables) - set(IMAGES)
    assert {syntax_of(_header(name)) for name in TWINS} <= JPEG_2000
    assert all(syntax_of(_header(twin)) not in JPEG_2000 for twin in TWINS.values())


def test_every_jpeg_2000_twin_by_uid_is_listed() -> None:
    by_uid: dict[str, list[str]] = {}
    for name in IMAGES:
        by_uid.setdefault(str(_header(name).get("SOPInstanceUID", "")), []).append(name)
    found = {
        j2k
        for names in by_uid.values()
        for j2k in names
        if syntax_of(_header(j2k)) in JPEG_2000 and any(syntax_of(_header(n)) in NATIVE for n in names)
    }
    assert found - set(REFUSED) <= set(TWINS)


@pytest.mark.parametrize(("name", "frame"), [_case(name, frame) for name, frame in CASES])
def test_matches_dcmtk(dcmtk: Dcmtk, category: Callable[[str], None], name: str, frame: int) -> None:
    if name in REFUSED:
        reason, dcmtk_renders = REFUSED[name]
        category(f"refused, dcmtk {'renders it' if dcmtk_renders else 'fails too'}")
        with pytest.raises((UndecodableImage, NoImage)):
            _ours(name, frame)
        assert dcmtk.render(CORPUS[name], frame).made == dcmtk_renders, reason
        return
    ours = _ours(name, frame)
    reference = dcmtk.render(CORPUS[name], frame)
    image = reference.image()
    if image is None:
        category("dcmtk cannot render, we do")
        assert ours.shape == _expected_shape(_header(name)), reference.failure
    elif name in DCMTK_WRONG:
        # Held to +-1 whatever the file's history: the differences listed there are not a lossy decoder's.
        category("dcmtk wrong, we match an independent computation")
        independent, why = DCMTK_WRONG[name]
        found = compare(ours, image, lossy=False)
        assert found.category == WRONG, f"dcmtk now agrees ({found}): review DCMTK_WRONG ({why})"
        found = compare(ours, independent(dcmtk, frame), lossy=False)
        assert found.category in (EXACT, CLOSE), f"{found} against the independent computation ({why})"
    else:
        found = compare(ours, image, is_lossy(_header(name)))
        category(found.category)
        assert found.category != WRONG, f"{found} ({reference.command})"


@pytest.mark.parametrize(("name", "frame"), [(name, frame) for name, frame in CASES if name in TWINS])
def test_jpeg_2000_renders_as_its_uncompressed_twin(category: Callable[[str], None], name: str, frame: int) -> None:
    """Reversible JPEG 2000 (1.2.840.10008.1.2.4.90, lossless only) must be identical; irreversible is held to the
    lossy rule (its twin holds its decoded samples, but decoders may round the inverse wavelet differently)."""
    found = compare(_ours(name, frame), _ours(TWINS[name], frame), lossy=True)
    category(found.category)
    if syntax_of(_header(name)) == JPEG_2000_LOSSLESS:
        assert found.category == EXACT, str(found)
    assert found.category != WRONG, str(found)


@pytest.mark.parametrize(("name", "frame"), FUNCTIONAL_GROUP_WINDOWS)
def test_window_of_the_frame_voi_lut_functional_group(
    dcmtk: Dcmtk, category: Callable[[str], None], name: str, frame: int
) -> None:
    """Against dcmtk given that window (+Ww), which applies the functional groups' rescale itself."""
    window = functional_group_window(_header(name), frame)
    assert window is not None
    reference = dcmtk.render(CORPUS[name], frame, window)
    image = reference.image()
    assert image is not None, reference.failure
    found = compare(_ours(name, frame), image, is_lossy(_header(name)))
    category(found.category)
    assert found.category != WRONG, f"{found} ({reference.command})"
