"""Rendering off the event loop, in a bounded pool of worker processes, and each render done once.

Workers are sent the blob key and frame, never pixel arrays (pickling them would cost more than rendering),
and return PNG bytes. Each worker opens the blob store itself. A finished render is stored beside its file
and served from there afterwards, the most recent ones from memory; concurrent first requests for the same
render compute it once, through an in-process future and, across processes on PostgreSQL, an advisory lock
(on SQLite two workers may each render it once: the bytes are the same, stored by atomic rename).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from cachetools import LRUCache, TTLCache
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import OperationalError

from dicom_api.dicom.limits import DEFAULT_LIMITS, DicomLimits
from dicom_api.dicom.render import RenderHeader, Window, render_png
from dicom_api.dicom.rendered import PNG, Output, render_image
from dicom_api.errors import AppError, FileNotFound, InvalidParameter, RenderLimitExceeded
from dicom_api.services.blocking import RunBlocking
from dicom_api.services.headers import HeaderCache
from dicom_api.services.render_pool import RenderPool
from dicom_api.storage import BlobStore, S3Options, open_blob_store

RENDER_VERSION = 2  # part of every ETag and cache key: bump when the pipeline's output changes
RENDERS = "renders"  # blob key prefix of stored renders: renders/<file id>/<variant>.<png|jpg>
LOCK_WAIT_SECONDS = 60  # longer than a render may take (RENDER_TIMEOUT_SECONDS): then render here too
_store: BlobStore | None = None  # in a render process: its own blob store
_limits: DicomLimits = DEFAULT_LIMITS  # in a render process: what a file may inflate to, a frame may need
REFUSED_SECONDS = 3600  # a frame over a render limit is refused without rendering for this long
REFUSED_FRAMES = 4096
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderRequest:
    file_id: str
    frame: int = 1
    window: Window | None = None
    pixel_offset: int | None = field(default=None, compare=False)  # where Pixel Data starts, when known
    header: RenderHeader | None = field(default=None, compare=False)  # sent to the render process, when parsed
    # How DICOMweb's rendered resources deliver it (media type, quality, viewport); None: the PNG route's
    # full-size PNG, whose keys and ETags stay as they were.
    output: Output | None = None

    @property
    def variant(self) -> str:
        """Frame, window, output and pipeline version, in characters that are safe in a blob key."""
        window = "auto"
        if self.window is not None:
            spec = f"{self.window.center!r},{self.window.width!r},{self.window.function}"
            window = hashlib.sha256(spec.encode()).hexdigest()[:16]
        variant = f"{self.frame}-{window}-r{RENDER_VERSION}"
        if self.output is None:
            return variant
        output = self.output.variant
        if len(output) > 16:  # a viewport's region: keys stay within the blob store's name length
            output = hashlib.sha256(output.encode()).hexdigest()[:16]
        return f"{variant}-{output}"

    @property
    def media_type(self) -> str:
        return PNG if self.output is None else self.output.media_type

    @property
    def cache_key(self) -> str:
        extension = "png" if self.media_type == PNG else "jpg"
        return f"{RENDERS}/{self.file_id}/{self.variant}.{extension}"

    def etag(self, sha256: str) -> str:
        return f'"{sha256[:32]}-{self.variant}"'


def render_request(
    file_id: str, pixel_offset: int, frame: int, center: float | None, width: float | None
) -> RenderRequest:
    """A client's render options, checked: a VOI window (PS3.3 C.11.2) needs both its centre and its width."""
    if (center is None) != (width is None):
        raise InvalidParameter("Give both window_center and window_width, or neither.")
    window = None
    if center is not None and width is not None:
        if not (math.isfinite(center) and math.isfinite(width)):
            raise InvalidParameter("window_center and window_width must be finite numbers.")
        window = Window(center, width)
    return RenderRequest(file_id, frame, window, pixel_offset=pixel_offset)


def open_worker_store(storage_url: str, s3: S3Options | None = None, limits: DicomLimits = DEFAULT_LIMITS) -> None:
    """Render process initializer: each process opens the blob store itself and keeps the decoding limits."""
    global _store, _limits
    from dicom_api.logs import withhold_file_values  # here: this one call is all the pool needs of it

    withhold_file_values()  # a spawned process: pydicom's messages would quote values to stderr
    _store = open_blob_store(storage_url, s3)
    _limits = limits


def _render(request: RenderRequest) -> bytes:
    assert _store is not None  # noqa: S101 - set by the pool initializer
    try:
        with _store.open(request.file_id) as fp:
            if request.output is None:
                return render_png(fp, request.frame, request.window, request.header, _limits)
            return render_image(fp, request.frame, request.window, request.header, _limits, request.output)
    except FileNotFoundError:  # deleted while it was asked for (the Renderer tells that from a lost blob)
        raise FileNotFound() from None


class RenderLocks(Protocol):
    """What makes workers that share a database render a key once: ``acquire`` blocks while another holds
    it; ``release`` takes what ``acquire`` returned."""

    def acquire(self, key: str) -> object: ...
    def release(self, held: object) -> None: ...


class NoLocks:
    """SQLite: no lock across processes. Two workers may both render the same key (each renders it once:
    the in-process future covers its own requests); the result is the same bytes, stored by atomic rename."""

    def acquire(self, key: str) -> object:  # noqa: ARG002 - the protocol's
        return None

    def release(self, held: object) -> None:
        pass


