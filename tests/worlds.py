"""Two users with a file each, on SQLite or a fresh PostgreSQL database: the isolation and auth tests' world."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from dicom_api.config import Settings
from tests.helpers import ADMIN_PASSWORD, add_user, login, make_client, sample, settings_for

CT = sample("CT_small.dcm")
MR = sample("MR_small.dcm")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# Every endpoint that reads or changes one file: (method, path, query) with {id} for the file id.
FILE_ENDPOINTS: dict[str, tuple[str, str, dict[str, str]]] = {
    "download_png": ("GET", "/download/png/{id}", {}),
    "header_attribute": ("GET", "/header_attribute", {"file_id": "{id}", "tag_group": "0010", "tag_element": "0010"}),
    "get_file": ("GET", "/files/{id}", {}),
    "download_dicom": ("GET", "/files/{id}/dicom", {}),
    "attributes": ("GET", "/files/{id}/attributes", {}),
    "download_deidentified": ("GET", "/files/{id}/deidentified", {}),
    "delete": ("DELETE", "/files/{id}", {}),
}


@contextmanager
def fresh_database(postgres_url: str) -> Iterator[str]:
    """A new empty database on the test server, dropped afterwards: the session's database is shared, so
    each user of this helper starts from nothing."""
    url = make_url(postgres_url)
    server = {"host": url.host, "port": url.port or 5432, "user": url.username, "password": url.password}
    name = f"dicom_api_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**server, dbname=url.database, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**server, dbname=url.database, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def backend_settings(request: pytest.FixtureRequest, data_dir: Path, **overrides: object) -> Iterator[Settings]:
    """Settings on the backend named by ``request.param``: the embedded SQLite, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield settings_for(data_dir, **overrides)
        return
    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield settings_for(data_dir, database_url=url, **overrides)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    """One running app with alice and bob (one file each) and the admin. ``client`` carries no token;
    ``raw`` is the same app answering 500s instead of raising, to check that nothing does."""

    settings: Settings
    client: TestClient
    raw: TestClient
    alice: dict[str, str]
    bob: dict[str, str]
    admin: dict[str, str]
    alice_id: str
    alice_file: str
    bob_file: str

    def call(self, endpoint: str, file_id: str, headers: dict[str, str] | None = None) -> Any:
        method, path, query = FILE_ENDPOINTS[endpoint]
        params = {k: v.replace("{id}", file_id) for k, v in query.items()}
        return self.raw.request(method, path.replace("{id}", file_id), params=params, headers=headers)


@contextmanager
def populated(settings: Settings) -> Iterator[World]:
    for client in make_client(settings, as_user=None):
        alice, bob = bearer(add_user(client, "alice")), bearer(add_user(client, "bob"))
        files = []
        for headers, path in ((alice, CT), (bob, MR)):
            response = client.post("/upload/dicom", files={"file": ("f.dcm", path.read_bytes())}, headers=headers)
            assert response.status_code == 201, response.text
            files.append(response.json()["file_id"])
        raw = TestClient(client.app, raise_server_exceptions=False)
        admin = bearer(login(client, "admin", ADMIN_PASSWORD))
        alice_id = client.get("/users/me", headers=alice).json()["id"]
        yield World(settings, client, raw, alice, bob, admin, alice_id, *files)
