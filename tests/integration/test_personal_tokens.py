"""Personal access tokens through HTTP: made, used as Bearer or Basic, scoped, revoked, expired, audited.

On the pass's database (SQLite, and PostgreSQL in its pass).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from dicom_api.config import Settings
from dicom_api.db.models import AuditEvent, PersonalToken
from tests.helpers import ADMIN_PASSWORD, add_user, basic, login, personal_token, run_sql, sample

CT = sample("CT_small.dcm")
LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)


def settings_of(client: TestClient) -> Settings:
    settings: Settings = client.app.state.context.settings  # type: ignore[attr-defined]
    return settings


def session_of(client: TestClient) -> dict[str, str]:
    return {"Authorization": client.headers["Authorization"]}


def bearer(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['token']}"}


def upload(client: TestClient, headers: dict[str, str]) -> Any:
    return client.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes())}, headers=headers)


def assert_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_token_is_shown_once_and_stored_hashed(client: TestClient) -> None:
    response = client.post("/users/me/tokens", json={"name": "orthanc", "scope": "write", "expires_in_days": 30})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    made = response.json()
    assert set(made) == {"id", "name", "scope", "created_at", "expires_at", "last_used_at", "token"}
    assert made["token"].startswith("dapi_")
    assert len(made["token"]) == 48
    assert (made["name"], made["scope"], made["last_used_at"]) == ("orthanc", "write", None)
    lifetime = datetime.fromisoformat(made["expires_at"]) - datetime.fromisoformat(made["created_at"])
    assert lifetime.days == 30
    stored = run_sql(settings_of(client), select(PersonalToken.token_hash).where(PersonalToken.id == made["id"]))
    assert stored == [(hashlib.sha256(made["token"].encode()).hexdigest(),)]

    listed = client.get("/users/me/tokens").json()["items"]
    assert [t["id"] for t in listed] == [made["id"]]
    assert "token" not in listed[0]
    assert made["token"] not in str(listed)


def test_the_list_shows_the_last_use(client: TestClient) -> None:
    token = personal_token(client, session_of(client))
    assert client.get("/files", headers=bearer(token)).status_code == 200
    [listed] = client.get("/users/me/tokens").json()["items"]
    assert listed["last_used_at"] is not None


def test_a_token_works_as_bearer_and_as_basic_with_its_username(client: TestClient) -> None:
    token = personal_token(client, session_of(client), "write")
    for headers in (bearer(token), basic("alice", token["token"]), basic("ALICE", token["token"])):
        assert client.get("/users/me", headers=headers).json()["username"] == "alice"
        file_id = upload(client, headers).json()["file_id"]
        params = {"file_id": file_id, "tag_group": "0010", "tag_element": "0010"}
        assert client.get("/header_attribute", params=params, headers=headers).status_code == 200  # direct route
        assert client.get(f"/download/png/{file_id}", headers=headers).status_code == 200  # direct route
        assert client.get(f"/files/{file_id}/dicom", headers=headers).status_code == 200
        assert client.delete(f"/files/{file_id}", headers=headers).status_code == 204


def test_basic_refuses_a_password_another_username_and_garbage(client: TestClient) -> None:
    token = personal_token(client, session_of(client))
    add_user(client, "bob")
    refused = [
        basic("alice", "alice-password-123"),  # the account's real password: never accepted here
        basic("bob", token["token"]),  # someone else's name
        basic("nobody", token["token"]),
        basic("", token["token"]),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + "YWxpY2U="},  # no colon
    ]
    for headers in refused:
        assert_error(client.get("/files", headers=headers), 401)


def test_a_read_token_cannot_store_delete_or_administer(client: TestClient) -> None:
    file_id = upload(client, session_of(client)).json()["file_id"]
    token = personal_token(client, session_of(client), "read")
    for headers in (bearer(token), basic("alice", token["token"])):
        assert client.get(f"/files/{file_id}", headers=headers).status_code == 200
        assert_error(upload(client, headers), 403)
        assert_error(client.delete(f"/files/{file_id}", headers=headers), 403)
    assert client.get(f"/files/{file_id}").status_code == 200  # still there
    admin = {"Authorization": f"Bearer {login(client, 'admin', ADMIN_PASSWORD)}"}
    admin_read = bearer(personal_token(client, admin, "read"))
    assert_error(client.get("/users", headers=admin_read), 403)
    assert_error(client.post("/users", json={"username": "eve", "password": "e" * 12}, headers=admin_read), 403)
    admin_write = bearer(personal_token(client, admin, "write"))
    assert client.get("/users", headers=admin_write).status_code == 200


def test_a_token_cannot_make_tokens_or_change_the_password(client: TestClient) -> None:
    headers = bearer(personal_token(client, session_of(client), "write"))
    assert_error(client.post("/users/me/tokens", json={"name": "more", "scope": "write"}, headers=headers), 403)
    assert_error(client.get("/users/me/tokens", headers=headers), 403)
    body = {"current_password": "alice-password-123", "new_password": "n" * 16}
    assert_error(client.post("/users/me/password", json=body, headers=headers), 403)


def test_tampered_unknown_expired_and_revoked_tokens_are_401(client: TestClient) -> None:
    secret = personal_token(client, session_of(client))["token"]
    last = "A" if secret[-1] != "A" else "B"
    expired, revoked = personal_token(client, session_of(client)), personal_token(client, session_of(client))
    run_sql(
        settings_of(client), update(PersonalToken).where(PersonalToken.id == expired["id"]).values(expires_at=LONG_AGO)
    )
    assert client.delete(f"/users/me/tokens/{revoked['id']}").status_code == 204
    for value in (secret[:-1] + last, secret + "x", "dapi_", "dapi_" + "x" * 200, expired["token"], revoked["token"]):
        assert_error(client.get("/files", headers={"Authorization": f"Bearer {value}"}), 401)
        assert_error(client.get("/files", headers=basic("alice", value)), 401)
    assert client.get("/files", headers={"Authorization": f"Bearer {secret}"}).status_code == 200  # the control
    assert revoked["id"] not in [t["id"] for t in client.get("/users/me/tokens").json()["items"]]


def test_another_users_token_id_is_404_and_stays_valid(client: TestClient) -> None:
    bobs = personal_token(client, {"Authorization": f"Bearer {add_user(client, 'bob')}"})
    for token_id in (bobs["id"], "0" * 32, "not-an-id", "' OR 1=1 --"):
        assert_error(client.delete(f"/users/me/tokens/{token_id}"), 404)
    assert client.get("/users/me", headers=bearer(bobs)).json()["username"] == "bob"


def test_disabling_the_account_or_changing_its_password_revokes_its_tokens(client: TestClient) -> None:
    bob_session = {"Authorization": f"Bearer {add_user(client, 'bob')}"}
    bobs = personal_token(client, bob_session)
    admin = {"Authorization": f"Bearer {login(client, 'admin', ADMIN_PASSWORD)}"}
    bob_id = client.get("/users/me", headers=bearer(bobs)).json()["id"]
    assert client.patch(f"/users/{bob_id}", json={"is_active": False}, headers=admin).status_code == 200
    assert_error(client.get("/files", headers=bearer(bobs)), 401)
    assert client.patch(f"/users/{bob_id}", json={"is_active": True}, headers=admin).status_code == 200
    assert_error(client.get("/files", headers=bearer(bobs)), 401)  # enabling again does not bring it back

    alices = personal_token(client, session_of(client))
    body = {"current_password": "alice-password-123", "new_password": "alice-new-password-456"}
    assert client.post("/users/me/password", json=body).status_code == 204
    assert_error(client.get("/files", headers=bearer(alices)), 401)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scope": "admin"},
        {"name": "x", "scope": "read", "expires_in_days": 366},
        {"name": "x", "scope": "read", "expires_in_days": 0},
        {"name": "", "scope": "read"},
        {"name": "a\x00b", "scope": "read"},
        {"name": "x" * 65, "scope": "read"},
        {"scope": "read"},
    ],
)
def test_invalid_token_requests_are_400(client: TestClient, body: dict[str, Any]) -> None:
    assert_error(client.post("/users/me/tokens", json=body), 400)


def test_the_lifetime_defaults_to_90_days_and_is_capped_by_the_setting(client: TestClient) -> None:
    made = personal_token(client, session_of(client))
    lifetime = datetime.fromisoformat(made["expires_at"]) - datetime.fromisoformat(made["created_at"])
    assert lifetime.days == 90
    assert personal_token(client, session_of(client), expires_in_days=365)["id"]


def test_the_audit_trail_names_the_token(client: TestClient) -> None:
    token = personal_token(client, session_of(client), "write")
    file_id = upload(client, bearer(token)).json()["file_id"]
    assert client.get(f"/files/{file_id}", headers=basic("alice", token["token"])).status_code == 200
    assert client.get(f"/files/{file_id}").status_code == 200
    assert client.delete(f"/users/me/tokens/{token['id']}").status_code == 204
    assert_error(client.get(f"/files/{file_id}", headers=bearer(token)), 401)
    context = client.app.state.context  # type: ignore[attr-defined]
    context.audit.flush()
    rows = run_sql(settings_of(client), select(AuditEvent.action, AuditEvent.token_id).order_by(AuditEvent.seq))
    # Queued entries are written in batches, an upload's in its own transaction: the order may differ.
    assert sorted((r for r in rows if r[0] != "login"), key=str) == sorted(
        [
            ("upload", token["id"]),
            ("token_create", token["id"]),
            ("read_file", token["id"]),
            ("read_file", None),  # a session: no token named
            ("token_revoke", token["id"]),
            ("read_file", None),  # a revoked token is not known as one
        ],
        key=str,
    )
    assert context.audit.verify() == []
    admin = {"Authorization": f"Bearer {login(client, 'admin', ADMIN_PASSWORD)}"}
    items = client.get("/audit", params={"action": "upload"}, headers=admin).json()["items"]
    assert items[0]["token_id"] == token["id"]
