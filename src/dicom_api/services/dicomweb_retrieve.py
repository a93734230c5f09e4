"""WADO-RS (PS3.18 10.4): instances, metadata, frames and bulk data of the caller's studies.

Every resource starts from the caller's own files under a study/series/instance UID path: another user's UIDs
find nothing, which is the same 404 as UIDs that do not exist. Instances are streamed from the blob store
(transfer-syntax=*) or transcoded to Explicit VR Little Endian in a worker thread, one at a time, through a
spooled file: a large study never sits in memory. Metadata is built once per file and kept (a stored file never
changes, so an entry never goes stale; a series that changes is new files, hence a new ETag).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import IO, Any
from urllib.parse import quote

from cachetools import LRUCache

from dicom_api.dicom.frame_decode import decode_frame, pixel_element
from dicom_api.dicom.frame_reader import FrameLocation, frame_locations, read_frame
from dicom_api.dicom.json_model import TagPath, insert_element, json_model
from dicom_api.dicom.limits import DicomLimits
from dicom_api.dicom.media_types import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    OCTET_STREAM,
    frame_syntax,
)
from dicom_api.dicom.transcode import transcode_to_explicit_little_endian
from dicom_api.errors import AppError, CannotTranscode, FrameNotFound, InvalidParameter, NotAcceptable, NotFound
from dicom_api.services.accounts import Principal
from dicom_api.services.blocking import RunBlocking
from dicom_api.services.files import CHUNK, Files, StoredFile
from dicom_api.services.media import MediaRange, Offer, frame_offers, instance_offers, negotiate
from dicom_api.services.qido import Qido

SPOOL_IN_MEMORY = 32 * 1024 * 1024  # a transcoded instance larger than this is spooled to disk
MAX_FRAMES_ASKED = 10_000
FRAME_LOCATIONS_BYTES = 64 * 1024 * 1024  # where each stored frame is, per file, kept in memory up to this
PIXEL_DATA = 0x7FE00010
AVAILABLE_TRANSFER_SYNTAX = 0x00083002  # what the stored instance can be had in without conversion
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """A study, optionally a series in it, optionally an instance in that (PS3.18 10.4.1)."""

    study: str
    series: str | None = None
    sop: str | None = None

    @property
    def uids(self) -> tuple[str, ...]:
        return tuple(u for u in (self.study, self.series, self.sop) if u is not None)

    @property
    def noun(self) -> str:
        return "instance" if self.sop else "series" if self.series else "study"


@dataclass(frozen=True)
class InstancePart:
    """One instance to send: its row, the offer it goes out as, and where it can be retrieved."""

    row: StoredFile
    offer: Offer
    location: str

    @property
    def transfer_syntax(self) -> str:
        return self.offer.transfer_syntax or stored_syntax(self.row)

    @property
    def transcode(self) -> bool:
        return self.transfer_syntax != stored_syntax(self.row)

    @property
    def as_stored(self) -> InstancePart:
        return replace(self, offer=replace(self.offer, transfer_syntax=stored_syntax(self.row)))


@dataclass(frozen=True)
class FramePart:
    number: int
    location: FrameLocation
    decode: bool  # a compressed frame sent decoded, as application/octet-stream


@dataclass(frozen=True)
class Frames:
    row: StoredFile
    offer: Offer
    parts: list[FramePart]
    location: str  # the instance's URL: each part's Content-Location is it plus /frames/n


def stored_syntax(row: StoredFile) -> str:
    return row.transfer_syntax_uid or IMPLICIT_VR_LITTLE_ENDIAN  # a file without meta is read as implicit


def instance_url(base: str, row: StoredFile) -> str:
    uids = (row.study_instance_uid, row.series_instance_uid, row.sop_instance_uid)
    return f"{base}/studies/{_q(uids[0])}/series/{_q(uids[1])}/instances/{_q(uids[2])}"


def _q(uid: str | None) -> str:
    return quote(uid or "", safe="")


class MetadataCache:
    """Each file's metadata as encoded JSON, keyed by file id and base URL, up to ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._items: LRUCache[tuple[str, str], bytes] = LRUCache(max(max_bytes, 1), getsizeof=len)
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> bytes | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple[str, str], value: bytes) -> None:
        if len(value) > self._max // 16:
            return
        with self._lock:
            self._items[key] = value


