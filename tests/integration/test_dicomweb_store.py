"""STOW-RS (PS3.18 10.5) and DICOMweb DELETE through HTTP on SQLite and PostgreSQL: the framings real clients send,
the answer's sequences and status, duplicates, study mismatches, limits, owners kept apart, the audit trail."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - parsing our own answer
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from dicom_api.config import Settings
from tests.helpers import ADMIN_PASSWORD, add_user, login, make_client
from tests.integration.dicomweb import (
    BOTH,
    BOUNDARY,
    DICOM_JSON,
    blobs,
    chunked,
    instance,
    multipart,
    on_both_databases,
    sequence,
    spooled,
    stow,
    values,
)

A, B = "1.2.826.0.1.1", "1.2.826.0.1.2"
A1, B1 = "1.2.826.0.1.1.1", "1.2.826.0.1.2.1"
FIRST, SECOND, THIRD = "1.2.826.0.1.1.1.1", "1.2.826.0.1.1.1.2", "1.2.826.0.1.2.1.1"
CT_CLASS = "1.2.840.10008.5.1.4.1.1.2"
STORED, FAILED, REASON, URL = "00081199", "00081198", "00081197", "00081190"


@pytest.fixture(params=BOTH)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return on_both_databases(request, tmp_path, max_upload_bytes=200_000, max_stow_bytes=300_000)


@pytest.fixture
def ct() -> dict[str, bytes]:
    return {
        "first": instance(A, A1, FIRST),
        "second": instance(A, A1, SECOND, InstanceNumber=2),
        "third": instance(B, B1, THIRD),
    }


def files_total(client: TestClient) -> int:
    return int(client.get("/files").json()["total"])


def test_stored_instances_answer_their_retrieve_urls(client: TestClient, ct: dict[str, bytes]) -> None:
    answer = stow(client, list(ct.values()))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == DICOM_JSON
    body = answer.json()
    stored = sequence(body, STORED)
    assert values(stored, "00081155") == [FIRST, SECOND, THIRD]
    assert values(stored, "00081150") == [CT_CLASS] * 3
    url = values(stored, URL)[0]
    assert url.startswith("http://")
    assert url.endswith(f"/dicomweb/studies/{A}/series/{A1}/instances/{FIRST}")
    assert FAILED not in body
    assert URL not in body  # two studies: no one study URL
    assert files_total(client) == 3
    assert "dicom_api_uploads_total 3.0" in client.get("/metrics").text  # each instance stored is counted


@pytest.mark.parametrize(
    ("content_type", "framing"),
    [
        (f"multipart/related; type=application/dicom; boundary={BOUNDARY}", {"lead": b"\r\n"}),  # unquoted, CRLF
        (f'multipart/related; type="application/dicom"; boundary="{BOUNDARY}"', {"lengths": True}),  # Orthanc
        (f"multipart/related; boundary={BOUNDARY}", {"lead": b"a preamble\r\n", "part_type": None}),
    ],
)
def test_framings_real_clients_send(
    client: TestClient, ct: dict[str, bytes], content_type: str, framing: dict[str, object]
) -> None:
    answer = stow(client, [ct["first"]], content_type=content_type, **framing)
    assert answer.status_code == 200, answer.text
    assert answer.json()[URL]["Value"][0].endswith(f"/dicomweb/studies/{A}")


def test_chunked_body_and_single_part(client: TestClient, ct: dict[str, bytes]) -> None:
    body = multipart([ct["first"], ct["second"]])
    headers = {"Content-Type": f"multipart/related; type=application/dicom; boundary={BOUNDARY}"}
    answer = client.post("/dicomweb/studies", content=chunked(body), headers=headers)
    assert answer.status_code == 200, answer.text
    assert len(sequence(answer.json(), STORED)) == 2
    single = client.post(f"/dicomweb/studies/{B}", content=ct["third"], headers={"Content-Type": "application/dicom"})
    assert single.status_code == 200, single.text
    assert values(sequence(single.json(), STORED), "00081155") == [THIRD]


def test_xml_answer_when_asked(client: TestClient, ct: dict[str, bytes]) -> None:
    answer = stow(client, [ct["first"]], accept="application/dicom+xml")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/dicom+xml"
    root = ET.fromstring(answer.content)  # noqa: S314 - our own answer
    ns = "{http://dicom.nema.org/PS3.19/models/NativeDICOM}"
    tags = [a.get("tag") for a in root.findall(f"{ns}DicomAttribute")]
    assert STORED in tags


def test_study_mismatch_fails_that_instance_only(client: TestClient, ct: dict[str, bytes]) -> None:
    answer = stow(client, [ct["first"], ct["third"]], study=A)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert values(sequence(body, STORED), "00081155") == [FIRST]
    [failed] = sequence(body, FAILED)
    assert failed["00081155"]["Value"] == [THIRD]
    assert failed[REASON] == {"vr": "US", "Value": [0xA901]}
    assert body[URL]["Value"][0].endswith(f"/studies/{A}")
    alone = stow(client, [ct["third"]], study=A)
    assert alone.status_code == 409
    assert sequence(alone.json(), STORED) == []
    assert files_total(client) == 1


def test_corrupt_part_fails_with_cannot_understand(
    client: TestClient, settings: Settings, ct: dict[str, bytes]
) -> None:
    answer = stow(client, [b"not a DICOM file at all" * 10])
    assert answer.status_code == 400, answer.text
    assert sequence(answer.json(), FAILED)[0][REASON]["Value"] == [0xC000]
    mixed = stow(client, [ct["first"], b"\x00" * 300])
    assert mixed.status_code == 202
    assert len(blobs(settings)) == 1
    assert spooled(settings) == []


def test_identical_bytes_again_store_no_second_copy(
    client: TestClient, settings: Settings, ct: dict[str, bytes]
) -> None:
    assert stow(client, [ct["first"]]).status_code == 200
    again = stow(client, [ct["first"]])
    assert again.status_code == 200
    assert values(sequence(again.json(), STORED), "00081155") == [FIRST]
    assert files_total(client) == 1
    assert len(blobs(settings)) == 1


def test_other_bytes_under_a_stored_uid_are_rejected(client: TestClient, ct: dict[str, bytes]) -> None:
    assert stow(client, [ct["first"]]).status_code == 200
    changed = instance(A, A1, FIRST, InstanceNumber=7)
    answer = stow(client, [changed])
    assert answer.status_code == 409
    assert sequence(answer.json(), FAILED)[0][REASON]["Value"] == [0xB00E]
    assert files_total(client) == 1


@pytest.fixture
def replacing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    request.param = "sqlite"  # what the setting changes does not depend on the database
    yield from make_client(on_both_databases(request, tmp_path, stow_duplicates="replace"))


def test_replace_setting_keeps_the_new_bytes_only(replacing: TestClient, ct: dict[str, bytes]) -> None:
    first = stow(replacing, [ct["first"]])
    old = replacing.get("/files").json()["items"][0]["file_id"]
    changed = instance(A, A1, FIRST, InstanceNumber=7)
    answer = stow(replacing, [changed])
    assert first.status_code == answer.status_code == 200
    items = replacing.get("/files").json()["items"]
    assert len(items) == 1
    assert items[0]["file_id"] != old
    assert replacing.get(f"/files/{old}").status_code == 404
    assert replacing.get(f"/files/{items[0]['file_id']}/dicom").content == changed


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        f'multipart/related; type="application/dicom+json"; boundary={BOUNDARY}',
        f"multipart/form-data; boundary={BOUNDARY}",
    ],
)
def test_unsupported_media_types_are_415(client: TestClient, ct: dict[str, bytes], content_type: str) -> None:
    answer = stow(client, [ct["first"]], content_type=content_type)
    assert answer.status_code == 415
    assert "error" in answer.json()


def test_a_part_of_another_type_stores_nothing(client: TestClient, settings: Settings, ct: dict[str, bytes]) -> None:
    body = multipart([ct["first"]]).replace(f"--{BOUNDARY}--\r\n".encode(), b"")
    body += multipart([b"{}"], part_type="application/json")
    answer = client.post(
        "/dicomweb/studies", content=body, headers={"Content-Type": f"multipart/related; boundary={BOUNDARY}"}
    )
    assert answer.status_code == 415
    assert files_total(client) == 0
    assert spooled(settings) == []
    assert blobs(settings) == []


@pytest.mark.parametrize(
    "body",
    [
        multipart([b"x"]).removesuffix(f"--{BOUNDARY}--\r\n".encode()),  # no close delimiter
        b"no boundary anywhere",
        f"--{BOUNDARY}--\r\n".encode(),  # no part
    ],
)
def test_malformed_bodies_are_400(client: TestClient, settings: Settings, body: bytes) -> None:
    answer = client.post(
        "/dicomweb/studies", content=body, headers={"Content-Type": f"multipart/related; boundary={BOUNDARY}"}
    )
    assert answer.status_code == 400
    assert set(answer.json()) == {"error"}
    assert spooled(settings) == []


def test_size_limits_refuse_the_request_and_leave_nothing(
    client: TestClient, settings: Settings, ct: dict[str, bytes]
) -> None:
    huge = ct["first"] + b"\x00" * 200_000  # over max_upload_bytes
    answer = stow(client, [ct["second"], huge])
    assert answer.status_code == 413
    too_many = stow(client, [ct["first"]] * 8)  # each part within the limit, the body over max_stow_bytes
    assert too_many.status_code == 413
    assert files_total(client) == 0
    assert spooled(settings) == []
    assert blobs(settings) == []


def test_owners_keep_their_own_copies(client: TestClient, ct: dict[str, bytes]) -> None:
    bob = {"Authorization": f"Bearer {add_user(client, 'bob')}"}
    assert stow(client, [ct["first"]]).status_code == 200
    bobs = client.post(
        f"/dicomweb/studies/{A}", content=ct["first"], headers={"Content-Type": "application/dicom", **bob}
    )
    assert bobs.status_code == 200  # the same SOP Instance UID in another's store: no duplicate
    assert client.delete(f"/dicomweb/studies/{A}", headers=bob).status_code == 204
    assert client.delete(f"/dicomweb/studies/{A}", headers=bob).status_code == 404
    assert files_total(client) == 1


def test_delete_study_series_instance(client: TestClient, settings: Settings, ct: dict[str, bytes]) -> None:
    assert stow(client, list(ct.values())).status_code == 200
    path = f"/dicomweb/studies/{A}/series/{A1}/instances/{FIRST}"
    assert client.delete(path).status_code == 204
    assert client.delete(path).status_code == 404
    assert client.delete(f"/dicomweb/studies/{B}/series/{A1}").status_code == 404  # series of another study
    assert client.delete(f"/dicomweb/studies/{A}/series/{A1}").status_code == 204
    assert client.delete(f"/dicomweb/studies/{B}").status_code == 204
    assert client.delete(f"/dicomweb/studies/{B}").status_code == 404
    assert files_total(client) == 0
    assert blobs(settings) == []
    assert client.delete("/dicomweb/studies/not-a-uid").status_code == 400


def test_store_and_delete_are_audited_per_file(client: TestClient, ct: dict[str, bytes]) -> None:
    assert stow(client, [ct["first"], ct["second"]]).status_code == 200
    assert client.delete(f"/dicomweb/studies/{A}").status_code == 204
    client.app.state.context.audit.flush()  # type: ignore[attr-defined]
    admin = {"Authorization": f"Bearer {login(client, 'admin', ADMIN_PASSWORD)}"}
    trail = client.get("/audit", params={"limit": 1000}, headers=admin).json()["items"]
    stores = [e for e in trail if e["action"] == "store"]
    deletes = [e for e in trail if e["action"] == "delete"]
    assert len(stores) == len(deletes) == 2
    assert {e["file_id"] for e in stores} == {e["file_id"] for e in deletes}
    assert all(e["outcome"] == "success" and e["file_id"] for e in stores + deletes)


def test_without_a_token_401(client: TestClient, ct: dict[str, bytes]) -> None:
    anonymous = TestClient(client.app)
    answer = anonymous.post("/dicomweb/studies", content=ct["first"], headers={"Content-Type": "application/dicom"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer, Basic realm="dicomweb"'
    assert anonymous.delete(f"/dicomweb/studies/{A}").status_code == 401


def personal_token(client: TestClient, scope: str) -> str:
    answer = client.post("/users/me/tokens", json={"name": f"a {scope} tool", "scope": scope, "expires_in_days": 1})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def test_personal_tokens_store_with_write_scope_only(client: TestClient, ct: dict[str, bytes]) -> None:
    dicom = {"Content-Type": "application/dicom"}
    reader = httpx.BasicAuth("alice", personal_token(client, "read"))
    writer = httpx.BasicAuth("alice", personal_token(client, "write"))
    anonymous = TestClient(client.app)
    assert anonymous.post("/dicomweb/studies", content=ct["first"], headers=dicom, auth=reader).status_code == 403
    assert anonymous.post("/dicomweb/studies", content=ct["first"], headers=dicom, auth=writer).status_code == 200
    assert anonymous.get("/dicomweb/studies", auth=reader).status_code == 200
    assert anonymous.delete(f"/dicomweb/studies/{A}", auth=reader).status_code == 403
    assert anonymous.delete(f"/dicomweb/studies/{A}", auth=writer).status_code == 204
