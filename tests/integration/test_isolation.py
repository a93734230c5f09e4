"""Each user sees only their own files, on every file endpoint, on SQLite and on PostgreSQL.

Another user's file answers exactly like a file that does not exist; admins do not read users' images;
hostile ids and tags are refused cleanly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.worlds import BACKENDS, CT, FILE_ENDPOINTS, World, backend_settings, populated


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Shared by the module's tests, which only read (or are refused)."""
    with backend_settings(request, tmp_path_factory.mktemp("data")) as settings, populated(settings) as world:
        yield world


def listed(world: World, headers: dict[str, str]) -> list[str]:
    response = world.client.get("/files", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return [item["file_id"] for item in body["items"]]


def test_each_user_lists_only_their_own_uploads(world: World) -> None:
    assert listed(world, world.alice) == [world.alice_file]
    assert listed(world, world.bob) == [world.bob_file]


def test_admin_lists_none_of_the_users_files(world: World) -> None:
    assert listed(world, world.admin) == []


@pytest.mark.parametrize("endpoint", [e for e in FILE_ENDPOINTS if e != "delete"])  # delete: further down
def test_owner_reaches_their_file(world: World, endpoint: str) -> None:
    assert world.call(endpoint, world.alice_file, world.alice).status_code == 200


@pytest.mark.parametrize("endpoint", FILE_ENDPOINTS)
def test_another_users_file_answers_like_a_missing_one(world: World, endpoint: str) -> None:
    missing = world.call(endpoint, uuid.uuid4().hex, world.bob)
    assert missing.status_code == 404
    assert set(missing.json()) == {"error"}
    theirs = world.call(endpoint, world.alice_file, world.bob)
    assert (theirs.status_code, theirs.content) == (404, missing.content)
    assert "etag" not in theirs.headers
    # and the owner still has it, untouched
    assert world.client.get(f"/files/{world.alice_file}/dicom", headers=world.alice).content == CT.read_bytes()


@pytest.mark.parametrize("endpoint", FILE_ENDPOINTS)
def test_admin_does_not_read_users_files(world: World, endpoint: str) -> None:
    missing = world.call(endpoint, uuid.uuid4().hex, world.admin)
    for file_id in (world.alice_file, world.bob_file):
        response = world.call(endpoint, file_id, world.admin)
        assert (response.status_code, response.content) == (404, missing.content)
    assert listed(world, world.alice) == [world.alice_file]
    assert listed(world, world.bob) == [world.bob_file]


def test_uppercase_id_of_another_users_file_is_not_a_way_in(world: World) -> None:
    for endpoint in FILE_ENDPOINTS:
        assert world.call(endpoint, world.alice_file.upper(), world.bob).status_code == 404
        assert world.call(endpoint, world.alice_file.upper(), world.alice).status_code == 404


INJECTED_IDS = [
    "x' OR '1'='1",
    "' OR 1=1 --",
    "1; DROP TABLE files; --",
    "{alice}' OR owner_id <> '",
    "{alice}'--",
    '{alice}" OR "1"="1',
    "{alice}%",
    "%",
    "_" * 32,
    "*",
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..\\..\\windows\\win.ini",
    "/etc/passwd",
    "{alice}/../{alice}",
    "a\x00b",
    "%00",
    "{alice}%00",
    "é" * 32,
    "0" * 10_000,
    " {alice}",
    "{alice}\n",
]


def _fill(payload: str, world: World) -> str:
    return payload.replace("{alice}", world.alice_file)


@pytest.mark.parametrize("payload", INJECTED_IDS)
def test_injected_file_id_in_the_path_is_a_clean_4xx(world: World, payload: str) -> None:
    file_id = quote(_fill(payload, world), safe="/%")  # '/' and ready-made escapes reach the server as written
    for method, path in (
        ("GET", "/download/png/{id}"),
        ("GET", "/files/{id}"),
        ("GET", "/files/{id}/dicom"),
        ("GET", "/files/{id}/attributes"),
        ("DELETE", "/files/{id}"),
    ):
        response = world.raw.request(method, path.replace("{id}", file_id), headers=world.bob)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
        assert set(response.json()) == {"error"}
    assert listed(world, world.alice) == [world.alice_file]


@pytest.mark.parametrize("payload", INJECTED_IDS)
def test_injected_file_id_in_the_query_is_a_clean_4xx(world: World, payload: str) -> None:
    params = {"file_id": _fill(payload, world), "tag_group": "0010", "tag_element": "0010"}
    response = world.raw.get("/header_attribute", params=params, headers=world.bob)
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == {"error"}
    # the same trick from the owner's side reaches nothing either
    response = world.raw.get("/header_attribute", params=params, headers=world.alice)
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize(
    "tag",
    [
        "0010' OR '1'='1",
        "0010; DROP TABLE files",
        "../0010",
        "0x",
        "0x0x0010",
        "-001",
        "+010",
        " 0010",
        "0010 ",
        "00 10",
        "0010\x00",
        "%00",
        "１２３４",
        "0" * 5000,
        "(0010,0010)",
        "0010,0010",
        "PatientName",
    ],
)
def test_injected_tag_is_a_clean_400(world: World, tag: str) -> None:
    for params in (
        {"file_id": world.alice_file, "tag_group": tag, "tag_element": "0010"},
        {"file_id": world.alice_file, "tag_group": "0010", "tag_element": tag},
    ):
        response = world.raw.get("/header_attribute", params=params, headers=world.alice)
        assert response.status_code == 400, response.text
        assert set(response.json()) == {"error"}


@pytest.mark.parametrize("query", ["limit=1%20OR%201=1", "offset=-1", "limit=0", "limit=%00", "limit=1e9"])
def test_hostile_list_parameters_are_a_clean_400(world: World, query: str) -> None:
    response = world.raw.get(f"/files?{query}", headers=world.bob)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}


