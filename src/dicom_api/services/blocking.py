"""The one way off the event loop for blocking I/O (database reads, the blob store)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio

T = TypeVar("T")


class RunBlocking:
    """``await run_blocking(fn, *args)``. With SQLite and a filesystem store (``inline``) the call runs on the
    event loop: a primary-key read of a local file costs less than the hop to a worker thread (measured: the
    hop was most of an attribute read). A network database or store is always called from a thread."""

    def __init__(self, inline: bool) -> None:
        self.inline = inline

    async def __call__(self, fn: Callable[..., T], *args: object) -> T:
        if self.inline:
            return fn(*args)
        return await anyio.to_thread.run_sync(fn, *args)

    async def in_thread(self, fn: Callable[..., T], *args: object) -> T:
        """Always in a worker thread: CPU-bound work (transcoding, decoding a frame) that would stall every
        other request if it ran inline."""
        return await anyio.to_thread.run_sync(fn, *args)
