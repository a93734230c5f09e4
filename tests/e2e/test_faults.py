"""A running server whose blob store or database goes away answers 503 {"error"}, never a 500, writes nothing
half-way, and recovers by itself, without a restart, when the service comes back.

S3 goes away twice over: moto's server stopped then started again on the same port, and the port closed under
the server by a TCP forwarder that is cut and restored. PostgreSQL goes away only the second way: the machine's
server is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from dicom_api.db.models import DicomFile
from tests import databases
from tests.e2e.live import run_server
from tests.helpers import JWT_SECRET, sample
from tests.s3 import HOST, MotoServer, create_bucket, free_port, moto_environment

CT = sample("CT_small.dcm")


class TcpProxy:
    """Forwards a loopback port of its own to ``target_port`` on loopback. cut() closes the port and every
    connection through it (as if the service went down); restore() listens on the same port again."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = target_port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def restore(self) -> None:
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)

    def cut(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._forward, HOST, self.port)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._connections:
            writer.transport.abort()  # a reset, as from a service that died
        self._connections.clear()

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(HOST, self._target)
        except OSError:
            client_writer.transport.abort()
            return
        pair = {client_writer, upstream_writer}
        self._connections |= pair
        pipes = [
            asyncio.ensure_future(_pipe(client_reader, upstream_writer)),
            asyncio.ensure_future(_pipe(upstream_reader, client_writer)),
        ]
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)  # one side closed: close both
        for task in pipes:
            task.cancel()
        for writer in pair:
            writer.close()
        self._connections -= pair


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(64 * 1024):
            writer.write(data)
            await writer.drain()


# --- helpers --------------------------------------------------------------------------------------------------


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.method, response.request.url.path, response.text)
    assert set(response.json()) == {"error"}
    assert response.json()["error"]
    assert response.headers.get("retry-after")


def upload(api: httpx.Client) -> httpx.Response:
    return api.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes(), "application/dicom")})


def rows(database: str) -> int:
    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(DicomFile)).scalar_one())
    finally:
        engine.dispose()


# --- S3 -------------------------------------------------------------------------------------------------------


class S3Outage(Protocol):
    endpoint: str
    keeps_objects: bool  # what was stored before the outage is there after it

    def begin(self) -> None: ...
    def end(self) -> None: ...


class StoppedMoto:
    """moto's server stopped, then started again on the same port (its buckets, held in memory, made again)."""

    keeps_objects = False

    def __init__(self, moto: MotoServer, bucket: str) -> None:
        self.moto, self.bucket, self.endpoint = moto, bucket, moto.endpoint

    def begin(self) -> None:
        self.moto.stop()

    def end(self) -> None:
        self.moto.start()
        create_bucket(self.endpoint, self.bucket)


class ClosedPort:
    """The server reaches moto through a forwarder whose port is closed, then opened again."""

    keeps_objects = True

    def __init__(self, proxy: TcpProxy) -> None:
        self.proxy, self.endpoint = proxy, f"http://{HOST}:{proxy.port}"

    def begin(self) -> None:
        self.proxy.cut()

    def end(self) -> None:
        self.proxy.restore()


@pytest.fixture(params=["moto stopped", "port closed"])
def outage(request: pytest.FixtureRequest) -> Iterator[tuple[S3Outage, str]]:
    """An S3 outage to stage, and the bucket the server stores in (its own moto server, so stopping it
    disturbs no other test)."""
    bucket = f"test-{uuid.uuid4().hex[:20]}"
    moto = MotoServer().start()
    try:
        create_bucket(moto.endpoint, bucket)
        if request.param == "moto stopped":
            yield StoppedMoto(moto, bucket), bucket
        else:
            with TcpProxy(moto.port) as proxy:
                yield ClosedPort(proxy), bucket
    finally:
        moto.stop()


@pytest.fixture
def database(tmp_path: Path) -> str:
    """The test database, named so the test can count its rows: a SQLite file, or a pooled PostgreSQL one."""
    return databases.database_url() or f"sqlite:///{(tmp_path / 'faults.sqlite3').as_posix()}"


def test_s3_unreachable_is_503_with_nothing_half_written_and_the_server_recovers(
    outage: tuple[S3Outage, str], database: str, tmp_path: Path
) -> None:
    s3, bucket = outage
    env = {"DICOM_API_DATABASE_URL": database, "DICOM_API_JWT_SECRET": JWT_SECRET, "DICOM_API_RENDER_WORKERS": "1",
           **moto_environment(s3.endpoint, bucket)}  # fmt: skip
    with run_server(tmp_path, env) as server, server.client(timeout=120) as api:
        stored = upload(api)
        assert stored.status_code == 201, stored.text
        file_id = stored.json()["file_id"]

        s3.begin()
        assert_unavailable(upload(api))
        for path in (f"/download/png/{file_id}", f"/files/{file_id}/dicom", f"/files/{file_id}/attributes",
                     "/health/ready", "/health"):  # fmt: skip
            assert_unavailable(api.get(path))
        assert api.get(f"/files/{file_id}").status_code == 200  # what the database alone answers still works
        s3.end()

        assert api.get("/health/ready").status_code == 200
        assert rows(database) == 1  # the refused upload left no row
        assert server.stored() == ([], [])  # nor a spooled file
        if s3.keeps_objects:
            assert api.get(f"/files/{file_id}/dicom").content == CT.read_bytes()
        again = upload(api)
        assert again.status_code == 201, again.text
        png = api.get(f"/download/png/{again.json()['file_id']}")
        assert (png.status_code, png.headers["content-type"]) == (200, "image/png")


# --- PostgreSQL -----------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_unreachable_is_503_and_the_server_recovers(fresh_postgres_url: str, tmp_path: Path) -> None:
    target = make_url(fresh_postgres_url)
    with TcpProxy(target.port or 5432) as proxy:
        database = target.set(host=HOST, port=proxy.port).render_as_string(hide_password=False)
        env = {"DICOM_API_DATABASE_URL": database, "DICOM_API_JWT_SECRET": JWT_SECRET, "DICOM_API_RENDER_WORKERS": "1"}
        with run_server(tmp_path, env) as server, server.client() as api:
            stored = upload(api)
            assert stored.status_code == 201, stored.text
            file_id = stored.json()["file_id"]
            blobs_before = server.stored()

            proxy.cut()
            assert_unavailable(upload(api))
            for path in ("/files", f"/files/{file_id}", f"/files/{file_id}/dicom", f"/download/png/{file_id}",
                         f"/header_attribute?file_id={file_id}&tag_group=0010&tag_element=0010",
                         "/users/me", "/health/ready"):  # fmt: skip
                assert_unavailable(api.get(path))
            assert_unavailable(api.post("/auth/token", data={"username": "admin", "password": "whatever-it-is"}))
            assert server.stored() == blobs_before  # the refused upload stored no blob
            proxy.restore()

            assert api.get("/health/ready").status_code == 200
            assert api.get("/files").json()["total"] == 1
            again = upload(api)
            assert again.status_code == 201, again.text
            assert api.get(f"/download/png/{again.json()['file_id']}").status_code == 200
