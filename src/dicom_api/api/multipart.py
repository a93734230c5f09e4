"""multipart/related bodies (RFC 2387, PS3.18 8.6-8.7): STOW-RS requests read as a stream, WADO-RS answers written.

Reading uses python-multipart's streaming MultipartParser, already the upload's parser (api/upload_stream.py): it
is boundary-driven and knows nothing of form-data, so it reads multipart/related as it is. Two things it does
not do are done here: skipping a preamble before the first boundary (RFC 2046 5.1.1; a leading CRLF it skips
itself), and noticing a body that ends without its close delimiter. Every part is streamed to its own file;
limits count the bytes as they arrive, and a part that fails leaves no file behind.

Writing follows PS3.18 8.7.1 and what cornerstone's parser needs (it finds the first header line starting with
"--", reads `Content-Type:` exactly so spelled, and ends the part 2 bytes before the next boundary): each part is
`--boundary CRLF headers CRLF CRLF data CRLF`, the body ends with `--boundary-- CRLF`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

from python_multipart.multipart import MultipartParser

from dicom_api.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from dicom_api.services.media import DICOM_MEDIA_TYPE as DICOM
from dicom_api.services.media import MULTIPART_RELATED, parse_media_type

MAX_PREAMBLE = 64 * 1024
MAX_PART_HEADER_BYTES = 16 * 1024
# RFC 2046 5.1.1 allows 1 to 70 characters, but Orthanc 1.10 sends two UUIDs joined by "-" (73): a bound, not the rule.
MAX_BOUNDARY = 200
_T = TypeVar("_T")


@dataclass(frozen=True)
class BodyLimits:
    """Bounds on one request body, counted on the bytes received: ``part_bytes`` per part's content,
    ``total_bytes`` for the whole body (framing included), ``max_parts`` parts."""

    part_bytes: int
    total_bytes: int
    max_parts: int = 10_000


@dataclass(frozen=True)
class ReceivedPart:
    """One part, its content in ``path`` (a new file in the folder given; the caller owns it and removes it).
    ``headers`` are lower-cased names to values; ``media_type`` is its Content-Type without parameters, lower-cased
    (None when it has none); ``content_type`` the header as sent."""

    path: Path
    size: int
    sha256: str
    headers: dict[str, str]
    media_type: str | None
    content_type: str | None
    content_location: str | None


@dataclass(frozen=True)
class RequestBody:
    """What a STOW-RS request's Content-Type announces: a multipart/related body (``boundary`` set; ``part_type``
    its type parameter, lower-cased, None when absent) or a single application/dicom instance."""

    multipart: bool
    boundary: bytes | None = None
    part_type: str | None = None


def request_body(content_type: str | None) -> RequestBody:
    """PS3.18 10.5.1.1: multipart/related with a boundary (type="application/dicom" or none), or application/dicom
    alone. Anything else, a multipart/related of JSON and bulk data included, is UnsupportedMediaType (415)."""
    parsed = parse_media_type(content_type)
    if parsed is not None and parsed.media_type == DICOM:
        return RequestBody(multipart=False)
    if parsed is None or parsed.media_type != MULTIPART_RELATED:
        raise UnsupportedMediaType('Send DICOM instances as multipart/related; type="application/dicom".')
    boundary = parsed.param("boundary")
    if not boundary or len(boundary) > MAX_BOUNDARY:
        raise BadRequest("The multipart/related Content-Type has no valid boundary parameter.")
    part_type = parsed.param("type")
    if part_type not in (None, DICOM):
        raise UnsupportedMediaType(f'Only type="{DICOM}" is accepted in a multipart/related request.')
    try:
        return RequestBody(multipart=True, boundary=boundary.encode("ascii"), part_type=part_type)
    except UnicodeEncodeError:
        raise BadRequest("The multipart boundary must be ASCII.") from None


async def receive_parts(
    body: AsyncIterable[bytes], boundary: bytes, folder: Path, limits: BodyLimits
) -> AsyncIterator[ReceivedPart]:
    """The parts of a multipart/related ``body`` (RFC 2046 5.1), each yielded once it is complete and on disk in
    ``folder``. PayloadTooLarge (413) past a limit, BadRequest (400) for broken framing: a body with no part, a
    part header over MAX_PART_HEADER_BYTES, a Content-Length the part does not have, no close delimiter. On any
    error, or when the caller stops early, the part being received is removed; yielded ones are the caller's."""
    folder.mkdir(parents=True, exist_ok=True)
    reader = _Reader(folder, limits)
    parser = MultipartParser(boundary, reader.callbacks())  # type: ignore[arg-type]
    preamble = _Preamble(b"--" + boundary)
    try:
        async for chunk in body:
            reader.count(len(chunk))
            data = preamble.feed(chunk)
            if data:
                parser.write(data)
            while reader.done:
                yield reader.done.pop(0)
        parser.finalize()
        while reader.done:
            yield reader.done.pop(0)
        reader.check_end()
    except ValueError:  # python-multipart's MultipartParseError; its message may quote body bytes
        raise BadRequest("The multipart body is malformed.") from None
    finally:
        reader.discard()


