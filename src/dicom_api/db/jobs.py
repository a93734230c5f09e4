"""Queries on jobs. Every read a client asks for starts from the owner; the pool's own writes go by id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from dicom_api.db.models import Job

LIVE = ("queued", "running")


class JobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, job: Job) -> None:
        self.session.add(job)
        self.session.flush()

    def get(self, owner_id: str, job_id: str) -> Job | None:
        return self.session.scalars(select(Job).where(Job.owner_id == owner_id, Job.id == job_id)).one_or_none()

    def live_count(self, owner_id: str) -> int:
        query = select(func.count()).select_from(Job).where(Job.owner_id == owner_id, Job.state.in_(LIVE))
        return int(self.session.scalar(query) or 0)

    def set(self, job_id: str, **values: Any) -> bool:
        """Change a job that is still live; False when it has finished (or was declared interrupted)."""
        return _changed(self.session, update(Job).where(Job.id == job_id, Job.state.in_(LIVE)).values(**values)) == 1

    def beat(self, job_ids: Sequence[str], now: datetime) -> None:
        statement = update(Job).where(Job.id.in_(job_ids), Job.state.in_(LIVE)).values(heartbeat_at=now)
        self.session.execute(statement.execution_options(synchronize_session=False))

    def fail_stale(self, before: datetime, now: datetime, reason: str) -> int:
        """Declare failed every live job whose process stopped beating before ``before``."""
        statement = (
            update(Job)
            .where(Job.state.in_(LIVE), Job.heartbeat_at < before)
            .values(state="failed", error=reason, finished_at=now)
        )
        return _changed(self.session, statement)


def _changed(session: Session, statement: Update) -> int:
    result = session.execute(statement.execution_options(synchronize_session=False))
    return cast(CursorResult[Any], result).rowcount