OUT_OF_RANGE = ["9223372036854775808", "9223372036854775807", str(2**53 + 1), "1" * 400, "-1", "1" * 5000]
LIST_QUERIES = [f"{name}={value}" for name in ("offset", "limit") for value in OUT_OF_RANGE]


@pytest.mark.parametrize("path", ["/files", "/users", "/audit"])
@pytest.mark.parametrize("query", LIST_QUERIES)
def test_out_of_range_list_parameters_are_a_clean_400(world: World, path: str, query: str) -> None:
    response = world.raw.get(f"{path}?{query}", headers=world.bob if path == "/files" else world.admin)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    assert response.json()["error"].startswith("Parameter '"), response.text  # it says which, and why


@pytest.mark.parametrize("path", ["/files", "/users", "/audit"])
def test_the_largest_offset_is_an_empty_page(world: World, path: str) -> None:
    response = world.raw.get(f"{path}?offset={2**53}", headers=world.bob if path == "/files" else world.admin)
    assert response.status_code == 200, response.text
    assert (response.json()["items"], response.json()["offset"]) == ([], 2**53)


@pytest.mark.parametrize(
    "query",
    [
        "since=0001-01-01T00:00:00%2B14:00",  # before year 1 once in UTC
        "until=9999-12-31T23:59:59-14:00",  # after year 9999 once in UTC
        "since=99999999999999999999",
        "until=nan",
        "since=10000-01-01",
        "user_id=" + "0" * 33,
        "file_id=%00",
        "action=" + "a" * 33,
    ],
)
def test_out_of_range_audit_filters_are_a_clean_400(world: World, query: str) -> None:
    response = world.raw.get(f"/audit?{query}", headers=world.admin)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("frame", ["0", "-1", "2147483648", "9223372036854775808", "1" * 400, "1.5", "x"])
def test_out_of_range_frame_numbers_are_a_clean_400(world: World, frame: str) -> None:
    response = world.raw.get(f"/download/png/{world.alice_file}?frame={frame}", headers=world.alice)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}


@pytest.fixture(params=BACKENDS)
def own_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """A world of the test's own, for tests that change it."""
    with backend_settings(request, tmp_path / "data") as settings, populated(settings) as world:
        yield world


def test_owner_delete_removes_only_their_file(own_world: World) -> None:
    world = own_world
    refused = world.call("delete", world.alice_file, world.bob)
    assert refused.status_code == 404
    assert world.call("delete", world.alice_file, world.alice).status_code == 204
    assert listed(world, world.alice) == []
    assert listed(world, world.bob) == [world.bob_file]
    for endpoint in FILE_ENDPOINTS:
        assert world.call(endpoint, world.alice_file, world.alice).status_code == 404
    assert world.call("get_file", world.bob_file, world.bob).status_code == 200


def test_a_users_upload_is_theirs_alone(own_world: World) -> None:
    world = own_world
    response = world.client.post("/upload/dicom", files={"file": ("f.dcm", CT.read_bytes())}, headers=world.bob)
    new = response.json()["file_id"]
    assert listed(world, world.bob) == [new, world.bob_file]
    assert listed(world, world.alice) == [world.alice_file]
    assert world.call("get_file", new, world.alice).status_code == 404
