"""The schema and the queries on both databases: SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from dicom_api.db.engine import durability_problems, make_engine, make_session_factory
from dicom_api.db.lookups import Lookups
from dicom_api.db.migrate import MIGRATION_LOCK, alembic_config, upgrade
from dicom_api.db.models import DicomFile, User
from dicom_api.db.repository import FileRepository
from dicom_api.services.audit import AuditEntry, AuditLog


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'db.sqlite3').as_posix()}"
        return
    yield request.getfixturevalue("fresh_postgres_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def _user(session: Session, name: str) -> User:
    user = User(
        id=uuid.uuid4().hex,
        username=name,
        password_hash="x",
        role="user",
        is_active=True,
        token_version=0,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    return user


def _file(created: datetime) -> DicomFile:
    return DicomFile(id=uuid.uuid4().hex, created_at=created, size_bytes=1, sha256="0" * 64, header_length=1)


def test_migrations_reach_head_and_go_back(database_url: str) -> None:
    from alembic import command

    upgrade(database_url)
    engine = make_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    assert {"files", "users", "refresh_tokens", "login_failures", "audit_events", "audit_head"} <= tables
    command.downgrade(alembic_config(database_url), "base")
    assert "files" not in set(inspect(engine).get_table_names())
    engine.dispose()


@pytest.mark.postgres
def test_a_migration_waits_for_one_under_way(fresh_postgres_url: str) -> None:
    """Containers started together each run `dicom-api migrate` on a new database: each waits for the
    migration under way (the advisory lock), then finds the schema at head instead of failing on its tables."""
    env = {**os.environ, "DICOM_API_DATABASE_URL": fresh_postgres_url, "DICOM_API_JWT_SECRET": "x" * 32}
    engine = make_engine(fresh_postgres_url)
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})  # one under way
        migration = subprocess.Popen([sys.executable, "-m", "dicom_api.cli", "migrate"], env=env)
        with pytest.raises(subprocess.TimeoutExpired):
            migration.wait(timeout=3)  # it waits for the lock rather than migrating alongside
        holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
    assert migration.wait(timeout=120) == 0
    assert "files" in set(inspect(engine).get_table_names())
    engine.dispose()


def test_sqlite_syncs_every_commit(tmp_path: Path) -> None:
    """WAL with synchronous=FULL: a commit is on disk when it returns (NORMAL loses the last ones on power loss)."""
    engine = make_engine(f"sqlite:///{(tmp_path / 'db.sqlite3').as_posix()}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_database_server_that_does_not_sync_commits_is_reported(
    fresh_postgres_url: str, postgres_server: Any, tmp_path: Path
) -> None:
    assert durability_problems(make_engine(f"sqlite:///{(tmp_path / 'db.sqlite3').as_posix()}")) == []
    engine = make_engine(fresh_postgres_url)
    try:
        assert durability_problems(engine) == []
        database = make_url(fresh_postgres_url).database
        postgres_server.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = off')
        engine.dispose()  # the setting applies to new connections
        [problem] = durability_problems(engine)
        assert "synchronous_commit=off" in problem
    finally:
        engine.dispose()


def test_files_are_seen_only_by_their_owner_newest_first(sessions: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with sessions() as session:
        alice, bob = _user(session, "alice"), _user(session, "bob")
        mine = FileRepository(session, alice.id)
        ids = []
        for minutes in (3, 1, 2):
            row = _file(now - timedelta(minutes=minutes))
            mine.add(row)
            ids.append((minutes, row.id))
        FileRepository(session, bob.id).add(_file(now))
        session.commit()
    with sessions() as session:
        mine = FileRepository(session, alice.id)
        assert [r.id for r in mine.list(limit=10, offset=0)] == [i for _, i in sorted(ids)]
        assert mine.count() == 3
        assert FileRepository(session, bob.id).count() == 1
        assert mine.list(limit=10, offset=0)[0].created_at.tzinfo is not None
        assert not FileRepository(session, bob.id).remove(ids[0][1])
        lookups = Lookups(session.get_bind())  # type: ignore[arg-type]
    bob_account, bobs_view = lookups.account_and_file(bob.id, ids[0][1])
    assert bob_account is not None
    assert bob_account.username == "bob"
    assert bobs_view is None
    alice_account, found = lookups.account_and_file(alice.id, ids[0][1])
    assert found is not None
    assert found.id == ids[0][1]
    assert found.owner_id == alice.id
    assert found.created_at.tzinfo is not None
    assert lookups.account_and_file("0" * 32, ids[0][1]) == (None, None)


def test_a_driver_error_in_the_lookups_is_raised_as_sqlalchemys(database_url: str) -> None:
    """The lookups run on the driver's cursor: what it raises still reaches the error handlers as SQLAlchemy's
    (here a database that was never migrated: no users table)."""
    engine = make_engine(database_url)
    try:
        with pytest.raises(DBAPIError) as raised:
            Lookups(engine).account_and_file("0" * 32, None)
        assert isinstance(raised.value.orig, engine.dialect.loaded_dbapi.Error)
        assert "users" in str(raised.value.statement)
    finally:
        engine.dispose()


def test_concurrent_audit_appends_keep_one_unbroken_chain(sessions: sessionmaker[Session]) -> None:
    log = AuditLog(sessions)

    def append(i: int) -> None:
        log.append(AuditEntry(action="read_attribute", outcome="success", status=200, file_id=f"{i:032x}"))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(append, range(80)))
    events, total = log.search(limit=1000)
    assert total == 80
    assert sorted(e.seq for e in events) == list(range(1, 81))
    assert log.verify() == []


def test_recorded_entries_are_committed_in_batches_as_one_chain(sessions: sessionmaker[Session]) -> None:
    """Entries recorded from many threads, beside direct appends, end in one chain with nothing missing."""
    log = AuditLog(sessions)

    def record(i: int) -> None:
        entry = AuditEntry(action="read_attribute", outcome="success", status=200, file_id=f"{i:032x}")
        if i % 10 == 0:
            log.append(entry)
        else:
            log.record(entry)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(record, range(400)))
    assert log.flush(timeout=60)
    events, total = log.search(limit=1000)
    assert total == 400
    assert sorted(e.file_id for e in events) == [f"{i:032x}" for i in range(400)]
    assert log.verify() == []


def test_entries_appended_in_transactions_and_in_batches_form_one_chain(sessions: sessionmaker[Session]) -> None:
    """From many threads: entries committed with a file row, entries rolled back with theirs, and batches."""
    log = AuditLog(sessions)
    with sessions() as session, session.begin():
        owner = _user(session, "alice").id

    def work(i: int) -> None:
        entry = AuditEntry(action="upload", outcome="success", status=201, file_id=f"{i:032x}")
        if i % 3 == 2:
            log.record(entry)
            return
        with sessions() as session, session.begin():
            FileRepository(session, owner).add(_file(datetime.now(UTC)))
            log.append_in(session, entry)
            if i % 3 == 1:
                session.rollback()  # the change failed: its entry goes with it, and the chain does not notice

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(300)))
    assert log.flush(timeout=60)
    events, total = log.search(limit=1000)
    assert sorted(e.file_id for e in events) == [f"{i:032x}" for i in range(300) if i % 3 != 1]
    assert sorted(e.seq for e in events) == list(range(1, total + 1))
    assert log.verify() == []
    with sessions() as session:
        assert FileRepository(session, owner).count() == 100


def test_closing_the_audit_log_writes_what_is_queued(sessions: sessionmaker[Session]) -> None:
    log = AuditLog(sessions)
    for i in range(50):
        log.record(AuditEntry(action="login", outcome="denied", status=401, username=f"user{i}"))
    log.close()
    events, total = AuditLog(sessions).search(limit=100)
    assert total == 50
    assert {e.username for e in events} == {f"user{i}" for i in range(50)}


def test_a_hostile_username_is_stored_clean_and_an_entry_refused_holds_up_no_other(
    sessions: sessionmaker[Session],
) -> None:
    """PostgreSQL refuses NUL in text and over-long values: the entry is cleaned before it is hashed, and a
    batch the database still refuses is written entry by entry instead of being retried for ever."""
    log = AuditLog(sessions)
    log.record(AuditEntry(action="login", outcome="denied", status=401, username="adm\x00in\n" + "x" * 100))
    log.record(AuditEntry(action="x" * 40, outcome="rejected", status=400))  # longer than the action column
    for i in range(5):
        log.record(AuditEntry(action="read_attribute", outcome="success", status=200, file_id=f"{i:032x}"))
    assert log.flush(timeout=60), "the writer is stuck on a refused entry"
    events, _ = log.search(limit=100)
    by_action = {e.action: e for e in events}
    assert by_action["login"].username == "adm\ufffdin\ufffd" + "x" * 57
    assert sorted(e.file_id for e in events if e.action == "read_attribute") == [f"{i:032x}" for i in range(5)]
    assert log.verify() == []
    log.close()
