"""Rendered images as DICOMweb asks for them: window, viewport and quality parameters, fitting and encoding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dicom_api.dicom.render import Window, render_png
from dicom_api.dicom.rendered import (
    JPEG,
    PNG,
    THUMBNAIL,
    Output,
    Viewport,
    encode,
    fit,
    parse_quality,
    parse_viewport,
    parse_window,
    render_image,
)
from dicom_api.errors import InvalidParameter
from tests.helpers import sample


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("40,400", Window(40.0, 400.0, "LINEAR")),
        ("40,400,linear", Window(40.0, 400.0, "LINEAR")),
        ("-600.5, 1500 ,LINEAR-EXACT", Window(-600.5, 1500.0, "LINEAR_EXACT")),
        ("0,1,sigmoid", Window(0.0, 1.0, "SIGMOID")),
    ],
)
def test_window_parameter(value: str, expected: Window) -> None:
    assert parse_window(value) == expected


@pytest.mark.parametrize("value", ["40", "40,0", "40,-1", "a,400", "40,400,cubic", "nan,400", "40,inf", "1,2,3,4"])
def test_bad_window_parameter_is_a_400(value: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_window(value)


def test_viewport_parameter() -> None:
    assert parse_viewport("128,64") == Viewport(128, 64)
    assert parse_viewport("100,100,10,20,-30,40") == Viewport(100, 100, (10, 20, -30, 40))


@pytest.mark.parametrize(
    "value", ["128", "0,10", "10,-1", "a,b", "100000,100000", "10,10,1,2,3", "10,10,-1,0,5,5", "10,10,0,0,0,5"]
)
def test_bad_viewport_parameter_is_a_400(value: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_viewport(value)


@pytest.mark.parametrize("value", ["0", "101", "x", "50.5"])
def test_bad_quality_is_a_400(value: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_quality(value)


def test_fit_keeps_the_aspect_ratio_within_the_viewport() -> None:
    image = np.zeros((100, 200), np.uint8)
    assert fit(image, Viewport(50, 50)).shape == (25, 50)
    assert fit(image, Viewport(400, 1000)).shape == (200, 400)
    assert fit(np.zeros((100, 200, 3), np.uint8), Viewport(20, 20)).shape == (10, 20, 3)


def test_fit_takes_the_region_and_flips_it() -> None:
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert fit(image, Viewport(2, 2, (1, 1, 2, 2))).tolist() == [[5, 6], [9, 10]]
    assert fit(image, Viewport(2, 2, (1, 1, -2, 2))).tolist() == [[6, 5], [10, 9]]
    assert fit(image, Viewport(2, 2, (1, 1, 2, -2))).tolist() == [[9, 10], [5, 6]]
    with pytest.raises(InvalidParameter):
        fit(image, Viewport(2, 2, (4, 0, 1, 1)))


def test_render_image_as_png_is_the_png_route_s_image() -> None:
    with sample("CT_small.dcm").open("rb") as fp:
        png = render_png(fp)
    with sample("CT_small.dcm").open("rb") as fp:
        assert render_image(fp, output=Output(PNG)) == png


def test_render_image_as_jpeg_is_close_to_the_png() -> None:
    with sample("CT_small.dcm").open("rb") as fp:
        expected = np.asarray(Image.open(io.BytesIO(render_png(fp))), np.int16)
    with sample("CT_small.dcm").open("rb") as fp:
        jpeg = Image.open(io.BytesIO(render_image(fp, output=Output(JPEG, 95))))
    assert jpeg.format == "JPEG"
    assert jpeg.size == (expected.shape[1], expected.shape[0])
    assert np.abs(np.asarray(jpeg, np.int16) - expected).mean() < 3


def test_thumbnail_is_a_small_jpeg() -> None:
    with sample("MR_small.dcm").open("rb") as fp:
        thumbnail = Image.open(io.BytesIO(render_image(fp, output=THUMBNAIL)))
    assert thumbnail.format == "JPEG"
    assert max(thumbnail.size) == 128


def test_colour_jpeg_keeps_three_channels() -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    image[..., 0] = 255
    decoded = np.asarray(Image.open(io.BytesIO(encode(image, Output(JPEG)))))
    assert decoded.shape == (8, 8, 3)
    assert decoded[..., 0].min() > 200
    assert decoded[..., 2].max() < 60


def test_variants_differ_by_every_option() -> None:
    variants = {
        Output().variant,
        Output(PNG).variant,
        Output(JPEG, 50).variant,
        Output(JPEG, 90, Viewport(10, 10)).variant,
        Output(JPEG, 90, Viewport(10, 10, (0, 0, 5, 5))).variant,
        Output(JPEG, 90, Viewport(10, 10, (0, 0, -5, 5))).variant,
    }
    assert len(variants) == 6
    assert all(c.isalnum() or c in "-_" for v in variants for c in v)
