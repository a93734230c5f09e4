"""multipart/related: STOW-RS bodies as dicomweb-client and Orthanc send them, read as a stream within limits
(RFC 2046 5.1, PS3.18 8.6), and WADO-RS bodies written the way cornerstone's parser reads them (PS3.18 8.7)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import pytest

from dicom_api.api.multipart import (
    MAX_PART_HEADER_BYTES,
    BodyLimits,
    Part,
    ReceivedPart,
    multipart_content_type,
    new_boundary,
    receive_parts,
    receive_single,
    request_body,
    write_parts,
    write_parts_async,
)
from dicom_api.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

LIMITS = BodyLimits(part_bytes=10_000, total_bytes=100_000, max_parts=10)
# Content that looks like framing: CRLFs, dashes, a boundary-like line.
FIRST = b"DICM\r\n--\r\n--notit\r\n\r\n" + bytes(range(256)) * 3
SECOND = b"\x00" * 1000 + b"\r\n"


def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for i in range(0, len(data), size):
            yield data[i : i + size]

    return gen()


def _receive(
    data: bytes, boundary: bytes, folder: Path, size: int = 4096, limits: BodyLimits = LIMITS
) -> list[tuple[ReceivedPart, bytes]]:
    """The parts and their contents, each file removed once read, as the caller owns it."""

    async def run() -> list[tuple[ReceivedPart, bytes]]:
        received = []
        async for part in receive_parts(_chunks(data, size), boundary, folder, limits):
            received.append((part, part.path.read_bytes()))
            part.path.unlink()
        return received

    return asyncio.run(run())


def _dwc_body(boundary: str, contents: Iterable[bytes]) -> bytes:
    """dicomweb-client's form: a leading CRLF, no Content-Length."""
    body = b""
    for content in contents:
        body += f"\r\n--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + content
    return body + f"\r\n--{boundary}--".encode()


def _orthanc_body(boundary: str, contents: Iterable[bytes]) -> bytes:
    """Orthanc's form: Content-Length per part, a final CRLF."""
    body = b""
    for content in contents:
        head = f"--{boundary}\r\nContent-Type: application/dicom\r\nContent-Length: {len(content)}\r\n\r\n"
        body += head.encode() + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


@pytest.mark.parametrize("size", [1, 7, 1000, 1 << 20])
@pytest.mark.parametrize("form", [_dwc_body, _orthanc_body])
def test_clients_bodies_in_any_chunking(form: Callable[[str, list[bytes]], bytes], size: int, tmp_path: Path) -> None:
    received = _receive(form("b0undary", [FIRST, SECOND]), b"b0undary", tmp_path, size)
    assert [content for _, content in received] == [FIRST, SECOND]
    part = received[0][0]
    assert part.media_type == "application/dicom"
    assert part.size == len(FIRST)
    assert part.sha256 == hashlib.sha256(FIRST).hexdigest()
    assert part.path.parent == tmp_path


def test_preamble_and_part_headers(tmp_path: Path) -> None:
    body = (
        b"This is a preamble.\r\n--B\r\ncontent-type: Application/DICOM; transfer-syntax=1.2.840.10008.1.2.1\r\n"
        b"Content-Location: http://x/1\r\nX-Other:  y \r\n\r\nabc\r\n--B--\r\nepilogue"
    )
    ((part, content),) = _receive(body, b"B", tmp_path, 5)
    assert content == b"abc"
    assert part.media_type == "application/dicom"
    assert part.content_type == "Application/DICOM; transfer-syntax=1.2.840.10008.1.2.1"
    assert part.content_location == "http://x/1"
    assert part.headers["x-other"] == "y"


def _refused(data: bytes, folder: Path, error: type[Exception], limits: BodyLimits = LIMITS) -> None:
    with pytest.raises(error):
        _receive(data, b"B", folder, 64, limits)
    assert list(folder.iterdir()) == []  # nothing left behind: neither the refused part nor one not handed over


@pytest.mark.parametrize(
    "body",
    [
        b"--B\r\nContent-Type: application/dicom\r\n\r\nabc",  # no close delimiter
        b"--B\r\nContent-Type: application/dicom\r\n\r\nabc\r\n--B\r\n",  # ends after a boundary
        b"--B--\r\n",  # no part
        b"no boundary at all",
        b"--B\r\nContent-Type application/dicom\r\n\r\nabc\r\n--B--",  # a header without a colon
        b"--B\r\nContent-Length: 4\r\n\r\nabc\r\n--B--",  # Content-Length is not the content's
        b"--B\r\nX: " + b"y" * MAX_PART_HEADER_BYTES + b"\r\n\r\nabc\r\n--B--",
    ],
    ids=["unclosed", "after-boundary", "no-part", "no-boundary", "bad-header", "bad-length", "huge-header"],
)
def test_malformed_framing_is_a_bad_request(body: bytes, tmp_path: Path) -> None:
    _refused(body, tmp_path, BadRequest)


def test_a_long_preamble_is_refused(tmp_path: Path) -> None:
    _refused(b"x" * 100_000 + b"\r\n--B\r\n\r\nabc\r\n--B--", tmp_path, BadRequest, BodyLimits(10**6, 10**6))


