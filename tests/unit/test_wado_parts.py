"""WADO-RS pieces without HTTP: frame lists and bulk data paths, the Pixel Data element located from its header,
a compressed frame decoded, and the render cache keys of rendered resources."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.encaps import generate_frames

from dicom_api.dicom.frame_decode import decode_frame, pixel_element
from dicom_api.dicom.media_types import EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN
from dicom_api.dicom.rendered import PNG, THUMBNAIL, Output, Viewport
from dicom_api.errors import CannotTranscode, InvalidParameter, NotFound, UndecodableImage
from dicom_api.services.dicomweb_retrieve import bulk_url, parse_bulk_path, parse_frame_list
from dicom_api.services.rendering import RenderRequest
from dicom_api.storage.base import validate_key
from tests.helpers import sample

FILE_ID = "0123456789abcdef0123456789abcdef"
PIXEL_DATA = 0x7FE00010


def test_frame_list_keeps_the_order_asked() -> None:
    assert parse_frame_list("5,2, 3") == [5, 2, 3]


@pytest.mark.parametrize("text", ["", "0", "1,,2", "a", "-1", "1.5", str(2**31)])
def test_bad_frame_list_is_a_400(text: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_frame_list(text)


def test_bulk_data_path_round_trips() -> None:
    path = (0x00541300, 2, 0x00281201)
    url = bulk_url("http://h/dicomweb/studies/1/series/2/instances/3", path)
    assert url.endswith("/bulkdata/00541300/2/00281201")
    assert parse_bulk_path(url.split("/bulkdata/")[1]) == path


@pytest.mark.parametrize("text", ["00541300/2", "zz", "7FE00010/x/00000000", "/".join(["00540010", "1"] * 9)])
def test_a_bulk_data_path_not_made_here_is_404(text: str) -> None:
    with pytest.raises(NotFound):
        parse_bulk_path(text)


def test_pixel_element_explicit_and_implicit() -> None:
    explicit = struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, 512)
    found = pixel_element(explicit, 100, EXPLICIT_VR_LITTLE_ENDIAN, PIXEL_DATA, 512)
    assert (found.vr, found.value_offset, found.length, found.undefined_length) == ("OW", 112, 512, False)
    implicit = struct.pack("<HHI", 0x7FE0, 0x0010, 0xFFFFFFFF) + b"\0" * 4
    found = pixel_element(implicit, 100, IMPLICIT_VR_LITTLE_ENDIAN, PIXEL_DATA, 900)
    assert (found.value_offset, found.length, found.undefined_length) == (108, 900, True)


def test_pixel_element_refuses_another_element() -> None:
    with pytest.raises(UndecodableImage):
        pixel_element(struct.pack("<HH2sHI", 0x0010, 0x0010, b"OW", 0, 4), 0, EXPLICIT_VR_LITTLE_ENDIAN, PIXEL_DATA, 4)


def test_a_decoded_jpeg_frame_is_what_pydicom_decodes() -> None:
    ds = dcmread(sample("SC_rgb_jpeg_dcmtk.dcm"))
    syntax = str(ds.file_meta.TransferSyntaxUID)
    [codestream] = generate_frames(ds.PixelData, number_of_frames=1)
    decoded = decode_frame(codestream, ds, syntax)
    assert np.array_equal(np.frombuffer(decoded, np.uint8).reshape(ds.pixel_array.shape), ds.pixel_array)


def test_a_frame_without_a_decoder_is_406() -> None:
    ds = dcmread(sample("SC_rgb_jpeg_dcmtk.dcm"))
    with pytest.raises(CannotTranscode):
        decode_frame(b"\0" * 16, ds, "1.2.840.10008.1.2.4.100")  # MPEG2: no decoder


def test_the_png_routes_render_keys_are_unchanged() -> None:
    request = RenderRequest(FILE_ID, 2)
    assert request.cache_key == f"renders/{FILE_ID}/2-auto-r2.png"
    assert request.media_type == PNG


@pytest.mark.parametrize(
    "output",
    [Output(), Output(PNG), THUMBNAIL, Output(viewport=Viewport(4096, 4096, (99999, 99999, -99999, -99999)))],
)
def test_rendered_outputs_have_keys_of_their_own_that_the_store_accepts(output: Output) -> None:
    plain, rendered = RenderRequest(FILE_ID, 2**31 - 1), RenderRequest(FILE_ID, 2**31 - 1, output=output)
    assert rendered.cache_key != plain.cache_key
    assert rendered.cache_key.endswith(".png" if output.media_type == PNG else ".jpg")
    assert validate_key(rendered.cache_key)
    assert rendered.etag("ab" * 32) != plain.etag("ab" * 32)
