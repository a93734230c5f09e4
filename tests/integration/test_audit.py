"""The audit trail: every access to patient data, denied attempts and sign-ins, recorded and chained.

Who, what, which file, when, from where, with what outcome; readable by admins only, through filters and
pages; impossible to change through the API; `AuditLog.verify` and `dicom-api audit verify` notice any entry
edited or removed directly in the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, delete, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from dicom_api import cli
from dicom_api.config import Settings
from dicom_api.db.models import AuditEvent
from dicom_api.services.audit import GENESIS, AuditEntry, AuditLog
from dicom_api.services.context import AppContext
from tests.helpers import ADMIN_PASSWORD, JWT_SECRET, add_user, login, make_client, sample, settings_for
from tests.worlds import BACKENDS, backend_settings, bearer

CT = sample("CT_small.dcm")
CT_PATIENT_NAME = "CompressedSamples^CT1"


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return bearer(login(client, "admin", ADMIN_PASSWORD))


def trail(client: TestClient, admin: dict[str, str], **filters: Any) -> dict[str, Any]:
    response = client.get("/audit", params=filters, headers=admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


def entries(client: TestClient, admin: dict[str, str], **filters: Any) -> list[dict[str, Any]]:
    return list(trail(client, admin, limit=1000, **filters)["items"])


def recorded(client: TestClient, admin: dict[str, str], response: Any) -> dict[str, Any]:
    """The one audit entry of the request that got ``response`` (matched by its X-Request-ID)."""
    request_id = response.headers["x-request-id"]
    found = [e for e in entries(client, admin) if e["request_id"] == request_id]
    assert len(found) == 1, (request_id, found)
    return found[0]


def test_every_access_to_patient_data_is_recorded(client: TestClient, admin: dict[str, str]) -> None:
    alice = client.get("/users/me").json()
    started = datetime.now().astimezone()
    upload = client.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes())})
    file_id = upload.json()["file_id"]
    tag = {"file_id": file_id, "tag_group": "0010", "tag_element": "0010"}
    calls = [
        ("upload", 201, file_id, upload),
        ("download_png", 200, file_id, client.get(f"/download/png/{file_id}")),
        ("read_attribute", 200, file_id, client.get("/header_attribute", params=tag)),
        ("list", 200, None, client.get("/files")),
        ("read_file", 200, file_id, client.get(f"/files/{file_id}")),
        ("download_original", 200, file_id, client.get(f"/files/{file_id}/dicom")),
        ("read_attributes", 200, file_id, client.get(f"/files/{file_id}/attributes")),
        ("delete", 204, file_id, client.delete(f"/files/{file_id}")),
    ]
    finished = datetime.now().astimezone()
    for action, status, recorded_file, response in calls:
        assert response.status_code == status, (action, response.text)
        entry = recorded(client, admin, response)
        assert (entry["action"], entry["outcome"], entry["status"]) == (action, "success", status)
        assert (entry["user_id"], entry["username"]) == (alice["id"], "alice")
        assert entry["file_id"] == recorded_file
        assert entry["client"] == "testclient"
        assert started <= datetime.fromisoformat(entry["at"]) <= finished
    # the trail names files by id and never carries patient data
    assert CT_PATIENT_NAME not in client.get("/audit", params={"limit": 1000}, headers=admin).text


def test_denied_and_missing_accesses_are_recorded(client: TestClient, admin: dict[str, str]) -> None:
    file_id = client.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes())}).json()["file_id"]
    bob = bearer(add_user(client, "bob"))
    bob_id = client.get("/users/me", headers=bob).json()["id"]
    unknown = uuid.uuid4().hex

    for path, action in (
        (f"/files/{file_id}/dicom", "download_original"),
        (f"/download/png/{file_id}", "download_png"),
    ):
        entry = recorded(client, admin, client.get(path, headers=bob))  # another user's file
        assert (entry["action"], entry["outcome"], entry["status"]) == (action, "not_found", 404)
        assert (entry["user_id"], entry["username"], entry["file_id"]) == (bob_id, "bob", file_id)
    entry = recorded(client, admin, client.delete(f"/files/{unknown}", headers=bob))
    assert (entry["action"], entry["outcome"], entry["file_id"]) == ("delete", "not_found", unknown)

    anonymous = TestClient(client.app)
    for headers in ({}, {"Authorization": "Bearer forged.token.here"}):
        entry = recorded(client, admin, anonymous.get(f"/files/{file_id}", headers=headers))
        assert (entry["action"], entry["outcome"], entry["status"]) == ("read_file", "denied", 401)
        assert (entry["user_id"], entry["username"], entry["file_id"]) == (None, None, file_id)
    params = {"file_id": file_id, "tag_group": "0010", "tag_element": "0010"}
    entry = recorded(client, admin, anonymous.get("/header_attribute", params=params))
    assert (entry["action"], entry["outcome"], entry["file_id"]) == ("read_attribute", "denied", file_id)
    entry = recorded(client, admin, anonymous.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes())}))
    assert (entry["action"], entry["outcome"], entry["file_id"]) == ("upload", "denied", None)
    # a hostile id is recorded as no file at all, never copied into the trail
    entry = recorded(client, admin, client.get("/files/x' OR 1=1 --", headers=bob))
    assert (entry["action"], entry["outcome"], entry["file_id"]) == ("read_file", "not_found", None)


@pytest.fixture
def strict_client(tmp_path: Path) -> Iterator[TestClient]:
    """alice, with a throttle that gives up after two failures."""
    yield from make_client(settings_for(tmp_path / "data", login_max_failures_per_user=2))


def sign_in_entry(client: TestClient, admin: dict[str, str], username: str, password: str) -> dict[str, Any]:
    response = client.post("/auth/token", data={"username": username, "password": password})
    entry = recorded(client, admin, response)
    assert (entry["action"], entry["status"], entry["client"]) == ("login", response.status_code, "testclient")
    return entry


def test_sign_ins_are_recorded_failed_ones_too(strict_client: TestClient) -> None:
    client = strict_client
    admin = bearer(login(client, "admin", ADMIN_PASSWORD))
    alice_id = client.get("/users/me").json()["id"]
    before = len(entries(client, admin, action="login"))

    ok = sign_in_entry(client, admin, "alice", "alice-password-123")
    assert (ok["outcome"], ok["user_id"], ok["username"]) == ("success", alice_id, "alice")
    wrong = sign_in_entry(client, admin, "alice", "wrong-password-1")
    assert (wrong["outcome"], wrong["user_id"], wrong["username"]) == ("denied", None, "alice")
    unknown = sign_in_entry(client, admin, "mallory", "wrong-password-1")
    assert (unknown["outcome"], unknown["user_id"], unknown["username"]) == ("denied", None, "mallory")
    assert sign_in_entry(client, admin, "m" * 100, "wrong-password-1")["username"] == "m" * 64
    sign_in_entry(client, admin, "alice", "wrong-password-2")
    throttled = sign_in_entry(client, admin, "alice", "alice-password-123")
    assert (throttled["outcome"], throttled["status"], throttled["username"]) == ("throttled", 429, "alice")
    assert len(entries(client, admin, action="login")) == before + 6


def test_password_never_reaches_the_trail(client: TestClient, admin: dict[str, str]) -> None:
    client.post("/auth/token", data={"username": "alice", "password": "typed-the-wrong-one"})
    client.post("/auth/token", data={"username": "alice", "password": "alice-password-123"})
    text = client.get("/audit", params={"limit": 1000}, headers=admin).text
    assert "typed-the-wrong-one" not in text
    assert "alice-password-123" not in text


@pytest.fixture
def busy_trail(client: TestClient, admin: dict[str, str]) -> dict[str, Any]:
    """alice and bob each upload and read; returns their ids and files."""
    bob = bearer(add_user(client, "bob"))
    ids = {"alice": client.get("/users/me").json()["id"], "bob": client.get("/users/me", headers=bob).json()["id"]}
    files = {}
    for name, headers in (("alice", {}), ("bob", bob)):
        response = client.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes())}, headers=headers)
        files[name] = response.json()["file_id"]
        for _ in range(3):
            client.get(f"/files/{files[name]}", headers=headers)
        client.get("/files", headers=headers)
    return {"ids": ids, "files": files, "bob": bob}


def test_audit_filters(client: TestClient, admin: dict[str, str], busy_trail: dict[str, Any]) -> None:
    ids, files = busy_trail["ids"], busy_trail["files"]
    everything = entries(client, admin)
    assert [e["seq"] for e in everything] == sorted((e["seq"] for e in everything), reverse=True)  # newest first

    by_bob = entries(client, admin, user_id=ids["bob"])
    assert by_bob
    assert {e["user_id"] for e in by_bob} == {ids["bob"]}
    assert len(by_bob) == len([e for e in everything if e["user_id"] == ids["bob"]])

    on_alices_file = entries(client, admin, file_id=files["alice"])
    assert [e["action"] for e in on_alices_file] == ["read_file"] * 3 + ["upload"]
    reads = entries(client, admin, action="read_file")
    assert len(reads) == 6
    assert {e["file_id"] for e in reads} == set(files.values())
    combined = entries(client, admin, action="read_file", user_id=ids["alice"], file_id=files["alice"])
    assert len(combined) == 3
    assert entries(client, admin, action="no-such-action") == []
    assert entries(client, admin, user_id=uuid.uuid4().hex) == []


def test_audit_time_window(client: TestClient, admin: dict[str, str], busy_trail: dict[str, Any]) -> None:
    everything = entries(client, admin)
    middle = everything[len(everything) // 2]
    at = datetime.fromisoformat(middle["at"])
    since = entries(client, admin, since=at.isoformat())
    until = entries(client, admin, until=at.isoformat())
    assert middle in since
    assert middle not in until  # since is inclusive, until exclusive
    assert all(datetime.fromisoformat(e["at"]) >= at for e in since)
    assert all(datetime.fromisoformat(e["at"]) < at for e in until)
    assert len(since) + len(until) == len(everything)
    # the same instant written in another time zone means the same thing
    elsewhere = at.astimezone(timezone(timedelta(hours=-5)))
    assert entries(client, admin, since=elsewhere.isoformat()) == since
    window = entries(client, admin, since=at.isoformat(), until=(at + timedelta(microseconds=1)).isoformat())
    assert middle in window
    future = (datetime.now().astimezone() + timedelta(days=1)).isoformat()
    assert entries(client, admin, since=future) == []
    for bad in ({"since": "yesterday"}, {"until": "2026-13-45"}, {"limit": 0}, {"limit": 1001}, {"offset": -1}):
        response = client.get("/audit", params=bad, headers=admin)
        assert response.status_code == 400, bad
        assert set(response.json()) == {"error"}


def test_audit_pagination(client: TestClient, admin: dict[str, str], busy_trail: dict[str, Any]) -> None:
    everything = entries(client, admin)
    seen: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = trail(client, admin, limit=3, offset=offset)
        assert (page["limit"], page["offset"], page["total"]) == (3, offset, len(everything))
        if not page["items"]:
            break
        assert len(page["items"]) <= 3
        seen += page["items"]
        offset += 3
    assert seen == everything
    filtered = trail(client, admin, action="read_file", limit=2, offset=4)
    assert (filtered["total"], len(filtered["items"])) == (6, 2)


def test_only_admins_read_the_trail(client: TestClient) -> None:
    response = client.get("/audit")
    assert response.status_code == 403
    assert set(response.json()) == {"error"}
    anonymous = TestClient(client.app).get("/audit")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_the_trail_cannot_be_changed_through_the_api(client: TestClient, admin: dict[str, str], method: str) -> None:
    client.get("/files")
    before = entries(client, admin)
    response = client.request(method, "/audit", json={"seq": 1, "outcome": "success"}, headers=admin)
    assert response.status_code == 405
    assert set(response.json()) == {"error"}
    assert "GET" in response.headers["allow"]
    for path in (f"/audit/{before[0]['seq']}", "/audit/1"):
        assert client.request(method, path, headers=admin).status_code == 404  # no route: no entry has a URL
    assert entries(client, admin) == before


def test_no_route_writes_to_the_trail(client: TestClient) -> None:
    methods = {
        method
        for route in client.app.routes
        if getattr(route, "path", "").startswith("/audit")
        for method in getattr(route, "methods", ())
    }
    assert methods <= {"GET", "HEAD"}


# --- the hash chain, on both databases -----------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def audit_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """alice on each backend, after a dozen audited requests (one of them a 404, one a failed sign-in)."""
    with backend_settings(request, tmp_path / "data") as settings:
        for client in make_client(settings):
            file_id = client.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes())}).json()["file_id"]
            for path in ("/files", f"/files/{file_id}", f"/files/{uuid.uuid4().hex}", f"/download/png/{file_id}"):
                client.get(path)
            client.post("/auth/token", data={"username": "alice", "password": "wrong-password-1"})
            yield client


@pytest.fixture
def audited(audit_client: TestClient) -> Iterator[tuple[Settings, Engine, AuditLog]]:
    """The settings, a direct engine to tamper with the trail, and the service's AuditLog to check it."""
    context: AppContext = audit_client.app.state.context
    context.audit.flush()  # the trail is read straight from the database below
    engine = create_engine(context.settings.database_url)
    try:
        yield context.settings, engine, context.audit
    finally:
        engine.dispose()


