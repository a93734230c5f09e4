"""Shared fixtures: settings on a temporary folder, the app over HTTP, reference DICOM files, PostgreSQL, S3."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dicom_api.config import Settings
from tests.helpers import make_client, settings_for
from tests.s3 import create_bucket, moto_endpoint, remove_bucket

POSTGRES_ADMIN_URL = os.environ.get("DICOM_API_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """argon2id at its production cost makes every sign-in ~100 ms; tests use the cheapest parameters.
    The code paths are the same, and the security tests check the production hasher's parameters."""
    from argon2 import PasswordHasher

    from dicom_api.auth import passwords

    saved = passwords._hasher, passwords._DUMMY_HASH
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    passwords._DUMMY_HASH = passwords._hasher.hash("timing-equaliser-not-a-password")
    yield
    passwords._hasher, passwords._DUMMY_HASH = saved


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "data")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    yield from make_client(settings)


@pytest.fixture
def upload(client: TestClient):  # noqa: ANN201 - returns a helper
    def _upload(path: Path | bytes, name: str = "f.dcm") -> str:
        data = path if isinstance(path, bytes) else path.read_bytes()
        response = client.post("/upload/dicom", files={"file": (name, data, "application/dicom")})
        assert response.status_code == 201, response.text
        return str(response.json()["file_id"])

    return _upload


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """An autocommit connection to the PostgreSQL server; skipped outside CI when it is unreachable."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(POSTGRES_ADMIN_URL)
    conninfo = f"host={admin.host} port={admin.port or 5432} user={admin.username} dbname={admin.database}"
    try:
        connection = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {admin.host}:{admin.port} is unreachable in CI: {exc}")
        pytest.skip(f"PostgreSQL at {admin.host}:{admin.port} is unreachable: {exc}")
    with connection:
        yield connection


def _new_database(server: object) -> Iterator[str]:
    from sqlalchemy.engine import make_url

    name = f"dicom_api_test_{uuid.uuid4().hex[:12]}"
    server.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def postgres_url(postgres_server: object) -> Iterator[str]:
    """A fresh PostgreSQL database shared by the whole session."""
    yield from _new_database(postgres_server)


@pytest.fixture
def fresh_postgres_url(postgres_server: object) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    yield from _new_database(postgres_server)


# --- S3: moto's standalone server on loopback ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    """The shared moto server's URL, started on first use."""
    return moto_endpoint()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> Iterator[str]:
    """A fresh, empty bucket; emptied and removed afterwards."""
    bucket = f"test-{uuid.uuid4().hex[:20]}"
    create_bucket(s3_endpoint, bucket)
    yield bucket
    remove_bucket(s3_endpoint, bucket)
