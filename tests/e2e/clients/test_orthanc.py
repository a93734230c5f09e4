"""Orthanc's DICOMweb plugin as a client of the server: QIDO-RS, WADO-RS retrieve and STOW-RS through its REST API.

Orthanc signs in with HTTP Basic and a personal access token where the server issues them (POST
/users/me/tokens), else with the sign-in token in a header it sends on every request (DicomWeb HttpHeaders).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from pydicom import dcmread

from tests.e2e.clients.orthanc import Orthanc, OrthancDidNotStart, run_orthanc
from tests.e2e.clients.studies import Original, bearer_token, stow
from tests.e2e.clients.tools import need_program, orthanc_dicomweb_plugin
from tests.e2e.live import LiveServer

pytestmark = [pytest.mark.clients, pytest.mark.slow]

ORTHANC_SERIES = "1.10."  # the Debian package the tests were written against
STUDY_UID, SOP_UID = "0020000D", "00080018"


def relayed(item: dict[str, dict[str, object]], tag: str) -> object:
    """A value of an answer Orthanc relays from /qido: its own format, where "Value" is the value itself."""
    return item[tag]["Value"]


def credentials(server: LiveServer) -> dict[str, object]:
    """Orthanc's entry for our server: Basic with a personal access token if the server issues them."""
    with server.client() as client:
        answer = client.post("/users/me/tokens", json={"name": "orthanc", "scope": "write", "expires_in_days": 1})
    if answer.status_code in (200, 201):
        return {"Username": "admin", "Password": answer.json()["token"]}
    return {"HttpHeaders": {"Authorization": f"Bearer {bearer_token(server.headers)}"}}


@pytest.fixture(scope="module")
def orthanc(dicomweb_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    program = need_program(["Orthanc", "/usr/sbin/Orthanc"], "orthanc")
    plugin = orthanc_dicomweb_plugin()
    server = {"Url": f"{dicomweb_server.url}/dicomweb/", **credentials(dicomweb_server)}
    try:
        with run_orthanc(program, plugin, tmp_path_factory.mktemp("orthanc"), server) as running:
            yield running
    except OrthancDidNotStart as exc:
        pytest.fail(f"Orthanc did not start: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def seeded(dicomweb_server: LiveServer, instances: dict[str, Original]) -> list[Original]:
    """The CT and MR instances, stored in our server with a plain STOW-RS request."""
    chosen = [instances["ct"], instances["mr"]]
    with dicomweb_server.client() as client:
        answer = stow(client, [i.path for i in chosen])
    assert answer.status_code == 200, f"STOW-RS to the server: {answer.status_code} {answer.text[:300]}"
    return chosen


def test_orthanc_is_1_10_with_the_dicomweb_plugin(orthanc: Orthanc) -> None:
    with orthanc.client() as client:
        assert client.get("/system").json()["Version"].startswith(ORTHANC_SERIES)
        assert "dicom-web" in client.get("/plugins").json()
        assert client.get("/dicom-web/servers").json() == ["us"]


def test_qido_through_orthanc_finds_our_studies_and_series(orthanc: Orthanc, seeded: list[Original]) -> None:
    with orthanc.client() as client:
        answer = client.post("/dicom-web/servers/us/qido", json={"Uri": "/studies"})
        assert answer.status_code == 200, f"{answer.status_code} {answer.text[:300]}\n{orthanc.read_log()[-2000:]}"
        assert {relayed(study, STUDY_UID) for study in answer.json()} >= {i.study for i in seeded}
        ct = seeded[0]
        query = {"Uri": f"/studies/{ct.study}/instances", "Arguments": {"SOPInstanceUID": ct.sop}}
        answer = client.post("/dicom-web/servers/us/qido", json=query)
        assert answer.status_code == 200, f"{answer.status_code} {answer.text[:300]}"
        assert [relayed(found, SOP_UID) for found in answer.json()] == [ct.sop]


def test_orthanc_retrieves_a_study_from_us(orthanc: Orthanc, seeded: list[Original]) -> None:
    mr = seeded[1]
    with orthanc.client() as client:
        answer = client.post("/dicom-web/servers/us/retrieve", json={"Resources": [{"Study": mr.study}]})
        assert answer.status_code == 200, f"{answer.status_code} {answer.text[:300]}\n{orthanc.read_log()[-2000:]}"
        found = client.post("/tools/lookup", content=mr.sop).json()
        assert [item["Type"] for item in found] == ["Instance"], "Orthanc does not hold the retrieved instance"
        copy = dcmread(io.BytesIO(client.get(f"/instances/{found[0]['ID']}/file").content))
    assert copy.SOPInstanceUID == mr.sop
    assert np.array_equal(copy.pixel_array, mr.dataset.pixel_array)


def test_orthanc_stores_an_instance_in_us(
    orthanc: Orthanc, dicomweb_server: LiveServer, instances: dict[str, Original]
) -> None:
    multiframe = instances["multiframe"]
    with orthanc.client() as client:
        uploaded = client.post("/instances", content=Path(multiframe.path).read_bytes())
        assert uploaded.status_code == 200, uploaded.text
        answer = client.post("/dicom-web/servers/us/stow", json={"Resources": [uploaded.json()["ID"]]})
        assert answer.status_code == 200, f"{answer.status_code} {answer.text[:300]}\n{orthanc.read_log()[-2000:]}"
    with dicomweb_server.client() as ours:
        found = ours.get(
            f"/dicomweb/studies/{multiframe.study}/instances",
            headers={"Accept": "application/dicom+json"},
        )
    assert found.status_code == 200, f"{found.status_code} {found.text[:300]}"
    assert [item[SOP_UID]["Value"][0] for item in found.json()] == [multiframe.sop]


def test_a_dicomweb_request_without_credentials_is_refused(dicomweb_server: LiveServer) -> None:
    """What Orthanc would meet without its credentials: 401, not data (DICOMWEB.md section 1)."""
    answer = httpx.get(f"{dicomweb_server.url}/dicomweb/studies", headers={"Accept": "application/dicom+json"})
    assert answer.status_code == 401
