"""Render processes that cannot take the service down.

Each render runs in a worker process of a pebble ``ProcessPool``: one task per worker at a time, so the
culprit of a crash or an overrun is known. A render over its time limit has its worker killed and replaced;
a worker that dies (a decoder crash) fails its own render only; a render over its memory limit gets a
MemoryError in its worker, which stays (large blocks go back to the system when freed). Workers exit when
the server process dies, however it dies. The memory limit is applied where the kernel accounts for it
(Linux, RLIMIT_DATA); elsewhere it is not enforced and the server says so in its log at start-up.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from dicom_api.errors import RenderLimitExceeded, ServiceUnavailable, UndecodableImage

try:  # POSIX only: Windows has no resource limits, and renders there run unlimited
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

MIB = 1024 * 1024
_THREADS = 2  # workers=0: renders in threads of the server process (tests, constrained platforms)
log = logging.getLogger(__name__)
T = TypeVar("T")
_memory_mib = 0  # in a worker process: its memory limit, for the error message


def memory_limit_supported() -> bool:
    """Whether a render process's memory limit is enforced here: Linux counts every private writable
    mapping against RLIMIT_DATA (since 4.7), so numpy's large allocations are refused at the limit."""
    return resource is not None and sys.platform.startswith("linux")


def _data_size() -> int:
    """This process's private writable memory (VmData), in bytes: the baseline the limit is added to."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    raise OSError("VmData missing from /proc/self/status")


def _limit_memory(mib: int) -> None:
    """Allow this worker ``mib`` MiB beyond what it holds once started (numpy, pydicom, decoders, blob
    store loaded), so the limit means the same whatever the platform's baseline."""
    if not mib or not memory_limit_supported():
        return
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = _data_size() + mib * MIB
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def _exit_with_parent() -> None:
    """End this worker as soon as the process that started it is gone, even by SIGKILL: nothing else
    would, and orphaned workers would hold their memory for ever."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _init_worker(memory_mib: int, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
    global _memory_mib
    _exit_with_parent()  # before the limit: a thread's stack counts against it
    initializer(*initargs)
    _memory_mib = memory_mib
    _limit_memory(memory_mib)


def _guarded(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker, a memory overrun answered as such. Decoders wrap their errors (``raise
    UndecodableImage(...) from None`` keeps the MemoryError as the context): those count as overruns too."""
    try:
        return fn(*args)
    except MemoryError:
        raise RenderLimitExceeded(_memory_message()) from None
    except UndecodableImage as exc:
        if isinstance(exc.__context__, MemoryError):
            raise RenderLimitExceeded(_memory_message()) from None
        raise


def _memory_message() -> str:
    return f"The image needs more memory than a render may use ({_memory_mib} MiB)."


def _ready() -> int:
    return os.getpid()


class RenderPool:
    """``workers`` render processes, each running ``initializer(*initargs)`` once, then tasks one at a time
    under ``memory_mib`` (0: unlimited) and ``timeout`` seconds each. ``workers=0`` runs tasks in two
    threads of this process, without limits."""

    def __init__(
        self,
        workers: int,
        initializer: Callable[..., None],
        initargs: tuple[Any, ...] = (),
        *,
        memory_mib: int = 0,
        timeout: float | None = None,
    ) -> None:
        self._workers = workers
        self._initializer = initializer
        self._initargs = initargs
        self._memory_mib = memory_mib
        self._timeout = timeout
        self._lock = threading.Lock()
        self._threads: ThreadPoolExecutor | None = None
        self._processes: ProcessPool | None = None
        if workers == 0:
            self._threads = ThreadPoolExecutor(_THREADS, initializer=initializer, initargs=initargs)
        else:
            if memory_mib and not memory_limit_supported():
                log.warning("render memory limit not enforced on this platform (%s)", sys.platform)
            self._processes = self._start()

    def _start(self) -> ProcessPool:
        # spawn: the same on every platform, and safe in a server that already runs threads.
        return ProcessPool(
            self._workers,
            initializer=_init_worker,
            initargs=(self._memory_mib, self._initializer, self._initargs),
            context=multiprocessing.get_context("spawn"),
        )

    def _replace(self, broken: ProcessPool) -> None:
        """A new pool for one that stopped running (pebble stops a pool when a worker dies outside any task)."""
        with self._lock:
            if self._processes is not broken:
                return  # replaced already, by a concurrent failure
            self._processes = self._start()
        log.warning("render pool replaced after it broke")
        threading.Thread(target=_discard, args=(broken,), daemon=True).start()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a render process under the limits; ``fn`` is a module-level function."""
        if self._threads is not None:
            return await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)
        for attempt in (1, 2):  # once more on a new pool when the pool, not this task, failed
            pool = self._processes
            assert pool is not None  # noqa: S101 - set when workers > 0
            try:
                future = pool.schedule(_guarded, (fn, *args), timeout=self._timeout)
                return await asyncio.wrap_future(future)
            except TimeoutError as exc:
                if exc.__cause__ is not None:  # raised by the task itself (pebble attaches its traceback)
                    raise
                raise RenderLimitExceeded(
                    f"The image takes longer to render than a render may take ({self._timeout:g} s)."
                ) from None
            except ProcessExpired:
                # This task's own worker died (a decoder crashed it): refuse this image, the others go on.
                raise UndecodableImage("The pixel data could not be decoded: the decoder failed.") from None
            except (BrokenProcessPool, RuntimeError) as exc:
                if not isinstance(exc, BrokenProcessPool) and (exc.__cause__ is not None or pool.active):
                    raise  # an error of the task itself
                self._replace(pool)
                if attempt == 2:
                    raise ServiceUnavailable("The render processes failed; try again shortly.") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def warm_up(self) -> None:
        """Start the workers now, so the first render does not pay for process start-up."""
        await asyncio.gather(*(self.run(_ready) for _ in range(max(self._workers, 1))))

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=True, cancel_futures=True)
        if self._processes is not None:
            self._processes.close()  # type: ignore[no-untyped-call]  # renders in flight finish, each within its time limit
            self._processes.join()


def _discard(pool: ProcessPool) -> None:
    pool.stop()  # type: ignore[no-untyped-call]
    pool.join()
