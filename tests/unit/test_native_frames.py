"""Native frames read at their offset decode exactly as pydicom's own frame reader decodes them."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.pixels.utils import pixel_array

from dicom_api.dicom.frames import available_decoder, dataset_syntax
from dicom_api.dicom.render import _native_frame, _pixel_tag_follows
from dicom_api.errors import CannotTranscode
from tests.corpus import CORPUS


def _native_candidates() -> list[str]:
    names = []
    for name, path in CORPUS.items():
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:  # noqa: S112 - not a file pydicom reads: nothing to compare
            continue
        syntax = str(getattr(ds.file_meta, "TransferSyntaxUID", ""))
        if syntax in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1") and "Rows" in ds:
            names.append(name)
    return names


NATIVE = _native_candidates()


def test_the_corpus_has_native_images_of_every_kind() -> None:
    assert len(NATIVE) >= 40


@pytest.mark.parametrize("name", NATIVE)
def test_native_frame_equals_pydicom(name: str) -> None:
    path = CORPUS[name]
    with path.open("rb") as fp:
        ds = pydicom.dcmread(fp, stop_before_pixels=True, force=True)
        syntax = dataset_syntax(ds)
        start = fp.tell()
        try:
            frames = int(ds.get("NumberOfFrames") or 1)
        except ValueError:
            pytest.skip("Number of Frames is not a number (refused before the pixel data is read)")
        read_any = False
        for frame in sorted({1, frames}):
            fp.seek(start)
            if not _pixel_tag_follows(fp, syntax):
                pytest.skip("no Pixel Data")
            native = _native_frame(fp, ds, syntax, frame)
            if native is None:
                continue  # colour, 1-bit, encapsulated or short: left to pydicom's reader
            read_any = True
            expected = pixel_array(path, index=frame - 1)
            assert native.dtype == expected.dtype
            assert np.array_equal(native, expected)
    if not read_any:
        pytest.skip("not a layout the native reader takes")


def test_available_decoder_refuses_a_syntax_it_has_no_decoder_for() -> None:
    assert available_decoder("1.2.840.10008.1.2.5", "frame").is_available  # RLE Lossless: pydicom's own
    with pytest.raises(CannotTranscode, match=r"The frame cannot be decoded here \(1\.2\.3\.4\)"):
        available_decoder("1.2.3.4", "frame")