class AdvisoryLocks:
    """PostgreSQL: a transaction-level advisory lock on the key's hash, held on its own pooled connection
    for as long as the render. Released by the rollback when the connection is given back, or by the
    server when the worker dies: nothing to expire, no table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def acquire(self, key: str) -> object:
        connection = self._engine.connect()
        try:
            connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'"))
            connection.execute(select(func.pg_advisory_xact_lock(_lock_id(key))))
        except OperationalError:  # waited too long for another worker: render here as well
            connection.close()
            return None
        except BaseException:
            connection.close()
            raise
        return connection

    def release(self, held: object) -> None:
        if isinstance(held, Connection):
            held.close()  # its rollback releases the lock


def _lock_id(key: str) -> int:
    """A signed 64-bit lock id for the key, as pg_advisory_xact_lock takes it."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


class PngCache:
    """The most recent renders in memory, up to ``max_bytes``. Entries never go stale: a render's key holds
    its file's id (never reused) and its variant, and a deleted file is refused before the cache is asked."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._items: LRUCache[str, bytes] = LRUCache(max(max_bytes, 1), getsizeof=len)
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: str, png: bytes) -> None:
        if len(png) > self._max // 4:  # one huge image would push out everything else
            return
        with self._lock:
            self._items[key] = png

    @property
    def size(self) -> int:
        with self._lock:
            return int(self._items.currsize)


class Renderer:
    """The encoded image of a render request (PNG, or what its output asks): from memory or the store when it
    was rendered before, else rendered exactly once."""

    def __init__(
        self,
        pool: RenderPool,
        store: BlobStore,
        locks: RenderLocks,
        memory: PngCache,
        headers: HeaderCache,
        exists: Callable[[str], bool],
        run_blocking: RunBlocking,
    ) -> None:
        self._pool = pool
        self._store = store
        self._locks = locks
        self._memory = memory
        self._headers = headers
        self._exists = exists  # whether a file's row is still there (any owner's)
        self._call = run_blocking
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        # Frames that went over a render limit, refused at once for a while: asked again (in another window,
        # say), they would hold a render process for as long again. Used from the event loop only.
        self._refused: TTLCache[tuple[str, int], str] = TTLCache(REFUSED_FRAMES, REFUSED_SECONDS)

    async def image(self, request: RenderRequest) -> bytes:
        key = request.cache_key
        cached = self._memory.get(key)
        if cached is not None:
            return cached
        cached = await self._call(self._cached, key)
        if cached is not None:
            self._memory.put(key, cached)
            return cached
        refused = self._refused.get((request.file_id, request.frame))
        if refused is not None:
            raise RenderLimitExceeded(refused)
        waiting = self._inflight.get(key)
        if waiting is not None:  # this process is already rendering it
            return await asyncio.shield(waiting)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda f: f.cancelled() or f.exception())  # no "never retrieved" warning
        self._inflight[key] = future
        try:
            png = await self._render_once(request)
            self._memory.put(key, png)
            future.set_result(png)
            return png
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            del self._inflight[key]

    async def _render_once(self, request: RenderRequest) -> bytes:
        key = request.cache_key
        held = await self._call(self._locks.acquire, key)
        try:
            cached = await self._call(self._cached, key)  # another worker stored it while we waited
            if cached is not None:
                return cached
            png = await self._compute(request)
            await self._call(self._keep, key, png, request.file_id)
            return png
        finally:
            await self._call(self._locks.release, held)

    async def _compute(self, request: RenderRequest) -> bytes:
        """The PNG from a render process. A file deleted meanwhile is a 404, whatever the render made of its
        blob going away; a blob lost while its row remains is a server error."""
        try:
            return await self._pool.run(_render, self._with_header(request))
        except AppError as exc:
            if not await self._call(self._exists, request.file_id):
                raise FileNotFound() from None
            if isinstance(exc, RenderLimitExceeded):
                log.warning("render of file %s frame %d refused: %s", request.file_id, request.frame, exc.message)
                self._refused[request.file_id, request.frame] = exc.message
            if isinstance(exc, FileNotFound):
                log.error("the blob of file %s is missing", request.file_id)
                raise AppError("The stored file could not be read.") from None
            raise

    def _keep(self, key: str, png: bytes, file_id: str) -> None:
        """Store the render beside its file; FileNotFound when the file was deleted meanwhile."""
        try:
            self._store.put_bytes(key, png)
        except FileNotFoundError:  # the delete's purge removed the folder the render was being written to
            if not self._exists(file_id):
                raise FileNotFound() from None
            raise
        self._unless_deleted(file_id)

    def _unless_deleted(self, file_id: str) -> None:
        """Remove the render just stored if its file was deleted meanwhile. Checked after storing it: either
        this sees the row gone, or the delete commits later and its purge, which follows its commit, finds
        the render."""
        if not self._exists(file_id):
            self._store.delete_prefix(f"{RENDERS}/{file_id}")  # as the delete's purge does
            raise FileNotFound()

    def _with_header(self, request: RenderRequest) -> RenderRequest:
        """The request with the header's render attributes when this process has them in memory (from the
        upload, or an attribute read): the render process then reads only the pixels."""
        if request.pixel_offset is None:
            return request
        try:
            header = self._headers.render_header(request.file_id, request.pixel_offset)
        except Exception:  # an attribute that cannot be copied: the render process parses the header itself
            return request
        return request if header is None else replace(request, header=header)

    def _cached(self, key: str) -> bytes | None:
        try:
            with self._store.open(key) as fp:
                return fp.read()
        except FileNotFoundError:
            return None
