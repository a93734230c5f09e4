"""Stream a multipart/form-data upload to a spool file, counting bytes as they arrive.

FastAPI's own form parsing spools the whole body before the handler runs, so a size limit checked there
comes after the disk has filled. Here python-multipart's streaming parser sees each chunk as it arrives:
the limit stops the upload at the first byte over it, and nothing but the `file` part touches the disk.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header

from dicom_api.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

FIELD = "file"
_OTHER_PARTS_LIMIT = 1024 * 1024  # form fields beside the file are ignored, but not without bound


@dataclass
class SpooledUpload:
    path: Path
    size: int
    sha256: str


@dataclass
class _State:
    spool: Path
    limit: int
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_field: bytes = b""
    header_value: bytes = b""
    in_file: bool = False
    seen_file: bool = False
    file: IO[bytes] | None = None
    size: int = 0
    other: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)

    def on_part_begin(self) -> None:
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.strip().lower()] = self.header_value.strip()
        self.header_field = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.in_file = params.get(b"name") == FIELD.encode() and not self.seen_file
        if self.in_file:
            self.seen_file = True
            self.file = self.spool.open("xb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if not self.in_file:
            self.other += len(chunk)
            if self.other > _OTHER_PARTS_LIMIT:
                raise BadRequest("The form fields beside 'file' are too large.")
            return
        self.size += len(chunk)
        if self.size > self.limit:
            raise PayloadTooLarge(f"The file is larger than the limit of {self.limit} bytes.")
        assert self.file is not None  # noqa: S101 - opened in on_headers_finished
        self.file.write(chunk)
        self.digest.update(chunk)

    def on_part_end(self) -> None:
        if self.in_file and self.file is not None:
            self.file.close()
        self.in_file = False


async def spool_upload(
    content_type: str | None, body: AsyncIterator[bytes], spool_dir: Path, limit: int
) -> SpooledUpload:
    """Write the `file` part of the multipart ``body`` to a new file in ``spool_dir``.

    On any failure the partial file is removed before the error propagates.
    """
    mime, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType("Send the file as multipart/form-data in a field named 'file'.")
    spool_dir.mkdir(parents=True, exist_ok=True)
    state = _State(spool=spool_dir / f"{uuid.uuid4().hex}.upload", limit=limit)
    callbacks = {
        name: getattr(state, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_part_data",
            "on_part_end",
        )
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
        if not state.seen_file:
            raise BadRequest("The request has no 'file' field: send the DICOM file as multipart field 'file'.")
        if state.size == 0:
            raise BadRequest("The file is empty.")
        if state.file is not None and not state.file.closed:
            raise BadRequest("The multipart body ended before the file was complete.")
    except BaseException as exc:
        if state.file is not None:
            state.file.close()
        state.spool.unlink(missing_ok=True)
        if isinstance(exc, ValueError) and not isinstance(exc, BadRequest):
            raise BadRequest("The multipart body is malformed.") from None
        raise
    return SpooledUpload(path=state.spool, size=state.size, sha256=state.digest.hexdigest())
