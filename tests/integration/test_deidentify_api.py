"""De-identification through HTTP, on SQLite and PostgreSQL: a stored copy owned by the caller, a download made
on the fly, UIDs consistent per user and key, refusals, the audit trail."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from fastapi.testclient import TestClient
from pydicom.uid import generate_uid

from tests.helpers import ADMIN_PASSWORD, add_user, login, make_client, personal_token, sample, settings_for
from tests.worlds import BACKENDS, backend_settings, bearer, fresh_database

CT = sample("CT_small.dcm")
CT_NAME = "CompressedSamples^CT1"


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    with backend_settings(request, tmp_path / "data") as settings:
        yield from make_client(settings)


def _upload(client: TestClient, data: bytes, headers: dict[str, str] | None = None) -> str:
    response = client.post("/upload/dicom", files={"file": ("f.dcm", data, "application/dicom")}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["file_id"])


def _instance(sop_uid: str, **changes: Any) -> bytes:
    ds = pydicom.dcmread(CT)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _stored(client: TestClient, file_id: str, headers: dict[str, str] | None = None) -> pydicom.Dataset:
    response = client.get(f"/files/{file_id}/dicom", headers=headers)
    assert response.status_code == 200, response.text
    return pydicom.dcmread(io.BytesIO(response.content))


def test_a_deidentified_copy_is_a_new_file_of_the_caller(api: TestClient) -> None:
    original = _upload(api, CT.read_bytes())
    response = api.post(f"/files/{original}/deidentify")
    assert response.status_code == 201, response.text
    copy_id = response.json()["file_id"]
    assert copy_id != original
    assert response.headers["location"] == f"/files/{copy_id}"
    listed = {item["file_id"]: item for item in api.get("/files").json()["items"]}
    assert set(listed) == {original, copy_id}
    assert "dicom_api_uploads_total 2.0" in api.get("/metrics").text  # the copy counts as a file stored
    ds = _stored(api, copy_id)
    assert ds.PatientIdentityRemoved == "YES"
    assert str(ds.PatientName) == ""
    assert CT_NAME.encode() not in api.get(f"/files/{copy_id}/dicom").content
    assert api.get(f"/download/png/{copy_id}").status_code == 200  # still an image


def test_one_series_deidentified_file_by_file_stays_one_series(api: TestClient) -> None:
    first, second = (_upload(api, _instance(generate_uid())) for _ in range(2))
    copies = [api.post(f"/files/{f}/deidentify", json={}).json()["file_id"] for f in (first, second)]
    a, b = (_stored(api, c) for c in copies)
    assert a.SeriesInstanceUID == b.SeriesInstanceUID
    assert a.StudyInstanceUID == b.StudyInstanceUID
    assert a.SOPInstanceUID != b.SOPInstanceUID
    other = api.post(f"/files/{first}/deidentify", json={"key": "project-b"}).json()["file_id"]
    assert _stored(api, other).StudyInstanceUID != a.StudyInstanceUID  # another key, another mapping


def test_users_get_mappings_of_their_own(api: TestClient) -> None:
    data = _instance("1.2.826.0.1.3680043.2.1125.77.1")
    bob = bearer(add_user(api, "bob"))
    mine = api.post(f"/files/{_upload(api, data)}/deidentify").json()["file_id"]
    theirs = api.post(f"/files/{_upload(api, data, bob)}/deidentify", headers=bob).json()["file_id"]
    assert _stored(api, mine).StudyInstanceUID != _stored(api, theirs, bob).StudyInstanceUID
    assert api.post(f"/files/{mine}/deidentify", headers=bob).status_code == 404  # not theirs


def test_options_are_applied_and_recorded(api: TestClient) -> None:
    file_id = _upload(api, CT.read_bytes())
    body = {"options": ["retain_uids", "retain_full_dates", "retain_patient_characteristics"]}
    copy_id = api.post(f"/files/{file_id}/deidentify", json=body).json()["file_id"]
    original, ds = pydicom.dcmread(CT), _stored(api, copy_id)
    assert ds.StudyInstanceUID == original.StudyInstanceUID
    assert ds.StudyDate == original.StudyDate
    assert ds.PatientSex == original.PatientSex
    codes = [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113110", "113108", "113106"]


@pytest.mark.parametrize(
    "body",
    [{"options": ["retain_everything"]}, {"options": ["retain_full_dates", "retain_modified_dates"]}, {"key": "a/b"}],
)
def test_bad_options_are_refused(api: TestClient, body: dict[str, Any]) -> None:
    file_id = _upload(api, CT.read_bytes())
    response = api.post(f"/files/{file_id}/deidentify", json=body)
    assert response.status_code in (400, 422), response.text
    assert "error" in response.json()
    assert len(api.get("/files").json()["items"]) == 1


def test_burned_in_annotation_is_refused_unless_accepted(api: TestClient) -> None:
    file_id = _upload(api, _instance(generate_uid(), BurnedInAnnotation="YES"))
    response = api.post(f"/files/{file_id}/deidentify")
    assert response.status_code == 422
    assert "Burned In Annotation" in response.json()["error"]
    assert api.get(f"/files/{file_id}/deidentified").status_code == 422
    accepted = api.post(f"/files/{file_id}/deidentify", json={"options": ["accept_burned_in"]})
    assert accepted.status_code == 201, accepted.text


def test_the_download_is_deidentified_and_not_stored(api: TestClient) -> None:
    file_id = _upload(api, CT.read_bytes())
    response = api.get(f"/files/{file_id}/deidentified", params={"option": ["clean_descriptors"], "key": "p1"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/dicom"
    assert response.headers["cache-control"] == "private, no-store"
    ds = pydicom.dcmread(io.BytesIO(response.content))
    assert ds.PatientIdentityRemoved == "YES"
    assert CT_NAME.encode() not in response.content
    assert [item["file_id"] for item in api.get("/files").json()["items"]] == [file_id]
    stored = api.post(f"/files/{file_id}/deidentify", json={"options": ["clean_descriptors"], "key": "p1"})
    assert _stored(api, stored.json()["file_id"]).SOPInstanceUID == ds.SOPInstanceUID  # one mapping for both


def test_a_read_token_downloads_a_copy_but_stores_none(api: TestClient) -> None:
    file_id = _upload(api, CT.read_bytes())
    token = personal_token(api, {"Authorization": api.headers["Authorization"]}, "read")
    read = {"Authorization": f"Bearer {token['token']}"}
    refused = api.post(f"/files/{file_id}/deidentify", headers=read)
    assert refused.status_code == 403, refused.text
    downloaded = api.get(f"/files/{file_id}/deidentified", headers=read)
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.content == api.get(f"/files/{file_id}/deidentified").content  # the account's key, not the token's
    assert [item["file_id"] for item in api.get("/files").json()["items"]] == [file_id]


def test_missing_and_foreign_files_are_404(api: TestClient) -> None:
    assert api.post(f"/files/{'0' * 32}/deidentify").status_code == 404
    assert api.get(f"/files/{'0' * 32}/deidentified").status_code == 404
    assert api.post("/files/not-an-id/deidentify").status_code == 404


def test_each_de_identification_is_on_the_audit_trail(api: TestClient) -> None:
    file_id = _upload(api, CT.read_bytes())
    api.post(f"/files/{file_id}/deidentify")
    api.get(f"/files/{file_id}/deidentified")
    admin = bearer(login(api, "admin", ADMIN_PASSWORD))
    trail = api.get("/audit", params={"limit": 100}, headers=admin).json()["items"]
    actions = {(e["action"], e["file_id"], e["status"]) for e in trail}
    assert ("deidentify", file_id, 201) in actions
    assert ("download_deidentified", file_id, 200) in actions


@pytest.mark.postgres
def test_without_a_shared_secret_a_server_on_postgres_does_not_deidentify(tmp_path: Path, postgres_url: str) -> None:
    """Hosts that share a database do not share a data folder: a generated secret would differ on each."""
    with fresh_database(postgres_url) as url:
        settings = settings_for(tmp_path / "data", database_url=url, deidentify_secret="")
        for client in make_client(settings):
            file_id = _upload(client, CT.read_bytes())
            response = client.post(f"/files/{file_id}/deidentify")
            assert response.status_code == 503
            assert "DICOM_API_DEIDENTIFY_SECRET" in response.json()["error"]


def test_the_embedded_set_up_generates_its_secret_once(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", deidentify_secret=""
    )
    for client in make_client(settings):
        file_id = _upload(client, CT.read_bytes())
        first = client.get(f"/files/{file_id}/deidentified").content
        assert client.get(f"/files/{file_id}/deidentified").content == first
    secret = tmp_path / "data" / "deidentify-secret"
    assert secret.exists()
    assert secret.stat().st_mode & 0o077 == 0
