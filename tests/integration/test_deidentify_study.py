"""A study de-identified as a job, through HTTP on SQLite and PostgreSQL: 202 with a status URL, progress, a
result that is one new study, the job seen by its owner alone, a job interrupted by a restart failed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from dicom_api.db.models import AuditEvent, Job, User
from dicom_api.main import create_app
from tests.helpers import add_user, make_client, run_sql
from tests.sharing import CT_NAME, read, upload_study, wait_job
from tests.worlds import BACKENDS, backend_settings, bearer


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    with backend_settings(request, tmp_path / "data") as settings:
        yield from make_client(settings)


def _session(client: TestClient) -> dict[str, str]:
    return {"Authorization": client.headers["Authorization"]}


def test_a_study_becomes_a_new_study_through_a_job(api: TestClient) -> None:
    me = _session(api)
    study, originals = upload_study(api, me, series=2, per_series=2)
    response = api.post(f"/dicomweb/studies/{study}/deidentify", json={"options": ["retain_patient_characteristics"]})
    assert response.status_code == 202, response.text
    started = response.json()
    assert response.headers["location"] == started["status_url"] == f"/jobs/{started['job_id']}"

    job = wait_job(api, started["status_url"], me)
    assert (job["state"], job["done"], job["total"], job["error"]) == ("done", 4, 4, None)
    result = job["result"]
    assert result["errors"] == []
    assert len(result["file_ids"]) == 4
    assert not set(result["file_ids"]) & set(originals)
    assert result["study_uid"] not in (None, study)

    copies = [read(api.get(f"/files/{file_id}/dicom")) for file_id in result["file_ids"]]
    assert {ds.StudyInstanceUID for ds in copies} == {result["study_uid"]}
    assert len({ds.SeriesInstanceUID for ds in copies}) == 2  # two series stay two series
    assert len({ds.SOPInstanceUID for ds in copies}) == 4
    assert all(ds.PatientIdentityRemoved == "YES" and str(ds.PatientName) != CT_NAME for ds in copies)


def test_progress_is_counted_and_each_instance_is_audited(api: TestClient) -> None:
    me = _session(api)
    study, originals = upload_study(api, me, series=1, per_series=3)
    started = api.post(f"/dicomweb/studies/{study}/deidentify").json()
    job = wait_job(api, started["status_url"], me)
    assert job["done"] == job["total"] == 3
    settings = api.app.state.context.settings  # type: ignore[attr-defined]
    api.app.state.context.audit.flush()  # type: ignore[attr-defined]
    rows = run_sql(settings, select(AuditEvent.action, AuditEvent.file_id, AuditEvent.status))
    assert ("deidentify_study", None, 202) in rows
    assert {f for a, f, _ in rows if a == "deidentify"} == set(originals)  # the access to each source


def test_another_user_cannot_see_the_job(api: TestClient) -> None:
    study, _ = upload_study(api, _session(api), series=1, per_series=1)
    started = api.post(f"/dicomweb/studies/{study}/deidentify").json()
    bob = bearer(add_user(api, "bob"))
    response = api.get(started["status_url"], headers=bob)
    assert response.status_code == 404, response.text
    assert set(response.json()) == {"error"}
    assert api.post(f"/dicomweb/studies/{study}/deidentify", headers=bob).status_code == 404  # nor the study
    assert api.get(started["status_url"]).status_code == 200


@pytest.mark.parametrize("body", [{"options": ["no_such_option"]}, {"key": "no spaces"}])
def test_bad_options_are_the_requests_400(api: TestClient, body: dict[str, object]) -> None:
    study, _ = upload_study(api, _session(api), series=1, per_series=1)
    response = api.post(f"/dicomweb/studies/{study}/deidentify", json=body)
    assert response.status_code in (400, 422), response.text
    assert set(response.json()) == {"error"}


def test_a_job_interrupted_by_a_restart_is_failed_on_start(api: TestClient) -> None:
    settings = api.app.state.context.settings  # type: ignore[attr-defined]
    owner = run_sql(settings, select(User.id).where(User.username == "alice"))[0][0]
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    job_id = "ab" * 16
    row = {"id": job_id, "owner_id": owner, "kind": "deidentify", "state": "running", "done": 1, "total": 5,
           "created_at": long_ago, "heartbeat_at": long_ago}  # fmt: skip
    run_sql(settings, insert(Job).values(**row))
    with TestClient(create_app(settings)):  # another process starts (a restart)
        state, error = run_sql(settings, select(Job.state, Job.error).where(Job.id == job_id))[0]
    assert state == "failed"
    assert "restart" in error
    job = api.get(f"/jobs/{job_id}").json()
    assert (job["state"], job["done"], job["total"]) == ("failed", 1, 5)
