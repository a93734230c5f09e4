"""Rendered once: stored beside the file, served from there, computed once under concurrency."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dicom_api.config import Settings
from dicom_api.errors import RenderLimitExceeded
from dicom_api.services.render_pool import RenderPool
from dicom_api.services.rendering import Renderer, RenderRequest
from tests.corpus import CORPUS
from tests.helpers import add_user, make_client, sample

CT = sample("CT_small.dcm")


class CountingRender:
    """Wraps Renderer._compute: counts real renders and makes each one slow enough to overlap."""

    def __init__(self, delay: float) -> None:
        self.delay, self.calls, self.lock = delay, 0, threading.Lock()
        self.original = Renderer._compute

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        async def render(renderer: Renderer, request: RenderRequest) -> bytes:
            with self.lock:
                self.calls += 1
            await asyncio.sleep(self.delay)
            return await self.original(renderer, request)

        monkeypatch.setattr(Renderer, "_compute", render)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingRender:
    counter = CountingRender(delay=0.3)
    counter.install(monkeypatch)
    return counter


def _renders(settings: Settings) -> list[Path]:
    return sorted(p for p in (settings.data_dir / "blobs" / "renders").rglob("*.png"))


def test_first_render_is_stored_and_served_afterwards(
    client: TestClient, settings: Settings, upload, counting: CountingRender
) -> None:
    file_id = upload(CT)
    first = client.get(f"/download/png/{file_id}")
    second = client.get(f"/download/png/{file_id}")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert counting.calls == 1
    assert len(_renders(settings)) == 1
    client.get(f"/download/png/{file_id}?window_center=40&window_width=400")
    assert counting.calls == 2
    assert len(_renders(settings)) == 2
    assert client.delete(f"/files/{file_id}").status_code == 204
    assert _renders(settings) == []


def test_concurrent_first_requests_render_once(client: TestClient, upload, counting: CountingRender) -> None:
    file_id = upload(CT)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.get(f"/download/png/{file_id}"), range(8)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert counting.calls == 1


def test_two_workers_sharing_database_and_store(settings: Settings, counting: CountingRender) -> None:
    """Two app instances stand for two workers, each asked for the same first render three times at once. On
    PostgreSQL the advisory lock lets one render and the other wait for its stored result; on SQLite each
    worker renders once (its own requests share its render), both store the same bytes, and one render is
    left in the store."""
    clients = [make_client(settings), make_client(settings, as_user=None)]
    first = next(clients[0])
    second = next(clients[1])
    try:
        file_id = first.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes())}).json()["file_id"]
        second.headers["Authorization"] = first.headers["Authorization"]
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda i: (first, second)[i % 2].get(f"/download/png/{file_id}"), range(6)))
        assert {a.status_code for a in answers} == {200}
        assert len({a.content for a in answers}) == 1
        assert counting.calls == (1 if settings.database_url.startswith("postgresql") else 2)
        assert len(_renders(settings)) == 1
    finally:
        for gen in clients:
            gen.close()


class SlowRender:
    """Wraps Renderer._compute with a pause before the render (the blob is deleted before it is read) or
    after it (the render is stored after the delete purged the file's renders)."""

    def __init__(self, before: bool) -> None:
        self.before = before
        self.original = Renderer._compute
        self.started = threading.Event()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        async def render(renderer: Renderer, request: RenderRequest) -> bytes:
            self.started.set()
            if self.before:
                await asyncio.sleep(0.5)
            png = await self.original(renderer, request)
            if not self.before:
                await asyncio.sleep(0.5)
            return png

        monkeypatch.setattr(Renderer, "_compute", render)


@pytest.mark.parametrize("before", [True, False], ids=["deleted-before-read", "deleted-before-store"])
def test_a_file_deleted_while_it_renders_answers_404_and_leaves_no_render(
    client: TestClient, settings: Settings, upload, monkeypatch: pytest.MonkeyPatch, before: bool
) -> None:
    file_id = upload(CT)
    slow = SlowRender(before)
    slow.install(monkeypatch)
    with ThreadPoolExecutor(11) as pool:
        renders = [
            pool.submit(client.get, f"/download/png/{file_id}?window_center={c}&window_width=400") for c in range(10)
        ]
        slow.started.wait(5)  # a render is in flight
        deleted = client.delete(f"/files/{file_id}")
        answers = [r.result() for r in renders]
    assert deleted.status_code == 204
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 404}, [a.text for a in answers]
    assert 404 in statuses
    assert all(set(a.json()) == {"error"} for a in answers if a.status_code == 404)
    assert list((settings.data_dir / "blobs" / "renders").rglob(f"*{file_id}*")) == []
    assert _renders(settings) == []


def test_a_frame_over_a_render_limit_is_refused_at_once_when_asked_again(
    client: TestClient, upload, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    async def over_the_limit(_pool: RenderPool, *_args: object) -> bytes:
        calls.append(1)
        raise RenderLimitExceeded("The image needs more memory than a render may use (512 MiB).")

    file_id = upload(CT)
    monkeypatch.setattr(RenderPool, "run", over_the_limit)
    first = client.get(f"/download/png/{file_id}")
    again = client.get(f"/download/png/{file_id}?window_center=40&window_width=400")  # another window, same frame
    assert first.status_code == again.status_code == 422
    assert first.json() == again.json() == {"error": "The image needs more memory than a render may use (512 MiB)."}
    assert len(calls) == 1


def test_errors_are_not_cached(client: TestClient, settings: Settings, upload) -> None:
    file_id = upload(sample("rtplan.dcm"))
    assert client.get(f"/download/png/{file_id}").status_code == 404
    assert _renders(settings) == []


def test_second_user_with_a_token_is_unrelated(client: TestClient) -> None:
    other = add_user(client, "bob")
    assert client.get("/files", headers={"Authorization": f"Bearer {other}"}).json()["total"] == 0


@pytest.mark.parametrize(
    "name", ["pydicom/CT_small.dcm", "pydicom-data/OT-PAL-8-face.dcm", "pydicom-data/gdcm-US-ALOKA-16.dcm"]
)
def test_first_renders_in_render_processes_with_the_upload_header(settings: Settings, name: str) -> None:
    """What the upload kept of the header travels to a real render process, or the process parses the
    file itself: a palette image's converted LUT Descriptors do not pickle, which once made its first
    render a 500 wherever renders ran in processes."""
    for client in make_client(settings.model_copy(update={"render_workers": 1})):
        response = client.post("/upload/dicom", files={"file": ("f.dcm", CORPUS[name].read_bytes())})
        assert response.status_code == 201, response.text
        png = client.get(f"/download/png/{response.json()['file_id']}")
        assert png.status_code == 200, png.text
        assert png.content.startswith(b"\x89PNG")
