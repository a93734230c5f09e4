"""Share links through HTTP, on SQLite and PostgreSQL: the scope cannot be escaped, expiry and revocation hold
at once in another process on the same database, the passcode, the throttle, the audit trail, de-identified
shares."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from dicom_api.db.models import Job, Share
from dicom_api.main import create_app
from tests.helpers import ADMIN_PASSWORD, add_user, login, make_client, run_sql
from tests.sharing import CT_NAME, instance, read, upload_study, wait_job
from tests.worlds import BACKENDS, backend_settings, bearer


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    with backend_settings(request, tmp_path / "data", login_max_failures_per_user=3) as settings:
        yield from make_client(settings)


def _me(client: TestClient) -> dict[str, str]:
    return {"Authorization": client.headers["Authorization"]}


def _share(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/shares", json={"expires_in": 3600, **body})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    made: dict[str, Any] = response.json()
    return made


def _link(made: dict[str, Any], **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {made['token']}", **headers}


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    return str(body["error"])


def test_a_share_opens_its_study_read_only(api: TestClient) -> None:
    study, ids = upload_study(api, _me(api))
    made = _share(api, study_uid=study)
    assert set(made) == {"id", "token", "url", "expires_at", "job"}
    assert made["token"].startswith("dshr_")
    assert made["url"].endswith(f"/shared#{made['token']}")
    link = _link(made)

    opened = api.get("/shared", headers=link)
    assert opened.status_code == 200, opened.text
    assert sorted(f["file_id"] for f in opened.json()["files"]) == sorted(ids)
    for file_id in ids:
        assert api.get(f"/download/png/{file_id}", headers=link).status_code == 200
        assert read(api.get(f"/files/{file_id}/dicom", headers=link)).StudyInstanceUID == study
        params = {"file_id": file_id, "tag_group": "0020", "tag_element": "000D"}
        assert api.get("/header_attribute", params=params, headers=link).status_code == 200


def test_the_scope_cannot_be_escaped(api: TestClient) -> None:
    me = _me(api)
    study, ids = upload_study(api, me, series=2, per_series=1)
    other_study, other_ids = upload_study(api, me, series=1, per_series=1)
    series_share = _share(api, study_uid=study, series_uid=read(api.get(f"/files/{ids[0]}/dicom")).SeriesInstanceUID)
    link = _link(series_share)
    assert api.get(f"/files/{ids[0]}/dicom", headers=link).status_code == 200
    # the other series of the same study, and another study of the same owner: as if they did not exist
    for file_id in (ids[1], other_ids[0]):
        _error(api.get(f"/files/{file_id}/dicom", headers=link), 404)
        _error(api.get(f"/download/png/{file_id}", headers=link), 404)
        params = {"file_id": file_id, "tag_group": "0010", "tag_element": "0010"}
        _error(api.get("/header_attribute", params=params, headers=link), 404)
    # the same SOP instance in another user's store
    bob = bearer(add_user(api, "bob"))
    shared = read(api.get(f"/files/{ids[0]}/dicom", headers=link))
    copy = instance(shared.StudyInstanceUID, shared.SeriesInstanceUID, shared.SOPInstanceUID)
    bobs = api.post("/upload/dicom", files={"file": ("f.dcm", copy)}, headers=bob).json()["file_id"]
    _error(api.get(f"/files/{bobs}/dicom", headers=link), 404)
    # lists, uploads, writes, accounts, tokens, shares, audit, de-identification: refused
    refused = [
        ("GET", "/files", {}),
        ("POST", "/upload/dicom", {"files": {"file": ("f.dcm", copy)}}),
        ("DELETE", f"/files/{ids[0]}", {}),
        ("GET", f"/files/{ids[0]}/deidentified", {}),
        ("POST", f"/files/{ids[0]}/deidentify", {}),
        ("POST", f"/dicomweb/studies/{study}/deidentify", {}),
        ("GET", "/users/me", {}),
        ("GET", "/users/me/tokens", {}),
        ("POST", "/users/me/tokens", {"json": {"name": "x", "scope": "read"}}),
        ("GET", "/shares", {}),
        ("POST", "/shares", {"json": {"study_uid": study, "expires_in": 60}}),
        ("DELETE", f"/shares/{series_share['id']}", {}),
        ("GET", "/audit", {}),
        ("GET", "/users", {}),
        ("POST", "/files/lookup", {"json": {"sha256": []}}),
    ]
    for method, path, extra in refused:
        response = api.request(method, path, headers=link, **extra)
        assert response.status_code in (403, 404), (method, path, response.status_code, response.text)
    assert api.get(f"/files/{ids[0]}/dicom", headers=link).status_code == 200  # still there: nothing was changed
    assert len(api.get("/files").json()["items"]) == 3


def test_a_share_of_files_opens_those_files(api: TestClient) -> None:
    _, ids = upload_study(api, _me(api), series=1, per_series=3)
    link = _link(_share(api, file_ids=ids[:2]))
    assert [api.get(f"/files/{i}/dicom", headers=link).status_code for i in ids] == [200, 200, 404]


def test_only_the_owners_files_can_be_shared(api: TestClient) -> None:
    study, ids = upload_study(api, _me(api), series=1, per_series=1)
    bob = bearer(add_user(api, "bob"))
    for body in ({"study_uid": study}, {"file_ids": ids}):
        _error(api.post("/shares", json={"expires_in": 60, **body}, headers=bob), 404)


def test_expiry_is_bounded_by_the_admins_setting(api: TestClient) -> None:
    study, _ = upload_study(api, _me(api), series=1, per_series=1)
    longest = api.app.state.context.settings.share_max_seconds  # type: ignore[attr-defined]
    assert "expires_in" in _error(api.post("/shares", json={"study_uid": study, "expires_in": longest + 1}), 400)
    _error(api.post("/shares", json={"expires_in": 60}), 400)  # nothing named


def test_revocation_and_expiry_hold_at_once_in_another_process(api: TestClient) -> None:
    study, ids = upload_study(api, _me(api), series=1, per_series=1)
    settings = api.app.state.context.settings  # type: ignore[attr-defined]
    revoked, expiring = _share(api, study_uid=study), _share(api, study_uid=study)
    with TestClient(create_app(settings)) as other:  # a second worker on the same database
        for made in (revoked, expiring):
            assert other.get(f"/files/{ids[0]}/dicom", headers=_link(made)).status_code == 200
        assert api.delete(f"/shares/{revoked['id']}").status_code == 204
        assert "revoked" in _error(other.get(f"/files/{ids[0]}/dicom", headers=_link(revoked)), 410)
        past = datetime.now(UTC) - timedelta(seconds=1)
        run_sql(settings, update(Share).where(Share.id == expiring["id"]).values(expires_at=past))
        assert "expired" in _error(other.get(f"/files/{ids[0]}/dicom", headers=_link(expiring)), 410)
        assert "expired" in _error(api.get("/shared", headers=_link(expiring)), 410)
    _error(api.delete(f"/shares/{revoked['id']}"), 404)  # once


def test_the_passcode_is_needed_and_stored_hashed(api: TestClient) -> None:
    study, ids = upload_study(api, _me(api), series=1, per_series=1)
    made = _share(api, study_uid=study, passcode="correct horse")
    url = f"/files/{ids[0]}/dicom"
    assert "passcode" in _error(api.get(url, headers=_link(made)), 401)
    _error(api.get(url, headers=_link(made, **{"X-Share-Passcode": "wrong passcode"})), 401)
    assert api.get(url, headers=_link(made, **{"X-Share-Passcode": "correct horse"})).status_code == 200
    basic = base64.b64encode(f"{made['token']}:correct horse".encode()).decode()
    assert api.get(url, headers={"Authorization": f"Basic {basic}"}).status_code == 200
    settings = api.app.state.context.settings  # type: ignore[attr-defined]
    [(stored,)] = run_sql(settings, select(Share.passcode_hash).where(Share.id == made["id"]))
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored


def test_guessing_is_throttled(api: TestClient) -> None:
    study, ids = upload_study(api, _me(api), series=1, per_series=1)
    for _ in range(3):  # login_max_failures_per_user=3
        _error(api.get("/shared", headers={"Authorization": f"Bearer dshr_{uuid.uuid4().hex}"}), 401)
    response = api.get("/shared", headers={"Authorization": f"Bearer dshr_{uuid.uuid4().hex}"})
    _error(response, 429)
    assert int(response.headers["retry-after"]) > 0
    # from that address, even a real link gets nothing for a while: a guess that hit would not tell
    _error(api.get(f"/files/{ids[0]}/dicom", headers=_link(_share(api, study_uid=study))), 429)


def test_guessing_a_passcode_is_throttled(api: TestClient) -> None:
    study, _ = upload_study(api, _me(api), series=1, per_series=1)
    made = _share(api, study_uid=study, passcode="the passcode")
    for _ in range(3):
        _error(api.get("/shared", headers=_link(made, **{"X-Share-Passcode": "a wrong one"})), 401)
    _error(api.get("/shared", headers=_link(made, **{"X-Share-Passcode": "the passcode"})), 429)


def test_every_use_is_on_the_audit_trail_with_the_shares_id(api: TestClient) -> None:
    study, ids = upload_study(api, _me(api), series=1, per_series=1)
    made = _share(api, study_uid=study)
    link = _link(made)
    assert api.get(f"/download/png/{ids[0]}", headers=link).status_code == 200
    assert api.get(f"/files/{ids[0]}/dicom", headers=link).status_code == 200
    assert api.get("/users/me", headers=link).status_code == 403

    listed = {s["id"]: s for s in api.get("/shares").json()["items"]}
    assert (listed[made["id"]]["uses"], listed[made["id"]]["files"]) == (2, 1)
    detail = api.get(f"/shares/{made['id']}").json()
    uses = [(u["action"], u["status"], u["file_id"], u["user_id"]) for u in detail["recent_uses"]]
    assert ("download_png", 200, ids[0], None) in uses
    assert ("download_original", 200, ids[0], None) in uses
    assert any(u[0] == "share_create" and u[3] is not None for u in uses)  # made by its owner
    assert all(u["share_id"] == made["id"] for u in detail["recent_uses"])

    api.delete(f"/shares/{made['id']}")
    _error(api.get("/shared", headers=link), 410)
    admin = bearer(login(api, "admin", ADMIN_PASSWORD))
    trail = api.get("/audit", params={"share_id": made["id"]}, headers=admin).json()["items"]
    actions = [(e["action"], e["outcome"]) for e in trail]
    assert actions[:2] == [("share_open", "rejected"), ("share_revoke", "success")]
    bob = bearer(add_user(api, "bob"))
    _error(api.get(f"/shares/{made['id']}", headers=bob), 404)  # another's share: not found
    assert api.get("/shares", headers=bob).json()["items"] == []


def test_a_deidentified_share_serves_the_copies_alone(api: TestClient) -> None:
    me = _me(api)
    study, originals = upload_study(api, me, series=1, per_series=2)
    made = _share(api, study_uid=study, deidentify=True, options=["retain_patient_characteristics"])
    assert made["job"].startswith("/jobs/")
    job = wait_job(api, made["job"], me)
    assert job["state"] == "done", job
    link = _link(made)
    files = api.get("/shared", headers=link).json()
    assert files["deidentified"] is True
    copies = [f["file_id"] for f in files["files"]]
    assert sorted(copies) == sorted(job["result"]["file_ids"])
    for file_id in copies:
        ds = read(api.get(f"/files/{file_id}/dicom", headers=link))
        assert str(ds.PatientName) != CT_NAME
        assert ds.StudyInstanceUID == job["result"]["study_uid"] != study
        params = {"file_id": file_id, "tag_group": "0010", "tag_element": "0010"}
        assert CT_NAME not in api.get("/header_attribute", params=params, headers=link).text
    for file_id in originals:
        _error(api.get(f"/files/{file_id}/dicom", headers=link), 404)


def test_a_deidentified_share_waits_for_its_copies(api: TestClient) -> None:
    me = _me(api)
    study, _ = upload_study(api, me, series=1, per_series=1)
    made = _share(api, study_uid=study, deidentify=True)
    job_id = made["job"].removeprefix("/jobs/")
    assert wait_job(api, made["job"], me)["state"] == "done"
    settings = api.app.state.context.settings  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    run_sql(settings, update(Job).where(Job.id == job_id).values(state="running", heartbeat_at=now))
    assert "still being made" in _error(api.get("/shared", headers=_link(made)), 409)
    run_sql(settings, update(Job).where(Job.id == job_id).values(state="failed"))
    assert "could not be made" in _error(api.get("/shared", headers=_link(made)), 410)
