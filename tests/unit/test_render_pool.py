"""Render processes that cannot take the service down: each render is held to its own memory and time limits,
and a render that kills its process fails alone. The pool runs module-level functions of this file through the
same path as renders."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator

import numpy as np
import psutil
import pytest

from dicom_api.errors import RenderLimitExceeded, UndecodableImage
from dicom_api.services.render_pool import MIB, RenderPool, memory_limit_supported

pytestmark = pytest.mark.slow


def _nothing() -> None:
    """The initializer: these tasks need no blob store."""


def _echo(value: str) -> str:
    return value


def _slow_echo(seconds: float, value: str) -> str:
    time.sleep(seconds)  # long enough to be in flight while another task fails
    return value


def _allocate(mib: int) -> int:
    return int(np.ones(mib * MIB, dtype=np.uint8).sum())  # touched, so resident


def _spin() -> None:
    while True:
        pass


def _die() -> None:
    os._exit(3)  # as a decoder that crashes its process


def _workers() -> set[int]:
    """This process's spawned worker processes: neither multiprocessing's resource tracker nor another test's
    server (the S3 server the suite starts once, say) is one."""
    spawned = set()
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):  # it may exit meanwhile
            command = " ".join(child.cmdline())
            if "--multiprocessing-fork" in command and "resource_tracker" not in command:
                spawned.add(child.pid)
    return spawned


@pytest.fixture
def pool(request: pytest.FixtureRequest) -> Iterator[RenderPool]:
    workers, memory_mib, timeout = getattr(request, "param", (2, 64, 60.0))
    render_pool = RenderPool(workers, _nothing, memory_mib=memory_mib, timeout=timeout)
    asyncio.run(render_pool.warm_up())
    yield render_pool
    render_pool.close()


@pytest.mark.skipif(not memory_limit_supported(), reason="the render memory limit is enforced on Linux only")
def test_a_render_over_its_memory_limit_is_refused_and_its_worker_serves_on(pool: RenderPool) -> None:
    async def scenario() -> None:
        with pytest.raises(RenderLimitExceeded, match="more memory than a render may use") as refused:
            await pool.run(_allocate, 512)
        assert refused.value.status_code == 422
        assert await pool.run(_allocate, 32) == 32 * MIB  # within the limit: an honest render still works

    before = _workers()
    asyncio.run(scenario())
    assert _workers() == before  # a MemoryError leaves its worker usable: no restart


@pytest.mark.parametrize("pool", [(2, 0, 3.0)], indirect=True)
def test_a_render_over_its_time_limit_is_stopped_and_its_worker_replaced(pool: RenderPool) -> None:
    async def in_turn() -> str:
        # Two tasks in turn, each well within the limit: the second is running when the spinner is killed.
        return await pool.run(_slow_echo, 2.0, "in") + await pool.run(_slow_echo, 2.0, "nocent")

    async def scenario() -> list[object]:
        return await asyncio.gather(pool.run(_spin), in_turn(), return_exceptions=True)

    before = _workers()
    spun, innocent = asyncio.run(scenario())
    assert isinstance(spun, RenderLimitExceeded)
    assert "longer to render" in spun.message
    assert innocent == "innocent"
    assert asyncio.run(pool.run(_echo, "after")) == "after"
    assert len(before - _workers()) == 1  # the spinning worker was killed, and only it


def test_a_worker_that_dies_fails_its_own_render_only(pool: RenderPool) -> None:
    async def scenario() -> list[object]:
        return await asyncio.gather(pool.run(_die), pool.run(_slow_echo, 1.0, "innocent"), return_exceptions=True)

    died, innocent = asyncio.run(scenario())
    assert isinstance(died, UndecodableImage)
    assert innocent == "innocent"
    assert asyncio.run(pool.run(_echo, "after")) == "after"


def test_a_worker_killed_while_idle_does_not_break_rendering() -> None:
    before = _workers()
    pool = RenderPool(1, _nothing, memory_mib=64, timeout=60.0)
    try:
        asyncio.run(pool.warm_up())
        (worker,) = (psutil.Process(pid) for pid in _workers() - before)
        worker.kill()  # not waited for here: that would reap it before the pool could see it die
        assert asyncio.run(pool.run(_echo, "after")) == "after"
    finally:
        pool.close()


def test_threads_run_tasks_when_no_processes_are_asked_for() -> None:
    before = _workers()
    pool = RenderPool(0, _nothing)
    try:
        assert asyncio.run(pool.run(_echo, "threads")) == "threads"
        assert _workers() == before  # no process started
    finally:
        pool.close()
