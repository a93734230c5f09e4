"""Accept headers as DICOMweb clients send them (the strings are theirs), and the choice among offers
(PS3.18 8.7.3-8.7.5; RFC 9110 12.5.1)."""

from __future__ import annotations

import pytest

from dicom_api.dicom.media_types import (
    EXPLICIT_VR_LITTLE_ENDIAN as EVRLE,
)
from dicom_api.dicom.media_types import (
    default_syntax,
    frame_media_type,
    frame_syntax,
    frame_syntaxes,
)
from dicom_api.errors import NotAcceptable
from dicom_api.services.media import (
    MAX_RANGES,
    MediaRange,
    Offer,
    frame_offers,
    instance_offers,
    negotiate,
    parse_accept,
    parse_media_type,
    part_content_type,
)

JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70"
MULTIPART = "multipart/related"

OHIF_FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax="*"'
OHIF_FRAMES_UNQUOTED = "multipart/related; type=application/octet-stream; transfer-syntax=*"
OHIF_FRAMES_OLD = 'multipart/related; type="application/octet-stream"'
OHIF_FRAMES_TWICE = 'multipart/related; type="application/octet-stream"; transfer-syntax="*"; transfer-syntax="*"'
CORNERSTONE = "multipart/related; type=application/octet-stream; transfer-syntax=*"
DWC_QIDO = "application/dicom+json, application/json"
DWC_INSTANCE = 'multipart/related; type="application/dicom"'
DWC_FRAMES = 'multipart/related; type="*/*"'
DWC_JS_FRAMES = (
    'multipart/related; type="image/x-dicom-rle"; transfer-syntax=1.2.840.10008.1.2.5,'
    ' multipart/related; type="image/jpeg"; transfer-syntax=1.2.840.10008.1.2.4.50,'
    ' multipart/related; type="application/octet-stream"; transfer-syntax=*'
)
ORTHANC_RETRIEVE = 'multipart/related; type="application/dicom"; transfer-syntax=*'

# A JPEG Baseline instance: its frames as stored, or decompressed; the whole instance likewise.
JPEG_FRAME_OFFERS = [
    Offer(MULTIPART, "image/jpeg", JPEG_BASELINE),
    Offer(MULTIPART, "application/octet-stream", EVRLE),
]
JPEG_INSTANCE_OFFERS = [
    Offer(MULTIPART, "application/dicom", JPEG_BASELINE),
    Offer(MULTIPART, "application/dicom", EVRLE),
]


def test_parameters_quoted_or_not_are_the_same() -> None:
    quoted, bare = parse_accept(OHIF_FRAMES)[0], parse_accept(OHIF_FRAMES_UNQUOTED)[0]
    assert quoted == bare
    assert quoted == MediaRange(MULTIPART, (("type", "application/octet-stream"), ("transfer-syntax", "*")))


def test_repeated_parameters_are_kept() -> None:
    (r,) = parse_accept(OHIF_FRAMES_TWICE)
    assert r.values("transfer-syntax") == ["*", "*"]


def test_several_ranges_q_and_extensions() -> None:
    ranges = parse_accept('image/png;q=0.5, image/jpeg ; q=1.0 ; ext="a,b", */*;q=0, text/html;level=1')
    assert [(r.media_type, r.q) for r in ranges] == [
        ("image/png", 0.5),
        ("image/jpeg", 1.0),
        ("*/*", 0.0),
        ("text/html", 1.0),
    ]
    assert ranges[1].params == ()  # what follows q is an accept-extension
    assert ranges[3].param("level") == "1"


def test_quoted_commas_and_escapes_stay_inside_the_value() -> None:
    (r,) = parse_accept(r'multipart/related; type="a\"b,c/d"')
    assert r.param("type") == 'a"b,c/d'


@pytest.mark.parametrize("header", ["", "   ", None], ids=["empty", "blank", "missing"])
def test_no_accept_header_is_any(header: str | None) -> None:
    assert parse_accept(header) == [MediaRange("*/*")]


@pytest.mark.parametrize(
    "header",
    ["text", "*/html", "image/jpeg;q=2", "image/jpeg;q=x", "a b/c", "/", "image/"],
)
def test_malformed_ranges_are_skipped(header: str) -> None:
    assert parse_accept(header + ", image/png") == [MediaRange("image/png")]


