"""The database under the integration and e2e tests: the embedded SQLite (the default) or the PostgreSQL server
at DICOM_API_TEST_POSTGRES_URL, chosen by DICOM_API_TEST_DATABASE=sqlite|postgres.

On PostgreSQL, each Settings the tests build gets a migrated database of its own, its tables holding only what
the migrations insert, until the fixture or test that asked for it ends (see tests/conftest.py). Databases are
pooled: one given back is reset and lent again, so a run creates only as many as were in use at once, and drops
them all at its end.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from dicom_api.db.migrate import alembic_config, upgrade

BACKENDS = ("sqlite", "postgres")
BACKEND = os.environ.get("DICOM_API_TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
POSTGRES_ADMIN_URL = os.environ.get("DICOM_API_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PREFIX = "dicom_api_test_"


# --- the server ----------------------------------------------------------------------------------------------


def _connect(database: str | None = None) -> psycopg.Connection[Any]:
    url = make_url(POSTGRES_ADMIN_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=database or url.database,
        autocommit=True,
        connect_timeout=5,
    )


class _Server:
    """One autocommit connection to the server for the whole run; unreachable, it fails the test in CI and
    skips it elsewhere, each time it is asked for (the first failure is remembered, not retried)."""

    def __init__(self) -> None:
        self._connection: psycopg.Connection[Any] | None = None
        self._unreachable = ""

    def connection(self) -> psycopg.Connection[Any]:
        if self._connection is None and not self._unreachable:
            try:
                self._connection = _connect()
            except psycopg.OperationalError as exc:
                url = make_url(POSTGRES_ADMIN_URL)
                self._unreachable = f"PostgreSQL at {url.host}:{url.port or 5432} is unreachable: {exc}".strip()
        if self._connection is None:
            if IN_CI:
                pytest.fail(f"{self._unreachable} (in CI, PostgreSQL tests fail rather than skip)", pytrace=False)
            pytest.skip(self._unreachable)
        return self._connection

    def create(self) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
        self.connection().execute(f'CREATE DATABASE "{name}"')
        return _url_of(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        self.connection().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _url_of(name: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


SERVER = _Server()


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database (not migrated), dropped when the block ends."""
    url = SERVER.create()
    try:
        yield url
    finally:
        SERVER.drop(url)


# --- the pool ------------------------------------------------------------------------------------------------


class _Pool:
    def __init__(self) -> None:
        self._free: list[str] = []
        self._created: list[str] = []
        self._head = ""
        self._seeds: dict[str, bytes] | None = None  # the rows the migrations insert, per table, as COPY data

    def take(self) -> str:
        """A migrated database whose tables hold only what the migrations put there."""
        if self._free:
            return self._free.pop()
        url = SERVER.create()
        self._created.append(url)
        upgrade(url)
        if self._seeds is None:
            with _connect(make_url(url).database) as connection:
                self._seeds = _seeds(connection)
        return url

    def give_back(self, url: str) -> None:
        """Reset it for the next user; a database whose schema a test changed is dropped instead."""
        try:
            self._reset(url)
        except psycopg.Error:
            self._created.remove(url)
            SERVER.drop(url)
            return
        self._free.append(url)

    def _reset(self, url: str) -> None:
        with _connect(make_url(url).database) as connection:
            # Whatever still holds a connection (a leaked engine, an idle transaction) would block TRUNCATE.
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            if revision is None or revision[0] != self.head(url):
                raise psycopg.DataError("the schema is not at the head revision")
            with connection.transaction():
                connection.execute(f"TRUNCATE {', '.join(_tables(connection))} RESTART IDENTITY CASCADE")
                for table, rows in (self._seeds or {}).items():
                    with connection.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                        copy.write(rows)

    def head(self, url: str) -> str:
        if not self._head:
            from alembic.script import ScriptDirectory

            self._head = ScriptDirectory.from_config(alembic_config(url)).get_current_head() or ""
        return self._head

    def close(self) -> None:
        for url in self._created:
            SERVER.drop(url)
        self._free.clear()
        self._created.clear()


def _tables(connection: psycopg.Connection[Any]) -> list[str]:
    """The application's tables, quoted (alembic's version table left out)."""
    rows = connection.execute(
        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
    ).fetchall()
    return [row[0] for row in rows]


def _seeds(connection: psycopg.Connection[Any]) -> dict[str, bytes]:
    seeds = {}
    for table in _tables(connection):
        with connection.cursor().copy(f"COPY {table} TO STDOUT") as copy:
            rows = b"".join(bytes(block) for block in copy)
        if rows:
            seeds[table] = rows
    return seeds


POOL = _Pool()


@contextmanager
def lease() -> Iterator[str]:
    """A pooled PostgreSQL database for as long as the block lasts."""
    url = POOL.take()
    try:
        yield url
    finally:
        POOL.give_back(url)


# --- who holds which database ----------------------------------------------------------------------------------

_RUN = object()  # the owner of databases taken outside any fixture or test: given back when the run ends
_owners: list[object] = []  # the fixtures being set up and the test being run, innermost last
_leases: defaultdict[object, list[str]] = defaultdict(list)


@contextmanager
def owned_by(owner: object) -> Iterator[None]:
    """Databases taken inside the block belong to ``owner`` until release(owner)."""
    _owners.append(owner)
    try:
        yield
    finally:
        _owners.pop()


def release(owner: object) -> None:
    for url in _leases.pop(owner, []):
        POOL.give_back(url)


def database_url() -> str | None:
    """The database for Settings built now: None on SQLite (the embedded default in the data folder), else a
    pooled PostgreSQL database that belongs to the fixture being set up or the test being run."""
    if BACKEND == "sqlite":
        return None
    url = POOL.take()
    _leases[_owners[-1] if _owners else _RUN].append(url)
    return url


def finish() -> None:
    """The run is over: give back what is still held, drop every database, close the connection."""
    for owner in list(_leases):
        release(owner)
    POOL.close()
    SERVER.close()
