"""What the web page relies on, through HTTP on SQLite and PostgreSQL: /ui/ served from the package (and / sent
there), its features, and GET /files narrowed to a study or series (a DICOMweb instance's file id), owner-scoped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers import add_user, make_client
from tests.integration.dicomweb import BOTH, instance, on_both_databases

STUDY, OTHER_STUDY = "1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2"
SERIES, OTHER_SERIES = "1.2.826.0.1.3680043.8.498.1.1", "1.2.826.0.1.3680043.8.498.1.2"


@pytest.fixture(params=BOTH)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    yield from make_client(on_both_databases(request, tmp_path))


def _store(client: TestClient, study: str, series: str, sop: str, headers: dict[str, str] | None = None) -> str:
    response = client.post("/upload/dicom", files={"file": ("f.dcm", instance(study, series, sop))}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["file_id"])


def test_the_page_is_served_from_the_package_and_the_root_sends_there(client: TestClient) -> None:
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307
    assert root.headers["location"] == "/ui/"
    page = client.get("/ui/")
    assert page.status_code == 200
    assert '<script type="module" src="js/app.js">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]  # no CDN, no inline script
    assert client.get("/ui/js/viewer.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/ui/features.json").json() == {
        "ohif": False,
        "share": "/shares" in client.get("/openapi.json").json()["paths"],
    }
    assert client.get("/ohif/index.html").status_code == 404  # not installed


def test_files_of_a_study_or_series_are_the_callers_alone(client: TestClient) -> None:
    mine = [_store(client, STUDY, SERIES, f"{STUDY}.1.{n}") for n in range(3)]
    other_series = _store(client, STUDY, OTHER_SERIES, f"{STUDY}.2.1")
    _store(client, OTHER_STUDY, SERIES + ".9", f"{OTHER_STUDY}.1")
    bob = {"Authorization": f"Bearer {add_user(client, 'bob')}"}
    _store(client, STUDY, SERIES, f"{STUDY}.1.0", headers=bob)  # the same UIDs in another user's store

    series = client.get("/files", params={"study_instance_uid": STUDY, "series_instance_uid": SERIES}).json()
    assert sorted(item["file_id"] for item in series["items"]) == sorted(mine)
    assert series["total"] == 3
    study = client.get("/files", params={"study_instance_uid": STUDY, "limit": 2}).json()
    assert study["total"] == 4
    assert len(study["items"]) == 2
    assert other_series in {
        i["file_id"] for i in client.get("/files", params={"study_instance_uid": STUDY}).json()["items"]
    }
    assert client.get("/files", params={"study_instance_uid": STUDY}, headers=bob).json()["total"] == 1


@pytest.mark.parametrize(
    "params",
    [{"series_instance_uid": SERIES}, {"study_instance_uid": "1.2.x"}, {"study_instance_uid": "1" * 65}],
)
def test_a_bad_filter_is_a_400(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/files", params=params)
    assert response.status_code == 400
    assert "error" in response.json()
