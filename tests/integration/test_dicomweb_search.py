"""QIDO-RS (PS3.18 10.6) through HTTP on SQLite and PostgreSQL: the six resources, paging and its Warning, invalid
queries as 400 {"error"}, counts right after STOW-RS and DELETE, owners kept apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dicom_api.config import Settings
from tests.helpers import add_user
from tests.integration.dicomweb import BOTH, DICOM_JSON, UID, instance, on_both_databases, stow, values

A, B = "1.2.826.0.2.1", "1.2.826.0.2.2"
A1, A2, B1 = "1.2.826.0.2.1.1", "1.2.826.0.2.1.2", "1.2.826.0.2.2.1"
SOPS = {
    "a1.1": "1.2.826.0.2.1.1.1",
    "a1.2": "1.2.826.0.2.1.1.2",
    "a2.1": "1.2.826.0.2.1.2.1",
    "b1.1": "1.2.826.0.2.2.1.1",
}
JSON = {"Accept": DICOM_JSON}


@pytest.fixture(params=BOTH)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return on_both_databases(request, tmp_path)


@pytest.fixture
def stored(client: TestClient) -> None:
    parts = [
        instance(A, A1, SOPS["a1.1"], PatientName="Doe^Jane", StudyDate="20200105"),
        instance(A, A1, SOPS["a1.2"], PatientName="Doe^Jane", StudyDate="20200105", InstanceNumber=2),
        instance(A, A2, SOPS["a2.1"], "MR_small.dcm", PatientName="Doe^Jane", StudyDate="20200105"),
        instance(B, B1, SOPS["b1.1"], PatientName="Smith^John", StudyDate="20210310"),
    ]
    assert stow(client, parts).status_code == 200


def search(client: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    answer = client.get(f"/dicomweb{path}", params=params, headers=JSON)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == DICOM_JSON
    return list(answer.json())


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize(
    ("path", "tag", "expected"),
    [
        ("/studies", "study", [A, B]),
        ("/series", "series", [A1, A2, B1]),
        ("/instances", "sop", sorted(SOPS.values())),
        (f"/studies/{A}/series", "series", [A1, A2]),
        (f"/studies/{A}/instances", "sop", [SOPS["a1.1"], SOPS["a1.2"], SOPS["a2.1"]]),
        (f"/studies/{A}/series/{A1}/instances", "sop", [SOPS["a1.1"], SOPS["a1.2"]]),
    ],
)
def test_the_six_resources(client: TestClient, path: str, tag: str, expected: list[str]) -> None:
    assert sorted(values(search(client, path), UID[tag])) == sorted(expected)


@pytest.mark.usefixtures("stored")
def test_matching_counts_and_retrieve_url(client: TestClient) -> None:
    [study] = search(client, "/studies", PatientName="*doe*")
    assert study[UID["study"]]["Value"] == [A]
    assert study["00201208"]["Value"] == [3]  # Number of Study Related Instances
    assert study["00201206"]["Value"] == [2]
    assert study["00081190"]["Value"][0].endswith(f"/dicomweb/studies/{A}")
    assert study["00081190"]["Value"][0].startswith("http://")
    assert values(search(client, "/studies", StudyDate="20210101-"), UID["study"]) == [B]
    assert search(client, "/studies", StudyInstanceUID="1.2.3.999") == []


@pytest.mark.usefixtures("stored")
def test_paging_tells_what_remains(client: TestClient) -> None:
    answer = client.get("/dicomweb/instances", params={"limit": 1, "offset": 1}, headers=JSON)
    assert len(answer.json()) == 1
    warning = answer.headers["warning"]
    assert warning.startswith("299 ")  # then the agent: the service's host and port
    assert warning.endswith(": There are 2 additional results that can be requested")
    fuzzy = client.get("/dicomweb/studies", params={"fuzzymatching": "true"}, headers=JSON)
    assert "fuzzymatching parameter is not supported" in fuzzy.headers["warning"]


@pytest.mark.usefixtures("stored")
def test_counts_follow_stow_and_delete(client: TestClient) -> None:
    assert client.delete(f"/dicomweb/studies/{A}/series/{A2}").status_code == 204
    [study] = search(client, "/studies", StudyInstanceUID=A)
    assert study["00201208"]["Value"] == [2]
    assert study["00080061"]["Value"] == ["CT"]  # Modalities in Study: the MR series is gone
    assert stow(client, [instance(A, A2, SOPS["a2.1"], "MR_small.dcm")]).status_code == 200
    [study] = search(client, "/studies", StudyInstanceUID=A)
    assert study["00201208"]["Value"] == [3]


@pytest.mark.parametrize(
    "params",
    [{"NoSuchKeyword": "1"}, {"limit": "many"}, {"offset": "-1"}, {"StudyDate": "yesterday"}, {"fuzzymatching": "x"}],
)
def test_invalid_queries_are_400(client: TestClient, params: dict[str, str]) -> None:
    answer = client.get("/dicomweb/studies", params=params, headers=JSON)
    assert answer.status_code == 400
    assert set(answer.json()) == {"error"}


def test_other_answers(client: TestClient) -> None:
    assert client.get("/dicomweb/studies", headers={"Accept": "image/png"}).status_code == 406
    assert client.get("/dicomweb/studies").status_code == 200  # no Accept: curl's and Orthanc's QIDO
    assert client.get("/dicomweb/studies/x.y/series").status_code == 400  # not a UID
    assert TestClient(client.app).get("/dicomweb/studies").status_code == 401


@pytest.mark.usefixtures("stored")
def test_another_owner_sees_nothing_of_ours(client: TestClient) -> None:
    bob = {"Authorization": f"Bearer {add_user(client, 'bob')}", **JSON}
    assert client.get("/dicomweb/studies", headers=bob).json() == []
    assert client.get(f"/dicomweb/studies/{A}/instances", headers=bob).json() == []
    assert client.delete(f"/dicomweb/studies/{A}", headers=bob).status_code == 404
    assert len(search(client, "/instances")) == 4
