"""The PNG encoder: what it writes decodes, with two independent decoders, to exactly the input."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from dicom_api.dicom.png import encode_png


def decoded(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return np.asarray(image)


@given(
    arrays(
        np.uint8,
        st.tuples(st.integers(1, 40), st.integers(1, 40))
        | st.tuples(st.integers(1, 30), st.integers(1, 30), st.just(3)),
    )
)
@settings(max_examples=150, deadline=None)
def test_round_trip(image: np.ndarray) -> None:
    assert np.array_equal(decoded(encode_png(image)), image)


def test_a_large_smooth_image_round_trips_and_compresses() -> None:
    y, x = np.mgrid[0:700, 0:900]
    image = ((x + y) // 7 % 256).astype(np.uint8)
    png = encode_png(image)
    assert np.array_equal(decoded(png), image)
    assert len(png) < image.size // 10


def test_chunks_are_well_formed() -> None:
    png = encode_png(np.zeros((3, 5, 3), np.uint8))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, kinds = 8, []
    while at < len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        assert int.from_bytes(png[at + 8 + length : at + 12 + length], "big") == zlib.crc32(kind + data)
        kinds.append(kind)
        at += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]
    assert png[16:29] == (5).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])


@pytest.mark.parametrize("image", [np.zeros((2, 2), np.uint16), np.zeros((2, 2, 4), np.uint8), np.zeros(4, np.uint8)])
def test_other_arrays_are_refused(image: np.ndarray) -> None:
    with pytest.raises(ValueError, match="cannot encode"):
        encode_png(image)
