"""Helpers shared by the tests."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from pydicom.data import get_testdata_file
from sqlalchemy import create_engine
from sqlalchemy.sql.expression import Executable

from dicom_api.config import Settings
from dicom_api.db.migrate import upgrade
from dicom_api.main import create_app
from tests import databases


def sample(name: str) -> Path:
    """A file of pydicom's own test data (shipped with pydicom, never downloaded)."""
    path = get_testdata_file(name, download=False)
    assert path is not None, f"pydicom test file {name} is missing"
    return Path(str(path))


ADMIN_PASSWORD = "admin-password-for-tests"
JWT_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
DEIDENTIFY_SECRET = "test-deidentify-secret-0123456789abcdef0123"


def settings_for(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test: data in ``data_dir``, the test database (tests/databases.py) unless overridden."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "render_workers": 0,
        "admin_password": ADMIN_PASSWORD,
        "jwt_secret": JWT_SECRET,
        "deidentify_secret": DEIDENTIFY_SECRET,
        **overrides,
    }
    if "database_url" not in values and (url := databases.database_url()):
        values["database_url"] = url
    return Settings(**values)  # type: ignore[arg-type]


def login(client: TestClient, username: str, password: str) -> str:
    response = client.post("/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def add_user(client: TestClient, username: str, password: str | None = None, role: str = "user") -> str:
    """Create an account through the admin API; returns a bearer token for it."""
    password = password or f"{username}-password-123"
    admin = login(client, "admin", ADMIN_PASSWORD)
    response = client.post(
        "/users",
        json={"username": username, "password": password, "role": role},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert response.status_code == 201, response.text
    return login(client, username, password)


def make_client(settings: Settings, *, as_user: str | None = "alice") -> Iterator[TestClient]:
    """The app over HTTP; by default every request carries a regular user's bearer token."""
    upgrade(settings.database_url)
    with TestClient(create_app(settings)) as client:
        if as_user:
            client.headers["Authorization"] = f"Bearer {add_user(client, as_user)}"
        yield client


def run_sql(settings: Settings, statement: Executable) -> list[Any]:
    """A statement straight on the database, behind the service's back."""
    engine = create_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            result = connection.execute(statement)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def personal_token(
    client: TestClient, session: dict[str, str], scope: str = "read", **fields: object
) -> dict[str, Any]:
    """A new personal access token made in the signed-in ``session`` (its Authorization header): the answer."""
    body = {"name": f"{scope} tool", "scope": scope, **fields}
    response = client.post("/users/me/tokens", json=body, headers=session)
    assert response.status_code == 201, response.text
    return dict(response.json())


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


class SpyHasher:
    """Wraps the real hasher and records which hashes verify() was asked to check."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self._hasher = hasher
        self.verified: list[str] = []

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password_hash)
        return self._hasher.verify(password_hash, password)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hasher, name)


_KEY = "0123456789abcdef0123456789abcdef"
# Blob keys every store must refuse: traversal, case, length, separators.
UNSAFE_KEYS = [
    "",
    "../etc/passwd",
    _KEY + "/../x",
    "renders/" + _KEY + "/../../x",
    _KEY.upper(),
    _KEY[:-1],
    "/" + _KEY,
    "renders/" + _KEY + "/.hidden",
    "a/b/c/d",
    _KEY + "\x00",
    "renders\\" + _KEY,
]
