"""POST /files/lookup (which files a caller has, by checksum) and the admin API of remote AEs."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from tests.helpers import ADMIN_PASSWORD, add_user, login, sample

CT = sample("CT_small.dcm")
MR = sample("MR_small.dcm")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_lookup_answers_the_callers_own_checksums_only(client: TestClient) -> None:
    ann, ben = add_user(client, "ann"), add_user(client, "ben")
    ct, mr = CT.read_bytes(), MR.read_bytes()
    stored = client.post("/upload/dicom", files={"file": ("ct.dcm", ct)}, headers=_bearer(ann))
    assert stored.status_code == 201, stored.text
    asked = [_sha(mr), _sha(ct), _sha(ct), "0" * 64]

    mine = client.post("/files/lookup", json={"sha256": asked}, headers=_bearer(ann))
    theirs = client.post("/files/lookup", json={"sha256": asked}, headers=_bearer(ben))

    assert mine.status_code == 200, mine.text
    assert mine.json() == {"stored": [_sha(ct)]}
    assert theirs.json() == {"stored": []}  # another user's file does not exist for ben


@pytest.mark.parametrize(
    "body",
    [
        {"sha256": ["0" * 64] * 1001},  # over the batch bound
        {"sha256": ["ABC"]},  # not a checksum
        {"sha256": ["A" * 64]},  # upper case: checksums are compared as the server writes them
        {},
    ],
)
def test_lookup_refuses_what_is_not_a_bounded_list_of_checksums(client: TestClient, body: object) -> None:
    token = login(client, "admin", ADMIN_PASSWORD)
    response = client.post("/files/lookup", json=body, headers=_bearer(token))
    assert response.status_code == 400
    assert "error" in response.json()


def test_lookup_needs_a_token(client: TestClient) -> None:
    response = client.post("/files/lookup", json={"sha256": []}, headers={"Authorization": ""})
    assert response.status_code == 401


def test_admin_registers_lists_and_removes_remote_aes(client: TestClient) -> None:
    add_user(client, "ct-reader")
    admin = _bearer(login(client, "admin", ADMIN_PASSWORD))

    added = client.post(
        "/admin/aes", json={"ae_title": " CT_1 ", "username": "ct-reader", "host": "10.0.0.7"}, headers=admin
    )
    assert added.status_code == 201, added.text
    assert added.json()["ae_title"] == "CT_1"  # leading and trailing spaces are not significant (PS3.5)
    again = client.post("/admin/aes", json={"ae_title": "CT_1", "username": "ct-reader"}, headers=admin)
    assert again.status_code == 409

    listed = client.get("/admin/aes", headers=admin).json()["items"]
    assert [(a["ae_title"], a["username"], a["host"]) for a in listed] == [("CT_1", "ct-reader", "10.0.0.7")]

    assert client.delete("/admin/aes/CT_1", headers=admin).status_code == 204
    assert client.delete("/admin/aes/CT_1", headers=admin).status_code == 404
    assert client.get("/admin/aes", headers=admin).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"ae_title": "CT", "username": "nobody"}, 404),
        ({"ae_title": "CT", "username": "nul\u0000"}, 404),  # never reaches PostgreSQL, which refuses NUL
        ({"ae_title": "BACK\\SLASH", "username": "admin"}, 400),
        ({"ae_title": "SEVENTEEN_CHARS_X", "username": "admin"}, 400),
        ({"ae_title": "   ", "username": "admin"}, 400),
        ({"ae_title": "CT", "username": "admin", "host": "a b"}, 400),
    ],
)
def test_remote_ae_refused(client: TestClient, body: dict[str, str], status: int) -> None:
    admin = _bearer(login(client, "admin", ADMIN_PASSWORD))
    response = client.post("/admin/aes", json=body, headers=admin)
    assert response.status_code == status, response.text
    assert "error" in response.json()


def test_remote_aes_are_for_admins_only(client: TestClient) -> None:
    user = _bearer(add_user(client, "carol"))
    assert client.get("/admin/aes", headers=user).status_code == 403
    assert client.post("/admin/aes", json={"ae_title": "X", "username": "carol"}, headers=user).status_code == 403
    assert client.delete("/admin/aes/X", headers=user).status_code == 403