HOSTILE_FILTERS = [
    ("user_id", "' OR 1=1 --"),
    ("file_id", "%' OR '1'='1"),
    ("action", "login' --"),
    ("action", "%"),
    ("file_id", "x" * 33),
    ("user_id", "\x00"),
    ("action", "login\x00"),
]


@pytest.mark.parametrize(("name", "value"), HOSTILE_FILTERS)
def test_hostile_audit_filters_match_nothing(
    request: pytest.FixtureRequest, audit_client: TestClient, name: str, value: str
) -> None:
    admin = bearer(login(audit_client, "admin", ADMIN_PASSWORD))
    raw = TestClient(audit_client.app, raise_server_exceptions=False)
    response = raw.get("/audit", params={name: value}, headers=admin)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json()["items"] == []
    else:
        assert set(response.json()) == {"error"}


def chain(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def tamper(engine: Engine, statement: Any) -> None:
    with engine.begin() as connection:
        connection.execute(statement)


def test_entries_are_hash_chained(audited: tuple[Settings, Engine, AuditLog]) -> None:
    _, engine, audit = audited
    rows = chain(engine)
    assert len(rows) >= 8
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == GENESIS
    for previous, row in zip(rows, rows[1:], strict=False):
        assert row.prev_hash == previous.hash
    assert len({r.hash for r in rows}) == len(rows)
    assert audit.verify() == []


@pytest.mark.parametrize(
    ("column", "value"),
    [("outcome", "success"), ("status", 200), ("user_id", "0" * 32), ("file_id", None), ("client", "10.0.0.1")],
)
def test_verify_detects_an_entry_edited_in_sql(
    audited: tuple[Settings, Engine, AuditLog], column: str, value: object
) -> None:
    """The edit hides the one request that failed (a 404 on a file that does not exist)."""
    _, engine, audit = audited
    [target] = [row.seq for row in chain(engine) if row.outcome == "not_found"]
    tamper(engine, update(AuditEvent).where(AuditEvent.seq == target).values({column: value}))
    problems = audit.verify()
    assert any(f"entry {target}" in p and "altered" in p for p in problems), problems


def test_verify_detects_an_edited_entry_whose_hash_was_recomputed(audited: tuple[Settings, Engine, AuditLog]) -> None:
    """Rewriting one entry and its own hash is not enough: the next entry still points at the old hash."""
    _, engine, audit = audited
    rows = chain(engine)
    target = rows[3].seq
    tamper(engine, update(AuditEvent).where(AuditEvent.seq == target).values(outcome="success", hash="f" * 64))
    problems = audit.verify()
    assert any(f"entry {target + 1}" in p for p in problems), problems


def test_verify_detects_a_deleted_entry(audited: tuple[Settings, Engine, AuditLog]) -> None:
    _, engine, audit = audited
    target = chain(engine)[5].seq
    tamper(engine, delete(AuditEvent).where(AuditEvent.seq == target))
    problems = audit.verify()
    assert any("missing" in p for p in problems), problems
    assert any(f"entry {target + 1}" in p for p in problems), problems


def test_verify_detects_the_newest_entry_deleted(audited: tuple[Settings, Engine, AuditLog]) -> None:
    _, engine, audit = audited
    last = chain(engine)[-1].seq
    tamper(engine, delete(AuditEvent).where(AuditEvent.seq == last))
    assert audit.verify(), "removing the newest entry must be noticed too"


def test_the_command_line_verifies_the_trail(
    audited: tuple[Settings, Engine, AuditLog], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, engine, _ = audited
    monkeypatch.setenv("DICOM_API_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DICOM_API_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DICOM_API_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("DICOM_API_RENDER_WORKERS", "0")
    assert cli.main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    target = chain(engine)[2].seq
    tamper(engine, update(AuditEvent).where(AuditEvent.seq == target).values(action="list"))
    assert cli.main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"entry {target} was altered" in out
    assert "tampered" in out


# --- uploads and deletes: acknowledged only with their entry committed ---------------------------------------


def committed_entries(context: AppContext, *request_ids: str) -> list[AuditEvent]:
    """Entries in the database right now, read directly: nothing waits for the batching writer."""
    with Session(context.engine) as session:
        query = select(AuditEvent).where(AuditEvent.request_id.in_(request_ids)).order_by(AuditEvent.seq)
        return list(session.scalars(query))


def test_an_upload_and_a_delete_commit_their_entry_with_the_change(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    context: AppContext = client.app.state.context
    alice_id = client.get("/users/me").json()["id"]
    queued: list[AuditEntry] = []
    monkeypatch.setattr(context.audit, "record", queued.append)  # the batching writer, out of the way

    upload = client.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes())})
    assert upload.status_code == 201
    file_id = upload.json()["file_id"]
    [entry] = committed_entries(context, upload.headers["x-request-id"])
    assert (entry.action, entry.outcome, entry.status, entry.file_id) == ("upload", "success", 201, file_id)
    assert (entry.user_id, entry.username, entry.client) == (alice_id, "alice", "testclient")

    delete = client.delete(f"/files/{file_id}")
    assert delete.status_code == 204
    [entry] = committed_entries(context, delete.headers["x-request-id"])
    assert (entry.action, entry.outcome, entry.status, entry.file_id) == ("delete", "success", 204, file_id)
    assert entry.user_id == alice_id
    assert queued == []  # and no second entry for either request

    # refused and denied changes are recorded by the middleware, as every other request
    refused = client.post("/upload/dicom", files={"file": ("x.dcm", b"not a DICOM file at all")})
    missing = client.delete(f"/files/{file_id}")
    denied = TestClient(client.app).delete(f"/files/{file_id}")
    assert (refused.status_code, missing.status_code, denied.status_code) == (400, 404, 401)
    assert [(e.action, e.outcome, e.request_id) for e in queued] == [
        ("upload", "rejected", refused.headers["x-request-id"]),
        ("delete", "not_found", missing.headers["x-request-id"]),
        ("delete", "denied", denied.headers["x-request-id"]),
    ]
    assert committed_entries(context, *(r.headers["x-request-id"] for r in (refused, missing, denied))) == []


def test_no_upload_or_delete_is_acknowledged_without_its_entry(
    client: TestClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the entry cannot be written, the change is undone and the client told so; the failure is recorded."""
    context: AppContext = client.app.state.context
    kept = client.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes())}).json()["file_id"]
    blobs = sorted(p for p in (context.settings.data_dir / "blobs").rglob("*") if p.is_file())

    def unreachable(*_args: object) -> None:
        raise OperationalError("INSERT INTO audit_events", {}, ConnectionError("the database went away"))

    monkeypatch.setattr(AuditLog, "append_in", unreachable)
    raw = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)
    upload = raw.post("/upload/dicom", files={"file": ("ct.dcm", CT.read_bytes())})
    delete = raw.delete(f"/files/{kept}")
    assert (upload.status_code, delete.status_code) == (503, 503)
    assert set(upload.json()) == {"error"}
    monkeypatch.undo()

    assert [f["file_id"] for f in client.get("/files").json()["items"]] == [kept]  # neither change happened
    assert sorted(p for p in (context.settings.data_dir / "blobs").rglob("*") if p.is_file()) == blobs
    for response, action in ((upload, "upload"), (delete, "delete")):
        entry = recorded(client, admin, response)
        assert (entry["action"], entry["outcome"], entry["status"]) == (action, "error", 503)


@pytest.fixture(params=BACKENDS)
def backend_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    with backend_settings(request, tmp_path / "data") as settings:
        yield from make_client(settings)


def test_concurrent_changes_and_reads_keep_one_chain(backend_client: TestClient) -> None:
    """Entries committed by uploads and deletes in their own transactions, beside the batches of reads and
    refusals, from many threads at once: every request has exactly one entry, and the chain verifies."""
    client = backend_client
    context: AppContext = client.app.state.context
    data = CT.read_bytes()

    def work(i: int) -> list[tuple[str, int, str]]:
        done = []
        upload = client.post("/upload/dicom", files={"file": ("ct.dcm", data)})
        file_id = upload.json()["file_id"]
        done.append((upload.headers["x-request-id"], upload.status_code, "upload"))
        for response, action in (
            (client.get(f"/files/{file_id}"), "read_file"),
            (client.post("/upload/dicom", files={"file": ("x.dcm", b"not DICOM")}), "upload"),
            (client.get(f"/files/{file_id}/attributes"), "read_attributes"),
        ):
            done.append((response.headers["x-request-id"], response.status_code, action))
        if i % 2:
            delete = client.delete(f"/files/{file_id}")
            done.append((delete.headers["x-request-id"], delete.status_code, "delete"))
        return done

    with ThreadPoolExecutor(8) as pool:
        requests = [r for done in pool.map(work, range(24)) for r in done]
    assert {status for _, status, _ in requests} == {200, 201, 204, 400}
    assert context.audit.flush(timeout=60)
    events = {e.request_id: e for e in committed_entries(context, *(r for r, _, _ in requests))}
    assert len(events) == len(requests)  # one entry per request, none twice
    for request_id, status, action in requests:
        assert (events[request_id].status, events[request_id].action) == (status, action)
    assert context.audit.verify() == []
