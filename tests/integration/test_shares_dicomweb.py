"""A share link as a DICOMweb viewer uses it (bearer token), on SQLite and PostgreSQL: QIDO-RS finds the shared
study alone, with counts of what is shared; WADO-RS serves it and nothing else of the owner's; STOW-RS and DELETE
are refused; a de-identified share is searched and retrieved as its copies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import add_user, make_client
from tests.integration.dicomweb import STOW_TYPE, UID, multipart, values
from tests.sharing import CT_NAME, instance, upload_study, wait_job
from tests.worlds import BACKENDS, backend_settings, bearer

DICOM_JSON = "application/dicom+json"
PARTS = 'multipart/related; type="application/dicom"; transfer-syntax=*'


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    with backend_settings(request, tmp_path / "data") as settings:
        yield from make_client(settings)


def _me(client: TestClient) -> dict[str, str]:
    return {"Authorization": client.headers["Authorization"]}


def _link(client: TestClient, **body: Any) -> tuple[dict[str, Any], dict[str, str]]:
    response = client.post("/shares", json={"expires_in": 3600, **body})
    assert response.status_code == 201, response.text
    made = response.json()
    return made, {"Authorization": f"Bearer {made['token']}"}


def _search(client: TestClient, path: str, link: dict[str, str], **params: str) -> list[dict[str, Any]]:
    response = client.get(f"/dicomweb{path}", params=params, headers={**link, "Accept": DICOM_JSON})
    assert response.status_code in (200, 204), response.text
    return [] if response.status_code == 204 else list(response.json())


def test_search_finds_the_shared_series_alone_with_its_own_counts(api: TestClient) -> None:
    study, ids = upload_study(api, _me(api), series=2, per_series=2)
    other, _ = upload_study(api, _me(api), series=1, per_series=1)
    series = _search(api, f"/studies/{study}/series", _me(api))
    shared_series = values(series, UID["series"])[0]
    _, link = _link(api, study_uid=study, series_uid=shared_series)

    studies = _search(api, "/studies", link, includefield="00201208")
    assert values(studies, UID["study"]) == [study]  # not the other study of the same owner
    assert values(studies, "00201208") == [2]  # Number of Study Related Instances: what is shared
    assert values(_search(api, f"/studies/{study}/series", link), UID["series"]) == [shared_series]
    assert len(_search(api, "/instances", link)) == 2
    assert _search(api, f"/studies/{other}/series", link) == []


def test_retrieve_serves_the_share_and_nothing_else(api: TestClient) -> None:
    study, _ = upload_study(api, _me(api), series=2, per_series=1)
    other, _ = upload_study(api, _me(api), series=1, per_series=1)
    series = values(_search(api, f"/studies/{study}/series", _me(api)), UID["series"])
    _, link = _link(api, study_uid=study, series_uid=series[0])
    [shared] = _search(api, f"/studies/{study}/series/{series[0]}/instances", link)
    sop = shared[UID["sop"]]["Value"][0]
    base = f"/dicomweb/studies/{study}/series/{series[0]}"

    assert api.get(f"{base}/instances/{sop}", headers={**link, "Accept": PARTS}).status_code == 200
    metadata = api.get(f"{base}/metadata", headers={**link, "Accept": DICOM_JSON})
    assert metadata.status_code == 200
    assert len(metadata.json()) == 1
    assert api.get(f"{base}/instances/{sop}/rendered", headers=link).status_code == 200
    assert api.get(f"/dicomweb/studies/{study}/metadata", headers={**link, "Accept": DICOM_JSON}).json() == (
        metadata.json()
    )  # the study, as far as the share goes
    for path in (f"/dicomweb/studies/{other}", f"/dicomweb/studies/{study}/series/{series[1]}"):
        for suffix, accept in (("", PARTS), ("/metadata", DICOM_JSON), ("/rendered", "image/jpeg")):
            response = api.get(path + suffix, headers={**link, "Accept": accept})
            assert response.status_code == 404, (path + suffix, response.status_code)


def test_the_same_uids_in_another_users_store_stay_out(api: TestClient) -> None:
    study, _ = upload_study(api, _me(api), series=1, per_series=1)
    _, link = _link(api, study_uid=study)
    [shared] = _search(api, "/instances", link)
    series, sop = shared[UID["series"]]["Value"][0], shared[UID["sop"]]["Value"][0]
    bob = bearer(add_user(api, "bob"))
    bobs = instance(study, series, sop, PatientName="Bob^Other")
    assert api.post("/upload/dicom", files={"file": ("f.dcm", bobs)}, headers=bob).status_code == 201
    assert len(_search(api, "/instances", link)) == 1
    metadata = api.get(f"/dicomweb/studies/{study}/metadata", headers={**link, "Accept": DICOM_JSON}).json()
    assert "Bob^Other" not in str(metadata)


def test_store_and_delete_are_refused(api: TestClient) -> None:
    study, _ = upload_study(api, _me(api), series=1, per_series=1)
    _, link = _link(api, study_uid=study)
    body = multipart([instance(study, "1.2.3.4", "1.2.3.4.5")])
    for path in ("/dicomweb/studies", f"/dicomweb/studies/{study}"):
        response = api.post(path, content=body, headers={**link, "Content-Type": STOW_TYPE, "Accept": DICOM_JSON})
        assert response.status_code == 403, response.text
    assert api.delete(f"/dicomweb/studies/{study}", headers=link).status_code == 403
    assert len(_search(api, "/instances", link)) == 1


def test_a_deidentified_share_is_searched_and_retrieved_as_its_copies(api: TestClient) -> None:
    study, _ = upload_study(api, _me(api), series=1, per_series=2)
    made, link = _link(api, study_uid=study, deidentify=True)
    job = wait_job(api, made["job"], _me(api))
    assert job["state"] == "done", job
    studies = _search(api, "/studies", link, includefield="00100010")
    assert values(studies, UID["study"]) == [job["result"]["study_uid"]]
    assert CT_NAME not in str(studies)
    metadata = api.get(f"/dicomweb/studies/{study}/metadata", headers={**link, "Accept": DICOM_JSON})
    assert metadata.status_code == 404  # the original study is not what the link opens
    copies = api.get(f"/dicomweb/studies/{job['result']['study_uid']}/metadata", headers={**link, "Accept": DICOM_JSON})
    assert copies.status_code == 200
    assert len(copies.json()) == 2
    assert CT_NAME not in copies.text
