"""`dicom-api storage check`: rows without blobs, blobs without rows, checksum mismatches, and repair."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dicom_api.config import Settings
from dicom_api.db.migrate import upgrade
from dicom_api.services.integrity import check_store
from dicom_api.services.spool import Leftover, Spool, find_leftovers, remove
from dicom_api.storage import FilesystemBlobStore
from tests.helpers import make_client, sample

CT = sample("CT_small.dcm")


def test_check_finds_each_kind_of_problem_and_repair_removes_only_orphans(
    client: TestClient, settings: Settings, upload, tmp_path: Path
) -> None:
    intact, corrupted, lost = upload(CT), upload(CT), upload(CT)
    client.get(f"/download/png/{intact}")
    store = FilesystemBlobStore(settings.data_dir / "blobs")
    with store.path(corrupted).open("ab") as fp:
        fp.write(b"bit rot")
    store.delete(lost)
    orphan = uuid.uuid4().hex
    staged = tmp_path / "orphan.dcm"
    staged.write_bytes(CT.read_bytes())
    store.put_file(orphan, staged)
    store.put_bytes(f"renders/{orphan}/1-auto-r1.png", b"png")

    report = check_store(settings)
    assert (report.missing, report.mismatched, report.orphans) == ([lost], [corrupted], [orphan])
    assert report.problems == 3

    repaired = check_store(settings, repair=True, grace_seconds=0)
    assert repaired.removed == [orphan]
    assert not store.exists(orphan)
    assert not store.path(f"renders/{orphan}").exists()
    assert store.exists(intact)
    assert check_store(settings).orphans == []


# --- the upload spool -----------------------------------------------------------------------------------------


def killed_mid_upload(root: Path, size: int) -> Path:
    """A process that spools an upload and dies by SIGKILL (or TerminateProcess): the file it leaves."""
    code = (
        "import sys, time; from pathlib import Path; from dicom_api.services.spool import Spool\n"
        "path = Spool(Path(sys.argv[1])).folder / 'cut-off.upload'\n"
        "path.write_bytes(b'\\0' * int(sys.argv[2])); print(path, flush=True); time.sleep(120)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code, str(root), str(size)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        left = Path(process.stdout.readline().strip())
    finally:
        process.kill()
        process.wait(30)
    assert left.is_file()
    return left


@pytest.fixture
def leftovers(settings: Settings) -> Iterator[tuple[Path, Path, Path, Path]]:
    """In the spool: an upload in flight in this (live) process, a dead process's upload, and two loose files of
    an earlier version, one two days old, one fresh."""
    root = settings.spool_dir
    live = Spool(root)
    in_flight = live.folder / "in-flight.upload"
    in_flight.write_bytes(b"receiving")
    dead = killed_mid_upload(root, 4096)
    old, young = root / f"{uuid.uuid4().hex}.upload", root / f"{uuid.uuid4().hex}.upload"
    old.write_bytes(b"old")
    young.write_bytes(b"young")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    yield in_flight, dead, old, young
    live.close()


def test_a_start_removes_what_dead_processes_left_in_the_spool_and_nothing_in_flight(
    settings: Settings, leftovers: tuple[Path, Path, Path, Path]
) -> None:
    in_flight, dead, old, young = leftovers
    for client in make_client(settings):
        assert not dead.parent.exists()
        assert not dead.parent.with_name(dead.parent.name + ".lock").exists()
        assert not old.exists()
        assert in_flight.is_file()  # another live process's upload
        assert young.is_file()  # loose, too recent to be sure nobody writes it
        response = client.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes())})
        assert response.status_code == 201
        own = client.app.state.context.spool.folder
        assert own.is_dir()
        assert list(own.iterdir()) == []
    assert not own.exists()  # a clean stop leaves no folder and no lock behind
    assert not own.with_name(own.name + ".lock").exists()


def test_storage_check_reports_spool_leftovers_and_repair_removes_them(
    settings: Settings, leftovers: tuple[Path, Path, Path, Path]
) -> None:
    upgrade(settings.database_url)
    in_flight, dead, old, young = leftovers
    os.utime(young, (time.time() - 120, time.time() - 120))

    report = check_store(settings, grace_seconds=60)
    assert sorted(report.spool) == sorted([f"{dead.parent.name} (4096 bytes)", f"{old.name} (3 bytes)",
                                           f"{young.name} (5 bytes)"])  # fmt: skip
    assert report.problems == 3
    # a loose file younger than the grace may still be written by a process of an earlier version
    assert young.name not in str(check_store(settings, grace_seconds=600).spool)

    repaired = check_store(settings, repair=True, grace_seconds=60)
    assert sorted(repaired.spool_removed) == sorted(report.spool)
    assert repaired.problems == 0
    assert not dead.parent.exists()
    assert not old.exists()
    assert not young.exists()
    assert in_flight.is_file()
    assert check_store(settings).spool == []


def test_a_spool_folder_is_never_taken_from_a_live_process(tmp_path: Path) -> None:
    """Two spools in one folder (two workers): each cleaner sees the other's lock held."""
    first, second = Spool(tmp_path), Spool(tmp_path)
    assert first.folder != second.folder
    (second.folder / "x.upload").write_bytes(b"x")
    assert find_leftovers(tmp_path, 0) == []
    assert remove(tmp_path, [Leftover(second.folder, 1)]) == []
    assert (second.folder / "x.upload").is_file()
    second.close()
    first.close()
    assert list(tmp_path.iterdir()) == []


def test_storage_check_reports_writes_cut_off_and_repair_removes_the_old_ones(settings: Settings) -> None:
    """What a crash in the middle of a copy into the store or of a render's write leaves: `*.partial` files."""
    upgrade(settings.database_url)
    store = FilesystemBlobStore(settings.data_dir / "blobs")
    file_id = uuid.uuid4().hex
    cut_off = store.path(file_id).with_name(f"{file_id}.partial")
    render = store.path(f"renders/{file_id}/1-auto-r1.png").with_name("1-auto-r1.png.4242.partial")
    writing = store.path(f"renders/{file_id}/2-auto-r1.png").with_name("2-auto-r1.png.4343.partial")
    for path, age in ((cut_off, 600), (render, 600), (writing, 0)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
        os.utime(path, (time.time() - age, time.time() - age))

    report = check_store(settings, grace_seconds=60)
    relative = sorted(p.relative_to(store.root).as_posix() for p in (cut_off, render))
    assert report.partial == [f"{name} (4 bytes)" for name in relative]
    assert report.problems == 2
    assert report.orphans == []  # never taken for blobs

    repaired = check_store(settings, repair=True, grace_seconds=60)
    assert repaired.partial_removed == repaired.partial == report.partial
    assert repaired.problems == 0
    assert not cut_off.exists()
    assert not render.exists()
    assert writing.exists()  # recent: a write that may still be going on
