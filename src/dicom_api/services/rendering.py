"""Rendering off the event loop, in a bounded pool of worker processes.

Workers are sent the blob key and frame, never pixel arrays (pickling them would cost more than rendering),
and return PNG bytes. Each worker opens the blob store itself.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from dicom_api.dicom.render import Window, render_png
from dicom_api.errors import UndecodableImage
from dicom_api.storage import BlobStore, open_blob_store

RENDER_VERSION = 1  # part of every ETag: bump when the pipeline's output changes
_store: BlobStore | None = None


@dataclass(frozen=True)
class RenderRequest:
    file_id: str
    frame: int = 1
    window: Window | None = None

    def etag(self, sha256: str) -> str:
        w = f"{self.window.center:g},{self.window.width:g}" if self.window else "auto"
        return f'"{sha256[:32]}-{self.frame}-{w}-r{RENDER_VERSION}"'


def _init_worker(storage_url: str) -> None:
    global _store
    _store = open_blob_store(storage_url)


def _render(request: RenderRequest) -> bytes:
    assert _store is not None  # noqa: S101 - set by the pool initializer
    with _store.open(request.file_id) as fp:
        return render_png(fp, request.frame, request.window)


class RenderPool:
    """``workers`` processes (0: two threads of this process, for tests and constrained platforms)."""

    def __init__(self, storage_url: str, workers: int) -> None:
        self._storage_url = storage_url
        self._workers = workers
        self._executor = self._start()

    def _start(self) -> Executor:
        if self._workers == 0:
            return ThreadPoolExecutor(2, initializer=_init_worker, initargs=(self._storage_url,))
        # spawn: the same on every platform, and safe in a server that already runs threads.
        return ProcessPoolExecutor(
            self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self._storage_url,),
        )

    async def warm_up(self) -> None:
        """Start every worker now, so the first render does not pay for process start-up."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(
                loop.run_in_executor(self._executor, _init_worker, self._storage_url)
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
