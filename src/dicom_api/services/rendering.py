"""Rendering off the event loop, in a bounded pool of worker processes, and each render done once.

Workers are sent the blob key and frame, never pixel arrays (pickling them would cost more than rendering),
and return PNG bytes. Each worker opens the blob store itself. A finished render is stored beside its file
and served from there afterwards, the most recent ones from memory; concurrent first requests for the same
render compute it once, through an in-process future and, across processes, a lease: a lock file beside
the blobs when they are on a filesystem, a row in the database otherwise.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeVar

from cachetools import LRUCache, TTLCache
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dicom_api.db.repository import RenderLeaseRepository
from dicom_api.dicom.limits import DEFAULT_LIMITS, DicomLimits
from dicom_api.dicom.render import RenderHeader, Window, render_png
from dicom_api.errors import AppError, FileNotFound, RenderLimitExceeded
from dicom_api.services.headers import HeaderCache
from dicom_api.services.render_pool import RenderPool
from dicom_api.storage import BlobStore, S3Options, open_blob_store

RENDER_VERSION = 2  # part of every ETag and cache key: bump when the pipeline's output changes
RENDERS = "renders"  # blob key prefix of stored renders: renders/<file id>/<variant>.png
LEASE_SECONDS = 120  # a renderer that died releases its lease after this long
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

    @property
    def variant(self) -> str:
        """Frame, window and pipeline version, in characters that are safe in a blob key."""
        window = "auto"
        if self.window is not None:
            spec = f"{self.window.center!r},{self.window.width!r},{self.window.function}"
            window = hashlib.sha256(spec.encode()).hexdigest()[:16]
        return f"{self.frame}-{window}-r{RENDER_VERSION}"

    @property
    def cache_key(self) -> str:
        return f"{RENDERS}/{self.file_id}/{self.variant}.png"

    def etag(self, sha256: str) -> str:
        return f'"{sha256[:32]}-{self.variant}"'


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
            return render_png(fp, request.frame, request.window, request.header, _limits)
    except FileNotFoundError:  # deleted while it was asked for (the Renderer tells that from a lost blob)
        raise FileNotFound() from None


class Leases(Protocol):
    def acquire(self, key: str) -> bool: ...
    def held(self, key: str) -> bool: ...
    def release(self, key: str) -> None: ...


class FileLeases:
    """Leases as lock files created exclusively (O_EXCL), for processes that share a blob folder: a
    fraction of the cost of two database transactions per render."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self._folder / (hashlib.sha256(key.encode()).hexdigest() + ".lock")

    def acquire(self, key: str) -> bool:
        path = self._path(key)
        for _ in range(2):
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                return True
            except FileExistsError:
                if self.held(key):
                    return False
                path.unlink(missing_ok=True)  # left by a renderer that died: take it over
        return False

    def held(self, key: str) -> bool:
        try:
            return time.time() - self._path(key).stat().st_mtime < LEASE_SECONDS
        except FileNotFoundError:
            return False

    def release(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class RenderLeases:
    """Database leases on render keys (see models.RenderLease), each in its own short transaction."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def acquire(self, key: str) -> bool:
        now = datetime.now(UTC)
        with self._sessions() as session:
            try:
                with session.begin():
                    repo = RenderLeaseRepository(session)
                    repo.clear_expired(key, now)
                    repo.add(key, now + timedelta(seconds=LEASE_SECONDS))
            except IntegrityError:
                return False
        return True

    def held(self, key: str) -> bool:
        with self._sessions() as session:
            return RenderLeaseRepository(session).held(key, datetime.now(UTC))

    def release(self, key: str) -> None:
        with self._sessions() as session, session.begin():
            RenderLeaseRepository(session).remove(key)


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


T = TypeVar("T")


class Renderer:
    """PNG of a render request: from memory or the store when it was rendered before, else rendered exactly
    once."""

    def __init__(
        self,
        pool: RenderPool,
        store: BlobStore,
        leases: Leases,
        memory: PngCache,
        headers: HeaderCache,
        exists: Callable[[str], bool],
    ) -> None:
        self._pool = pool
        self._store = store
        self._leases = leases
        self._memory = memory
        self._headers = headers
        self._exists = exists  # whether a file's row is still there (any owner's)
        self.offload: Callable[..., Awaitable[object]] = asyncio.to_thread  # see AppContext.offload
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        # Frames that went over a render limit, refused at once for a while: asked again (in another window,
        # say), they would hold a render process for as long again. Used from the event loop only.
        self._refused: TTLCache[tuple[str, int], str] = TTLCache(REFUSED_FRAMES, REFUSED_SECONDS)

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        return await self.offload(fn, *args)  # type: ignore[return-value]

    async def png(self, request: RenderRequest) -> bytes:
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
        key, delay = request.cache_key, 0.01
        while True:
            if await self._call(self._leases.acquire, key):
                try:
                    cached = await self._call(self._cached, key)  # finished while we asked
                    if cached is not None:
                        return cached
                    png = await self._compute(request)
                    await self._call(self._keep, key, png, request.file_id)
                    return png
                finally:
                    await self._call(self._leases.release, key)
            # Another process renders it: wait for its result, or for its lease to lapse.
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
                cached = await self._call(self._cached, key)
                if cached is not None:
                    return cached
                if not await self._call(self._leases.held, key):
                    break  # it failed or died: try to take over

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
