"""Jobs: work that outlives its request, run by a bounded thread pool in this process, with its state in the
database so that any process answers its status.

A process beats for its live jobs every HEARTBEAT_SECONDS. A job whose heartbeat is older than STALE_SECONDS
belonged to a process that stopped (a restart, a crash): it is declared failed when a process starts and when
its status is read, so it never stays "running" for ever. A job is never resumed: its owner starts it again.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from dicom_api.db.jobs import LIVE, JobRepository
from dicom_api.db.models import Job
from dicom_api.errors import AppError, NotFound, TooManyRequests

StoredJob = Job  # what the routes are handed: the jobs table's row, detached
Transaction = Callable[[], AbstractContextManager[Session]]
HEARTBEAT_SECONDS = 15.0
STALE_SECONDS = 90.0
MAX_LIVE_PER_OWNER = 4  # queued or running jobs an account may have: bounds what one user can queue
INTERRUPTED = "Interrupted by a restart of the server; start it again."

log = logging.getLogger("dicom_api.jobs")


@dataclass
class Progress:
    """What a running job reports: items done so far (written to the database, with a heartbeat)."""

    jobs: Jobs
    job_id: str
    total: int
    done: int = 0

    def step(self) -> None:
        self.done += 1
        self.jobs._update(self.job_id, done=self.done, heartbeat_at=datetime.now(UTC))


Work = Callable[[Progress], dict[str, Any]]  # returns the job's result (JSON), run in a pool thread


class Jobs:
    """The job pool of this process: ``workers`` jobs run at once, the others wait in the queue."""

    def __init__(self, transaction: Transaction, workers: int) -> None:
        self.transaction = transaction
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self._live: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None

    def start(
        self, owner_id: str, kind: str, total: int, work: Work, also: Callable[[Session, str], None] | None = None
    ) -> StoredJob:
        """Record a queued job of ``owner_id`` and hand ``work`` to the pool; TooManyRequests when the owner
        has MAX_LIVE_PER_OWNER jobs queued or running already. ``also(session, job_id)`` stores what goes with
        the job, in its transaction (a share link that waits for it)."""
        now = datetime.now(UTC)
        job = Job(id=uuid.uuid4().hex, owner_id=owner_id, kind=kind, state="queued", done=0, total=total,
                  created_at=now, heartbeat_at=now)  # fmt: skip
        with self.transaction() as session:
            jobs = JobRepository(session)
            if jobs.live_count(owner_id) >= MAX_LIVE_PER_OWNER:
                raise TooManyRequests(f"At most {MAX_LIVE_PER_OWNER} jobs may wait or run at once.", retry_after=30)
            jobs.add(job)
            if also is not None:
                also(session, job.id)
        with self._lock:
            self._live.add(job.id)
        self._ensure_beating()
        self._pool.submit(self._run, job.id, total, work)
        return job

    def get(self, owner_id: str, job_id: str) -> StoredJob:
        """The owner's job (another's is not found); a live one whose process stopped is declared failed."""
        self.fail_interrupted()
        with self.transaction() as session:
            job = JobRepository(session).get(owner_id, job_id) if _is_id(job_id) else None
            if job is None:
                raise NotFound("No job with this id.")
            return job

    def fail_interrupted(self) -> int:
        """Declare failed the live jobs of processes that stopped beating (at start, and on every status read)."""
        now = datetime.now(UTC)
        with self.transaction() as session:
            return JobRepository(session).fail_stale(now - timedelta(seconds=STALE_SECONDS), now, INTERRUPTED)

    def close(self) -> None:
        """Stop taking jobs; those running finish in the background threads, queued ones are dropped (and
        declared failed once their heartbeat is stale)."""
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job_id: str, total: int, work: Work) -> None:
        try:
            if not self._update(job_id, state="running", heartbeat_at=datetime.now(UTC)):
                return  # declared interrupted meanwhile
            result = work(Progress(self, job_id, total))
            self._update(job_id, state="done", result=json.dumps(result), finished_at=datetime.now(UTC))
        except AppError as exc:
            self._update(job_id, state="failed", error=exc.message[:255], finished_at=datetime.now(UTC))
        except Exception:
            log.exception("job %s failed", job_id)
            self._update(
                job_id, state="failed", error="An internal error stopped the job.", finished_at=datetime.now(UTC)
            )
        finally:
            with self._lock:
                self._live.discard(job_id)

    def _update(self, job_id: str, **values: Any) -> bool:
        with self.transaction() as session:
            return JobRepository(session).set(job_id, **values)

    def _ensure_beating(self) -> None:
        with self._lock:
            if self._beater is None:
                self._beater = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
                self._beater.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with self._lock:
                live = list(self._live)
            if live:
                try:
                    with self.transaction() as session:
                        JobRepository(session).beat(live, datetime.now(UTC))
                except Exception:  # the database is down: the next beat tries again
                    log.exception("could not record the jobs' heartbeat")


def is_live(job: StoredJob) -> bool:
    return job.state in LIVE


def _is_id(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)