def test_limits_are_payload_too_large_and_leave_no_file(tmp_path: Path) -> None:
    _refused(_orthanc_body("B", [FIRST, b"x" * 10_001]), tmp_path, PayloadTooLarge)
    _refused(_orthanc_body("B", [FIRST] * 20), tmp_path, PayloadTooLarge, BodyLimits(10_000, 10_000, 100))
    _refused(_orthanc_body("B", [b"x"] * 11), tmp_path, PayloadTooLarge)


def test_a_consumer_that_stops_early_leaves_no_partial_file(tmp_path: Path) -> None:
    body = _orthanc_body("B", [FIRST, SECOND, FIRST])

    async def first_only() -> Path:
        parts = receive_parts(_chunks(body, 100), b"B", tmp_path, LIMITS)
        part = await anext(parts)
        await parts.aclose()
        return part.path

    kept = asyncio.run(first_only())
    assert list(tmp_path.iterdir()) == [kept]


@pytest.mark.parametrize(
    ("header", "boundary", "part_type"),
    [
        ('multipart/related; type="application/dicom"; boundary="a b:c"', b"a b:c", "application/dicom"),
        ("multipart/related; type=application/dicom; boundary=----=_Part_1", b"----=_Part_1", "application/dicom"),
        ("Multipart/Related; boundary=XyZ", b"XyZ", None),
    ],
)
def test_request_content_types(header: str, boundary: bytes, part_type: str | None) -> None:
    parsed = request_body(header)
    assert parsed.multipart
    assert parsed.boundary == boundary
    assert parsed.part_type == part_type


def test_orthanc_boundary_over_rfc_length_is_accepted() -> None:
    boundary = "09501d3a-538c-41fb-8709-7252999c086b-09501d3a-538c-41fb-8709-7252999c086b"  # 73, as Orthanc 1.10
    parsed = request_body(f'multipart/related; type="application/dicom"; boundary={boundary}')
    assert parsed.boundary == boundary.encode()


def test_request_content_types_refused() -> None:
    assert not request_body("application/dicom").multipart
    for header in (None, "", "text/plain", 'multipart/related; type="application/dicom+json"; boundary=x'):
        with pytest.raises(UnsupportedMediaType):
            request_body(header)
    for header in ("multipart/related", "multipart/related; boundary=" + "x" * 201, "multipart/related; boundary=é"):
        with pytest.raises(BadRequest):
            request_body(header)


def test_single_part_bodies(tmp_path: Path) -> None:
    part = asyncio.run(receive_single(_chunks(FIRST, 10), tmp_path, LIMITS))
    assert part.path.read_bytes() == FIRST
    assert part.media_type == "application/dicom"
    part.path.unlink()
    with pytest.raises(BadRequest):
        asyncio.run(receive_single(_chunks(b"", 10), tmp_path, LIMITS))
    with pytest.raises(PayloadTooLarge):
        asyncio.run(receive_single(_chunks(b"x" * 10_001, 1000), tmp_path, LIMITS))
    assert list(tmp_path.iterdir()) == []


def _cornerstone_first_part(body: bytes) -> tuple[str, bytes]:
    """cornerstone's extractMultipart: headers up to the first blank line, the boundary is the header line that
    starts with "--", the type the line that starts with "Content-Type:", the data ends 2 bytes before the next
    boundary."""
    token = body.index(b"\r\n\r\n")
    lines = body[:token].decode("latin-1").split("\r\n")
    boundary = next(line for line in lines if line.startswith("--"))
    content_type = next(line[13:].strip() for line in lines if line.startswith("Content-Type:"))
    end = body.index(boundary.encode(), token + 4)
    return content_type, body[token + 4 : end - 2]


def test_written_bodies_are_read_by_cornerstone_and_by_the_reader(tmp_path: Path) -> None:
    boundary = new_boundary()
    frame_type = "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    parts = [
        Part(frame_type, [FIRST[:10], FIRST[10:]], content_location="http://h/frames/1"),
        Part(frame_type, [SECOND], content_length=len(SECOND)),
    ]
    body = b"".join(write_parts(parts, boundary))
    assert body.startswith(f"--{boundary}\r\nContent-Type: {frame_type}\r\nContent-Location: ".encode())
    assert body.endswith(f"\r\n--{boundary}--\r\n".encode())
    assert _cornerstone_first_part(body) == (frame_type, FIRST)
    received = _receive(body, boundary.encode(), tmp_path, 333)
    assert [content for _, content in received] == [FIRST, SECOND]
    assert received[0][0].content_location == "http://h/frames/1"


def test_the_async_writer_writes_the_same_body() -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield FIRST[:3]
        yield FIRST[3:]

    async def run() -> bytes:
        parts = [Part("application/dicom", stream()), Part("application/dicom", [SECOND])]
        return b"".join([chunk async for chunk in write_parts_async(parts, "B")])

    sync = b"".join(write_parts([Part("application/dicom", [FIRST]), Part("application/dicom", [SECOND])], "B"))
    assert asyncio.run(run()) == sync


def test_content_type_of_an_answer() -> None:
    assert (
        multipart_content_type("application/dicom", "abc")
        == 'multipart/related; type="application/dicom"; boundary=abc'
    )
    with_syntax = multipart_content_type("image/jpeg", "abc", "1.2.840.10008.1.2.4.50")
    assert with_syntax.endswith("; boundary=abc; transfer-syntax=1.2.840.10008.1.2.4.50")
    assert len(new_boundary()) == 32
    assert new_boundary() != new_boundary()
