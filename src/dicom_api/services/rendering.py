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
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dicom_api.db.repository import RenderLeaseRepository
from dicom_api.dicom.limits import DEFAULT_LIMITS, DicomLimits
from dicom_api.dicom.render import RenderHeader, Window, render_png
from dicom_api.errors import UndecodableImage
from dicom_api.services.headers import HeaderCache
from dicom_api.storage import BlobStore, S3Options, open_blob_store

RENDER_VERSION = 2  # part of every ETag and cache key: bump when the pipeline's output changes
RENDERS = "renders"  # blob key prefix of stored renders: renders/<file id>/<variant>.png
LEASE_SECONDS = 120  # a renderer that died releases its lease after this long
_store: BlobStore | None = None
_limits: DicomLimits = DEFAULT_LIMITS


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


def _init_worker(storage_url: str, s3: S3Options | None = None, limits: DicomLimits = DEFAULT_LIMITS) -> None:
    global _store, _limits
    from dicom_api.logs import withhold_file_values  # here: this one call is all the pool needs of it

    withhold_file_values()  # a spawned process: pydicom's messages would quote values to stderr
    _store = open_blob_store(storage_url, s3)
    _limits = limits


def _render(request: RenderRequest) -> bytes:
    assert _store is not None  # noqa: S101 - set by the pool initializer
    with _store.open(request.file_id) as fp:
        return render_png(fp, request.frame, request.window, request.header, _limits)


class RenderPool:
    """``workers`` processes (0: two threads of this process, for tests and constrained platforms)."""

    def __init__(
        self, storage_url: str, workers: int, s3: S3Options | None = None, limits: DicomLimits = DEFAULT_LIMITS
    ) -> None:
        self._store_args = (storage_url, s3, limits)  # plain data, sent to each worker to open its own store
        self._workers = workers
        self._executor = self._start()

    def _start(self) -> Executor:
        if self._workers == 0:
            return ThreadPoolExecutor(2, initializer=_init_worker, initargs=self._store_args)
        # spawn: the same on every platform, and safe in a server that already runs threads.
        return ProcessPoolExecutor(
            self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=self._store_args,
        )

    async def warm_up(self) -> None:
        """Start every worker now, so the first render does not pay for process start-up."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(
                loop.run_in_executor(self._executor, _init_worker, *self._store_args)
                for _ in range(max(self._workers, 1))
            )
        )

    async def render(self, request: RenderRequest) -> bytes:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, _render, request)
        except BrokenProcessPool:
            # A decoder crashed its process (corrupt data can do that): replace the pool, refuse this image.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._start()
            raise UndecodableImage("The pixel data could not be decoded: the decoder failed.") from None

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


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
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            png = self._items.get(key)
            if png is not None:
                self._items.move_to_end(key)
            return png

    def put(self, key: str, png: bytes) -> None:
        if len(png) > self._max // 4:  # one huge image would push out everything else
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size += len(png) - (len(old) if old is not None else 0)
            self._items[key] = png
            while self._size > self._max:
                self._size -= len(self._items.popitem(last=False)[1])


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
    ) -> None:
        self._pool = pool
        self._store = store
        self._leases = leases
        self._memory = memory
        self._headers = headers
        self.offload: Callable[..., Awaitable[object]] = asyncio.to_thread  # see AppContext.offload
        self._inflight: dict[str, asyncio.Future[bytes]] = {}

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
                    png = await self._pool.render(self._with_header(request))
                    await self._call(self._store.put_bytes, key, png)
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
