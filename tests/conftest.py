"""Shared fixtures: settings on a temporary folder and the test database, the app over HTTP, PostgreSQL, S3.

DICOM_API_TEST_DATABASE=sqlite|postgres picks the database of every Settings the tests build (tests/databases.py).
The PostgreSQL pass runs the integration and e2e tests, less those no database can change (PASS_ONCE).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dicom_api.config import Settings
from tests import databases
from tests.helpers import make_client, settings_for
from tests.s3 import create_bucket, moto_endpoint, remove_bucket

# The PostgreSQL pass runs these, less PASS_ONCE: what never touches a database, and what checks DICOM
# content, whose database part (one row per upload) every other test exercises. The rest (unit tests and
# tests/adversarial, whose mutants and fuzzing no database changes, say) runs in the SQLite pass only.
POSTGRES_PASS = ("tests/integration/", "tests/e2e/")
PASS_ONCE = (
    "tests/integration/test_storage.py",  # the filesystem blob store alone
    "tests/integration/test_storage_contract.py",  # the blob stores alone
    "tests/integration/test_corpus.py",  # what the reference files hold, attribute by attribute
    # Orthanc and OHIF ask what dicomweb-client asks, which runs on both databases; they prove the clients.
    "tests/e2e/clients/test_orthanc.py",
    "tests/e2e/clients/test_ohif.py",
    "tests/integration/test_deidentify_cli.py",  # local folders, no database
)


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """argon2id at its production cost makes every sign-in ~100 ms; tests use the cheapest parameters.
    The code paths are the same, and the security tests check the production hasher's parameters."""
    from argon2 import PasswordHasher

    from dicom_api.auth import passwords
    from dicom_api.services.signin import PasswordWork

    saved = passwords._hasher, passwords._DUMMY_HASH
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    passwords._DUMMY_HASH = passwords._hasher.hash("timing-equaliser-not-a-password")
    # Admission control turns sign-ins away by the hash time it measures: on a busy test machine that is the
    # machine's load, not the code's. Its own test sets the bound it checks.
    saved_wait, PasswordWork.MAX_WAIT_SECONDS = PasswordWork.MAX_WAIT_SECONDS, 3600.0
    yield
    passwords._hasher, passwords._DUMMY_HASH = saved
    PasswordWork.MAX_WAIT_SECONDS = saved_wait


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


# --- the database matrix ----------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    if databases.BACKEND not in databases.BACKENDS:
        raise pytest.UsageError(f"DICOM_API_TEST_DATABASE must be one of {', '.join(databases.BACKENDS)}")


def pytest_report_header() -> str:
    return f"test database: {databases.BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, keep POSTGRES_PASS less PASS_ONCE and the tests that choose their database themselves
    (parametrized over sqlite and postgres, or marked postgres): the SQLite pass runs every variant of those."""
    if databases.BACKEND != "postgres":
        return
    kept, left = [], []
    for item in items:
        wanted = item.nodeid.startswith(POSTGRES_PASS) and not item.nodeid.startswith(PASS_ONCE)
        (kept if wanted and not _chooses_its_database(item) else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def _chooses_its_database(item: pytest.Item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return item.get_closest_marker("postgres") is not None or any(
        isinstance(value, str) and value in databases.BACKENDS for value in params.values()
    )


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest) -> object:
    """A database taken while a fixture is set up belongs to the fixture (see the next hook)."""
    with databases.owned_by(fixturedef):
        return (yield)


def pytest_fixture_post_finalizer(fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest) -> None:
    """Runs after the fixture's own teardown: its databases are no longer in use."""
    databases.release(fixturedef)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> object:
    """A database taken in a test's body is the test's, given back after its teardown."""
    with databases.owned_by(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> object:
    try:
        return (yield)
    finally:
        databases.release(item)


def pytest_sessionfinish() -> None:
    databases.finish()


@pytest.fixture(scope="session")
def postgres_server() -> object:
    """An autocommit connection to the PostgreSQL server: unreachable, the test fails in CI and is skipped
    elsewhere, with the reason."""
    return databases.SERVER.connection()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: object) -> Iterator[str]:
    """A fresh PostgreSQL database shared by the whole session."""
    with databases.fresh_database() as url:
        yield url


@pytest.fixture
def fresh_postgres_url(postgres_server: object) -> Iterator[str]:
    """A fresh, empty (not migrated) PostgreSQL database for one test."""
    with databases.fresh_database() as url:
        yield url


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