def test_aliases_are_canonical() -> None:
    (r,) = parse_accept('multipart/related; type="image/x-jls"')
    assert r.param("type") == "image/jls"
    assert parse_accept("IMAGE/X-DICOM-RLE")[0].media_type == "image/dicom-rle"


def test_the_number_of_ranges_is_bounded() -> None:
    assert len(parse_accept(", ".join(["image/png"] * 1000))) == MAX_RANGES


@pytest.mark.parametrize("header", [OHIF_FRAMES, OHIF_FRAMES_UNQUOTED, OHIF_FRAMES_TWICE, CORNERSTONE])
def test_ohif_and_cornerstone_frames_get_the_stored_native_frame(header: str) -> None:
    offers = [Offer(MULTIPART, "application/octet-stream", EVRLE)]
    assert negotiate(parse_accept(header), offers) == offers[0]


@pytest.mark.parametrize("header", [OHIF_FRAMES, CORNERSTONE])
def test_transfer_syntax_any_of_octet_stream_refuses_compressed_frames(header: str) -> None:
    """type=application/octet-stream; transfer-syntax=*: the type still holds, so decompressed frames."""
    assert negotiate(parse_accept(header), JPEG_FRAME_OFFERS) == JPEG_FRAME_OFFERS[1]
    with pytest.raises(NotAcceptable):
        negotiate(parse_accept(header), JPEG_FRAME_OFFERS[:1])


def test_old_ohif_without_transfer_syntax_asks_the_default() -> None:
    assert negotiate(parse_accept(OHIF_FRAMES_OLD), JPEG_FRAME_OFFERS) == JPEG_FRAME_OFFERS[1]


def test_dicomweb_client_frames_take_the_stored_form() -> None:
    assert negotiate(parse_accept(DWC_FRAMES), JPEG_FRAME_OFFERS) == JPEG_FRAME_OFFERS[0]


def test_dicomweb_client_js_list_takes_the_stored_jpeg() -> None:
    assert negotiate(parse_accept(DWC_JS_FRAMES), JPEG_FRAME_OFFERS) == JPEG_FRAME_OFFERS[0]
    lossless = [Offer(MULTIPART, "image/jpeg", JPEG_LOSSLESS), *JPEG_FRAME_OFFERS[1:]]
    assert negotiate(parse_accept(DWC_JS_FRAMES), lossless) == lossless[1]


def test_dicomweb_client_instance_is_explicit_vr_little_endian() -> None:
    assert negotiate(parse_accept(DWC_INSTANCE), JPEG_INSTANCE_OFFERS) == JPEG_INSTANCE_OFFERS[1]


def test_orthanc_retrieve_takes_the_stored_syntax() -> None:
    assert negotiate(parse_accept(ORTHANC_RETRIEVE), JPEG_INSTANCE_OFFERS) == JPEG_INSTANCE_OFFERS[0]


def test_qido_accepts() -> None:
    offers = [Offer("application/dicom+json")]
    for header in (DWC_QIDO, "application/dicom+json", "*/*", None, "application/*"):
        assert negotiate(parse_accept(header), offers) == offers[0]
    with pytest.raises(NotAcceptable):
        negotiate(parse_accept("application/dicom+xml"), offers)


def test_explicit_transfer_syntax_must_be_offered() -> None:
    header = f'multipart/related; type="application/dicom"; transfer-syntax={JPEG_LOSSLESS}'
    with pytest.raises(NotAcceptable):
        negotiate(parse_accept(header), JPEG_INSTANCE_OFFERS)


def test_q_orders_and_the_most_specific_range_decides() -> None:
    header = 'multipart/related; type="image/jpeg"; transfer-syntax=*; q=0.2, multipart/related; type="*/*"; q=0.9'
    assert negotiate(parse_accept(header), JPEG_FRAME_OFFERS) == JPEG_FRAME_OFFERS[1]
    refused = 'multipart/related; type="image/jpeg"; transfer-syntax=*; q=0, */*'
    assert negotiate(parse_accept(refused), JPEG_FRAME_OFFERS) == JPEG_FRAME_OFFERS[1]


