"""Servers as real processes on free loopback ports, stopped when their test module ends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests import databases
from tests.e2e.live import Launch, LiveServer, ServerDidNotStart, run_server
from tests.helpers import JWT_SECRET


@pytest.fixture(scope="module")
def launch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launch]:
    """Start `dicom-api serve` with extra DICOM_API_* variables (``launch(DICOM_API_X="1")``), data in a tmp dir.

    Its database is the test database: SQLite in its data folder, or in the PostgreSQL pass a database of its
    own, held until the server has stopped (unless ``DICOM_API_DATABASE_URL`` is given).
    """
    with contextlib.ExitStack() as servers:

        def _launch(**env: str) -> LiveServer:
            if databases.BACKEND == "postgres" and "DICOM_API_DATABASE_URL" not in env:
                database = servers.enter_context(databases.lease())
                env = {"DICOM_API_DATABASE_URL": database, "DICOM_API_JWT_SECRET": JWT_SECRET, **env}
            try:
                return servers.enter_context(run_server(tmp_path_factory.mktemp("server"), env))
            except ServerDidNotStart as exc:
                pytest.fail(f"the server did not start: {exc}", pytrace=False)

        yield _launch


@pytest.fixture(scope="module")
def server(launch: Launch) -> LiveServer:
    """`dicom-api serve` with two render workers: its base URL is ``server.url``, its process ``server.process``."""
    return launch()
