"""`dicom-api storage check`: rows without blobs, blobs without rows, checksum mismatches, and repair."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from dicom_api.config import Settings
from dicom_api.services.integrity import check_store
from dicom_api.storage import FilesystemBlobStore
from tests.helpers import sample

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
