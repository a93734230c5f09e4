"""Helpers of the share link and job tests: a small study made of a reference file, a job waited for."""

from __future__ import annotations

import io
import time
from typing import Any

import pydicom
from fastapi.testclient import TestClient
from pydicom.uid import generate_uid

from tests.helpers import sample

CT = sample("CT_small.dcm")
CT_NAME = "CompressedSamples^CT1"
JOB_WAIT_SECONDS = 120  # how long a test waits for a job before it fails (a limit, not a measurement)


def instance(study_uid: str, series_uid: str, sop_uid: str | None = None, **changes: Any) -> bytes:
    """CT_small as an instance of the given study and series."""
    ds = pydicom.dcmread(CT)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop_uid or generate_uid()
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def upload_study(
    client: TestClient, headers: dict[str, str], series: int = 2, per_series: int = 2
) -> tuple[str, list[str]]:
    """A new study of ``series`` series of ``per_series`` instances each: its UID and the file ids."""
    study = generate_uid()
    ids = []
    for _ in range(series):
        series_uid = generate_uid()
        for _ in range(per_series):
            data = instance(study, series_uid)
            response = client.post("/upload/dicom", files={"file": ("f.dcm", data)}, headers=headers)
            assert response.status_code == 201, response.text
            ids.append(response.json()["file_id"])
    return study, ids


def wait_job(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """The job's status once it has finished."""
    deadline = time.monotonic() + JOB_WAIT_SECONDS
    while True:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["state"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def read(response: Any) -> pydicom.Dataset:
    assert response.status_code == 200, response.text
    return pydicom.dcmread(io.BytesIO(response.content))