class Retrieve:
    """The caller's instances, metadata, frames and bulk data. Methods not marked async are blocking."""

    def __init__(
        self, files: Files, qido: Qido, run_blocking: RunBlocking, limits: DicomLimits, cache: MetadataCache
    ) -> None:
        self.files = files
        self.qido = qido
        self.call = run_blocking
        self.limits = limits
        self.metadata_cache = cache
        self._locations: LRUCache[str, list[FrameLocation]] = LRUCache(FRAME_LOCATIONS_BYTES, getsizeof=_locations_size)
        self._lock = threading.Lock()

    def instances(self, principal: Principal, path: Target) -> list[StoredFile]:
        """The caller's newest file of each SOP instance under ``path``; NotFound when there is none."""
        rows = self.qido.instances(principal, path.study, path.series, path.sop)
        if not rows:
            raise NotFound(f"The {path.noun} was not found.")
        return rows

    # Instances (PS3.18 10.4.1.1.1)

    def plan(
        self, rows: Sequence[StoredFile], accept: Sequence[MediaRange], base: str, single: bool
    ) -> list[InstancePart]:
        """The offer each instance goes out as: NotAcceptable (406) when one of them has none acceptable."""
        offers = (negotiate(accept, instance_offers(stored_syntax(row), single_part=single)) for row in rows)
        return [InstancePart(row, offer, instance_url(base, row)) for row, offer in zip(rows, offers, strict=True)]

    async def open_instance(
        self, part: InstancePart, accept: Sequence[MediaRange]
    ) -> tuple[InstancePart, Iterator[bytes]]:
        """The instance's bytes: the blob as stored, or transcoded now in a worker thread. One that cannot be
        transcoded goes out as stored when the client also accepts that, else CannotTranscode (406)."""
        if not part.transcode:
            return part, await self.call(self.files.content, part.row)
        try:
            return part, _chunks(await self.call.in_thread(self._transcoded, part.row))
        except CannotTranscode:
            stored = part.as_stored
            try:
                negotiate(accept, [stored.offer])
            except NotAcceptable:
                raise CannotTranscode() from None
            return stored, await self.call(self.files.content, part.row)

    async def open_later(
        self, part: InstancePart, accept: Sequence[MediaRange]
    ) -> tuple[InstancePart, Iterator[bytes]]:
        """open_instance for an instance after the first: one that cannot be sent ends the answer early (its
        status went out with the first), and says so in the log."""
        try:
            return await self.open_instance(part, accept)
        except AppError as exc:
            log.warning("WADO-RS answer cut short at file %s: %s", part.row.id, exc.message)
            raise

    async def iterate(self, chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
        try:
            while (chunk := await self.call(next, chunks, None)) is not None:
                yield chunk
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _transcoded(self, row: StoredFile) -> IO[bytes]:
        out = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - handed to the caller
        try:
            with self.files.store.open(row.id) as src:
                transcode_to_explicit_little_endian(src, out, self.limits)  # type: ignore[arg-type]
        except BaseException:
            out.close()
            raise
        out.seek(0)
        return out

    # Metadata (PS3.18 10.4.1.1.2)

    def metadata_etag(self, rows: Sequence[StoredFile], base: str) -> str:
        """Changes when a file under the path is added, replaced or deleted, or the base URL differs."""
        digest = hashlib.sha256(base.encode())
        for row in rows:
            digest.update(f"{row.id}:{row.sha256};".encode())
        return f'"{digest.hexdigest()[:32]}"'

    def metadata(self, rows: Sequence[StoredFile], base: str) -> bytes:
        """A JSON array of the instances' DICOM JSON (PS3.18 F.2), each built once and kept."""
        return b"[" + b",".join(self._instance_metadata(row, base) for row in rows) + b"]"

    def _instance_metadata(self, row: StoredFile, base: str) -> bytes:
        key = (row.id, base)
        cached = self.metadata_cache.get(key)
        if cached is not None:
            return cached
        url = instance_url(base, row)
        model = json_model(self.files.header(row), bulk_uri=lambda p: bulk_url(url, p))
        if row.pixel_data_tag is not None:
            pixel = {"vr": row.pixel_data_vr or "OB", "BulkDataURI": bulk_url(url, (row.pixel_data_tag,))}
            model = insert_element(model, row.pixel_data_tag, pixel)
        model = insert_element(model, AVAILABLE_TRANSFER_SYNTAX, {"vr": "UI", "Value": [stored_syntax(row)]})
        encoded = json.dumps(model, separators=(",", ":"), allow_nan=False).encode()
        self.metadata_cache.put(key, encoded)
        return encoded

    # Frames (PS3.18 10.4.1.1.3) and bulk data (10.4.1.1.4)

    def frames(
        self, principal: Principal, path: Target, numbers: Sequence[int] | None, accept: Sequence[MediaRange], base: str
    ) -> Frames:
        """The frames asked for (all of them when ``numbers`` is None), as the client accepts them."""
        [row] = self.instances(principal, path)
        if row.pixel_data_tag is None:
            raise NotFound("The instance has no Pixel Data.")
        syntax = stored_syntax(row)
        offer = negotiate(accept, frame_offers(syntax, decodable=True))
        locations = self._frame_locations(row)
        wanted = numbers if numbers is not None else range(1, len(locations) + 1)
        for n in wanted:
            if not 1 <= n <= len(locations):
                raise FrameNotFound(f"The instance has {len(locations)} frame(s); frame {n} does not exist.")
        decode = offer.type in (OCTET_STREAM, None) and offer.transfer_syntax != syntax and _compressed(row)
        parts = [FramePart(n, locations[n - 1], decode) for n in wanted]
        return Frames(row, offer, parts, instance_url(base, row))

    def _frame_locations(self, row: StoredFile) -> list[FrameLocation]:
        with self._lock:
            kept = self._locations.get(row.id)
        if kept is not None:
            return kept
        syntax = stored_syntax(row)
        if row.header_length >= row.size_bytes or syntax == DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN:
            raise CannotTranscode("Frames of a deflated data set are not served; retrieve the instance.")
        if syntax == EXPLICIT_VR_BIG_ENDIAN:
            raise CannotTranscode("Frames of a big endian data set are not served; retrieve the instance.")
        header = self.files.header(row)
        head = self.files.store.read_range(row.id, row.header_length, 12)
        pixel = pixel_element(
            head, row.header_length, syntax, row.pixel_data_tag or PIXEL_DATA, row.pixel_data_length or 0
        )
        with self.files.store.open(row.id) as fp:
            locations = frame_locations(fp, header, pixel, self.limits)
        with self._lock:
            self._locations[row.id] = locations
        return locations

    async def frame_bodies(self, frames: Frames) -> list[AsyncIterator[bytes]]:
        """Each frame's bytes as a stream, stored frames read in chunks; the first is opened (or decoded) now, so
        that one that cannot be read or decoded is an error status, not an answer cut short."""
        first = await self._frame_chunks(frames, frames.parts[0])
        return [self.iterate(first)] + [self._frame_body(frames, part) for part in frames.parts[1:]]

    async def _frame_body(self, frames: Frames, part: FramePart) -> AsyncIterator[bytes]:
        async for chunk in self.iterate(await self._frame_chunks(frames, part)):
            yield chunk

    async def _frame_chunks(self, frames: Frames, part: FramePart) -> Iterator[bytes]:
        if part.decode:  # CPU-bound: always in a worker thread
            return iter([await self.call.in_thread(self._decoded_frame, frames, part)])
        return await self.call(self._stored_frame, frames, part)

    def _stored_frame(self, frames: Frames, part: FramePart) -> Iterator[bytes]:
        opened = contextlib.ExitStack()
        fp = opened.enter_context(self.files.store.open(frames.row.id))

        def chunks() -> Iterator[bytes]:
            with opened:
                yield from read_frame(fp, part.location)

        return chunks()

    def _decoded_frame(self, frames: Frames, part: FramePart) -> bytes:
        with self.files.store.open(frames.row.id) as fp:
            data = b"".join(read_frame(fp, part.location))
        return decode_frame(data, self.files.header(frames.row), stored_syntax(frames.row), self.limits)

    def bulk_value(self, principal: Principal, path: Target, tag_path: TagPath) -> bytes:
        """A bulk data element other than Pixel Data: its value from the header (PS3.18 10.4.1.1.4)."""
        [row] = self.instances(principal, path)
        element: Any = self.files.header(row)
        try:
            for i, step in enumerate(tag_path):
                element = element[step] if i % 2 == 0 else element.value[step]
            value = element.value
        except (KeyError, IndexError, AttributeError, TypeError):
            raise NotFound("The instance has no such bulk data.") from None
        if not isinstance(value, bytes | bytearray):
            raise NotFound("The instance has no such bulk data.")
        return bytes(value)


def bulk_url(instance: str, path: TagPath) -> str:
    """The BulkDataURI of an element: the instance's URL, /bulkdata/, then tags and item indexes by slashes."""
    return f"{instance}/bulkdata/" + "/".join(f"{p:08X}" if i % 2 == 0 else str(p) for i, p in enumerate(path))


def parse_bulk_path(text: str) -> TagPath:
    """A bulk data path as bulk_url writes it: 8-hex tags, item numbers between them."""
    pieces = text.strip("/").split("/")
    if len(pieces) % 2 == 0 or len(pieces) > 2 * 8 + 1:
        raise NotFound("No such bulk data.")
    try:
        return tuple(int(p, 16) if i % 2 == 0 else int(p) for i, p in enumerate(pieces))
    except ValueError:
        raise NotFound("No such bulk data.") from None


def parse_frame_list(text: str) -> list[int]:
    """``frames/1,3,5`` (PS3.18 10.4.1.1.3): positive integers, in the order given."""
    pieces = text.split(",")
    if len(pieces) > MAX_FRAMES_ASKED:
        raise InvalidParameter(f"At most {MAX_FRAMES_ASKED} frames may be asked for at once.")
    try:
        numbers = [int(p.strip()) for p in pieces]
    except ValueError:
        raise InvalidParameter("The frame list must be positive integers separated by commas.") from None
    if any(n < 1 or n > 2**31 - 1 for n in numbers):
        raise InvalidParameter("Frame numbers start at 1.")
    return numbers


def _compressed(row: StoredFile) -> bool:
    return frame_syntax(stored_syntax(row)) != EXPLICIT_VR_LITTLE_ENDIAN


def _chunks(spooled: IO[bytes]) -> Iterator[bytes]:
    with contextlib.closing(spooled):
        while chunk := spooled.read(CHUNK):
            yield chunk


def _locations_size(locations: list[FrameLocation]) -> int:
    return 64 + sum(48 + 32 * len(loc.fragments) for loc in locations)