async def receive_single(body: AsyncIterable[bytes], folder: Path, limits: BodyLimits) -> ReceivedPart:
    """An application/dicom body (one instance, PS3.18 10.5.1.1) in a new file of ``folder``, within
    ``limits.part_bytes``; removed again on any error."""
    folder.mkdir(parents=True, exist_ok=True)
    reader = _Reader(folder, limits)
    reader.begin({"content-type": DICOM})
    try:
        async for chunk in body:
            reader.count(len(chunk))
            reader.data(chunk)
        if reader.size == 0:
            raise BadRequest("The request body is empty.")
        reader.end()
    except BaseException:
        reader.discard()
        raise
    return reader.done.pop()


@dataclass
class _Reader:
    folder: Path
    limits: BodyLimits
    received: int = 0
    parts: int = 0
    ended: bool = False
    done: list[ReceivedPart] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    header_bytes: int = 0
    name: bytearray = field(default_factory=bytearray)
    value: bytearray = field(default_factory=bytearray)
    path: Path | None = None
    file: IO[bytes] | None = None
    size: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": lambda d, s, e: self.header_piece(self.name, d[s:e]),
            "on_header_value": lambda d, s, e: self.header_piece(self.value, d[s:e]),
            "on_header_end": self.header_end,
            "on_headers_finished": lambda: self.begin(self.headers),
            "on_part_data": lambda d, s, e: self.data(d[s:e]),
            "on_part_end": self.end,
            "on_end": self.close_delimiter,
        }

    def count(self, n: int) -> None:
        self.received += n
        if self.received > self.limits.total_bytes:
            raise PayloadTooLarge(f"The request body is larger than the limit of {self.limits.total_bytes} bytes.")

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise PayloadTooLarge(f"The request has more than {self.limits.max_parts} parts.")
        self.headers, self.header_bytes = {}, 0

    def header_piece(self, into: bytearray, piece: bytes) -> None:
        self.header_bytes += len(piece)
        if self.header_bytes > MAX_PART_HEADER_BYTES:
            raise BadRequest("A part's headers are larger than the limit.")
        into += piece

    def header_end(self) -> None:
        name = self.name.decode("latin-1").strip().lower()
        self.headers[name] = self.value.decode("latin-1").strip()
        self.name.clear()
        self.value.clear()

    def begin(self, headers: dict[str, str]) -> None:
        self.headers = headers
        self.path = self.folder / f"{uuid.uuid4().hex}.part"
        self.file = self.path.open("xb")
        self.size, self.digest = 0, hashlib.sha256()

    def data(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limits.part_bytes:
            raise PayloadTooLarge(f"A part is larger than the limit of {self.limits.part_bytes} bytes.")
        assert self.file is not None  # noqa: S101 - opened when its headers ended
        self.file.write(chunk)
        self.digest.update(chunk)

    def end(self) -> None:
        if self.file is None or self.path is None:
            raise BadRequest("A part ended before its headers did.")
        self.file.close()
        declared = self.headers.get("content-length")
        if declared is not None and declared.strip() != str(self.size):
            raise BadRequest("A part's Content-Length does not match its content.")
        parsed = parse_media_type(self.headers.get("content-type"))
        self.done.append(
            ReceivedPart(
                path=self.path,
                size=self.size,
                sha256=self.digest.hexdigest(),
                headers=dict(self.headers),
                media_type=parsed.media_type if parsed else None,
                content_type=self.headers.get("content-type"),
                content_location=self.headers.get("content-location"),
            )
        )
        self.file = self.path = None

    def close_delimiter(self) -> None:
        self.ended = True

    def check_end(self) -> None:
        if self.file is not None or not self.ended:
            raise BadRequest("The multipart body ended before its close delimiter.")
        if self.parts == 0:
            raise BadRequest("The multipart body has no part.")

    def discard(self) -> None:
        """Remove the part being received and those complete but not handed over (the caller owns the others)."""
        if self.file is not None:
            self.file.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
        self.file = self.path = None
        for part in self.done:
            part.path.unlink(missing_ok=True)
        self.done.clear()


@dataclass
class _Preamble:
    """Drops what comes before the first ``--boundary`` that starts a line (RFC 2046 5.1.1), within MAX_PREAMBLE."""

    delimiter: bytes
    seen: bytearray = field(default_factory=bytearray)
    found: bool = False

    def feed(self, chunk: bytes) -> bytes:
        if self.found:
            return chunk
        self.seen += chunk
        at = 0 if self.seen.startswith(self.delimiter) else self.seen.find(b"\n" + self.delimiter)
        if at < 0:
            if len(self.seen) > MAX_PREAMBLE + len(self.delimiter):
                raise BadRequest("The multipart body does not start with its boundary.")
            return b""
        self.found = True
        start = at if self.seen.startswith(self.delimiter) else at + 1
        rest = bytes(self.seen[start:])
        self.seen.clear()
        return rest


@dataclass(frozen=True)
class Part:
    """One part to send: its Content-Type, its content as chunks, and optional Content-Location and Content-Length
    (PS3.18 8.7.3.3.2)."""

    content_type: str
    body: Iterable[bytes] | AsyncIterable[bytes]
    content_location: str | None = None
    content_length: int | None = None


def new_boundary() -> str:
    """A boundary no content will hold by chance (128 random bits), token characters only: no quoting needed."""
    return secrets.token_hex(16)


def multipart_content_type(part_type: str, boundary: str, transfer_syntax: str | None = None) -> str:
    """The Content-Type of a multipart/related answer (PS3.18 8.7.1): ``type`` quoted, the boundary bare."""
    text = f'{MULTIPART_RELATED}; type="{part_type}"; boundary={boundary}'
    return f"{text}; transfer-syntax={transfer_syntax}" if transfer_syntax else text


def part_head(part: Part, boundary: str) -> bytes:
    """``--boundary`` and the part's headers, up to the blank line that opens its content."""
    lines = [f"--{boundary}", f"Content-Type: {part.content_type}"]
    if part.content_location is not None:
        lines.append(f"Content-Location: {part.content_location}")
    if part.content_length is not None:
        lines.append(f"Content-Length: {part.content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def closing(boundary: str) -> bytes:
    return f"--{boundary}--\r\n".encode("ascii")


def write_parts(parts: Iterable[Part], boundary: str) -> Iterator[bytes]:
    """The body of a multipart/related answer of ``parts`` with synchronous bodies, chunk by chunk."""
    for part in parts:
        if isinstance(part.body, AsyncIterable):
            raise TypeError("write_parts takes synchronous part bodies; use write_parts_async")
        yield part_head(part, boundary)
        yield from part.body
        yield b"\r\n"
    yield closing(boundary)


async def write_parts_async(parts: Iterable[Part] | AsyncIterable[Part], boundary: str) -> AsyncIterator[bytes]:
    """The same body, parts and their bodies given as synchronous or asynchronous iterables (a blob stream)."""
    async for part in _aiter(parts):
        yield part_head(part, boundary)
        async for chunk in _aiter(part.body):
            yield chunk
        yield b"\r\n"
    yield closing(boundary)


async def _aiter(items: Iterable[_T] | AsyncIterable[_T]) -> AsyncIterator[_T]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