def test_rendered_types() -> None:
    offers = [Offer("image/jpeg"), Offer("image/png"), Offer("image/gif")]
    assert negotiate(parse_accept("*/*"), offers) == offers[0]
    assert negotiate(parse_accept("image/png, image/jpeg;q=0.5"), offers) == offers[1]
    with pytest.raises(NotAcceptable):
        negotiate(parse_accept("image/webp"), offers)


def test_media_type_table() -> None:
    assert frame_media_type(JPEG_BASELINE) == "image/jpeg"
    assert frame_media_type("1.2.840.10008.1.2") == "application/octet-stream"
    assert frame_syntax("1.2.840.10008.1.2.1.99") == EVRLE
    assert frame_syntax("1.2.840.10008.1.2.2") is None  # big endian frames need converting
    assert frame_media_type("1.2.3") is None
    assert frame_syntaxes("image/x-jls") == ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81")
    assert default_syntax("image/jpeg") == JPEG_LOSSLESS
    assert default_syntax("application/dicom") == EVRLE
    assert default_syntax("text/plain") is None


def test_instance_offers_serve_the_clients() -> None:
    offers = instance_offers(JPEG_BASELINE)
    assert offers == JPEG_INSTANCE_OFFERS
    assert instance_offers(EVRLE) == [Offer(MULTIPART, "application/dicom", EVRLE)]
    assert negotiate(parse_accept(ORTHANC_RETRIEVE), offers).transfer_syntax == JPEG_BASELINE
    assert negotiate(parse_accept(DWC_INSTANCE), offers).transfer_syntax == EVRLE
    single = instance_offers(JPEG_BASELINE, single_part=True)
    assert negotiate(parse_accept("application/dicom"), single) == Offer("application/dicom", None, EVRLE)
    with pytest.raises(NotAcceptable):
        negotiate(parse_accept("application/dicom"), offers)


@pytest.mark.parametrize("header", [OHIF_FRAMES, OHIF_FRAMES_UNQUOTED, OHIF_FRAMES_TWICE, CORNERSTONE, OHIF_FRAMES_OLD])
def test_frame_offers_for_native_frames(header: str) -> None:
    for stored in (EVRLE, "1.2.840.10008.1.2", "1.2.840.10008.1.2.1.99"):
        offers = frame_offers(stored, decodable=True)
        assert negotiate(parse_accept(header), offers) == Offer(MULTIPART, "application/octet-stream", EVRLE)


def test_frame_offers_for_compressed_frames() -> None:
    offers = frame_offers(JPEG_BASELINE, decodable=True)
    assert offers[:2] == JPEG_FRAME_OFFERS
    assert negotiate(parse_accept(DWC_FRAMES), offers) == JPEG_FRAME_OFFERS[0]
    assert negotiate(parse_accept(CORNERSTONE), offers) == JPEG_FRAME_OFFERS[1]
    jpeg_single = f"image/jpeg; transfer-syntax={JPEG_BASELINE}"
    assert negotiate(parse_accept(jpeg_single), offers) == Offer("image/jpeg", None, JPEG_BASELINE)
    with pytest.raises(NotAcceptable):
        negotiate(parse_accept(CORNERSTONE), frame_offers(JPEG_BASELINE, decodable=False))
    big_endian = frame_offers("1.2.840.10008.1.2.2", decodable=False)
    assert big_endian == []


def test_part_content_type() -> None:
    assert part_content_type("image/jpeg", JPEG_BASELINE) == f"image/jpeg; transfer-syntax={JPEG_BASELINE}"
    assert part_content_type("application/dicom+json", None) == "application/dicom+json"
    (r,) = parse_accept(part_content_type("application/octet-stream", EVRLE))
    assert r.param("transfer-syntax") == EVRLE


def test_content_type_keeps_the_boundary_case_and_its_commas() -> None:
    parsed = parse_media_type('Multipart/Related; Type="application/DICOM"; boundary="AbC,d"')
    assert parsed is not None
    assert parsed.media_type == "multipart/related"
    assert parsed.param("type") == "application/dicom"
    assert parsed.param("boundary") == "AbC,d"
    assert parse_media_type(None) is None
    assert parse_media_type("nonsense") is None
