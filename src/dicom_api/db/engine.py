"""Engine and session factory; SQLite gets WAL and a busy timeout so several workers can write, and syncs its
log on every commit so that a committed row survives a power loss."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: in WAL mode, NORMAL syncs only at checkpoints, so the last commits before a power loss can vanish
    # after their 201 was sent. FULL syncs the log at every commit: one fsync per write transaction.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """The transaction boundary: a session committed when the block ends, rolled back when it raises."""
    with sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def durability_problems(engine: Engine) -> list[str]:
    """What makes a commit return before it is on disk. SQLite is set up above; a PostgreSQL server is
    configured by its operator, and ``fsync=off`` or ``synchronous_commit=off`` there would make an upload's
    201 a promise the database does not keep."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as connection:
        fsync = connection.exec_driver_sql("SHOW fsync").scalar()
        synchronous_commit = connection.exec_driver_sql("SHOW synchronous_commit").scalar()
    problems = []
    if fsync != "on":
        problems.append("PostgreSQL runs with fsync=off: a crash of its machine can lose or corrupt committed rows")
    if synchronous_commit == "off":
        problems.append(
            "PostgreSQL runs with synchronous_commit=off: the last commits before a crash of its server can be "
            "lost after their 201 or 204 was sent"
        )
    return problems
