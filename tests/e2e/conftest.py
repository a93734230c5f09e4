"""Servers as real processes on free loopback ports, stopped when their test module ends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests.e2e.live import Launch, LiveServer, ServerDidNotStart, run_server


@pytest.fixture(scope="module")
def launch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launch]:
    """Start `dicom-api serve` with extra DICOM_API_* variables (``launch(DICOM_API_X="1")``), data in a tmp dir."""
    with contextlib.ExitStack() as servers:

        def _launch(**env: str) -> LiveServer:
            try:
                return servers.enter_context(run_server(tmp_path_factory.mktemp("server"), env))
            except ServerDidNotStart as exc:
                pytest.fail(f"the server did not start: {exc}", pytrace=False)

        yield _launch


@pytest.fixture(scope="module")
def server(launch: Launch) -> LiveServer:
    """`dicom-api serve` with two render workers: its base URL is ``server.url``, its process ``server.process``."""
    return launch()
