"""The audit trail: append-only, each entry hashed together with the previous entry's hash.

Most entries are written in their own transaction, so a request that fails (a denied attempt) is still
recorded: requests `record` them on a queue that one writer thread commits in batches, one transaction (one
chain-head lock, one fsync) for every entry that arrived meanwhile, instead of one per request, which
serialised every request behind the database's write lock. A crash loses what was queued and not yet written.
A change that is acknowledged (an upload, a delete) cannot take that chance: its entry is appended with
`append_in`, in the change's own transaction, and commits with it or not at all. Both take the chain's head the
same way, so they form one chain. `verify` recomputes the chain: any edited, removed or inserted entry breaks it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dicom_api.db.models import AuditEvent, AuditHead
from dicom_api.db.repository import AuditRepository

GENESIS = "0" * 64
MAX_BATCH = 1000
BATCH_SECONDS = 0.1  # how long the writer lets entries gather: one commit per interval under load
RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)

log = logging.getLogger("dicom_api.audit")


@dataclass(frozen=True)
class AuditEntry:
    action: str
    outcome: str
    status: int
    user_id: str | None = None
    username: str | None = None
    file_id: str | None = None
    client: str | None = None
    request_id: str | None = None
    token_id: str | None = None  # the personal access token the request was made with (or made, or revoked)
    share_id: str | None = None  # the share link the request was made with (or made, or revoked)


_TEXT_LIMIT = 64  # the audit columns' length


def clean(entry: AuditEntry) -> AuditEntry:
    """The entry as it can be stored: no NUL or other control characters (PostgreSQL refuses NUL in text; a
    hostile username carries anything), no field longer than its column. Hashed as stored."""
    fields = {}
    for name, value in entry.__dict__.items():
        if isinstance(value, str):
            value = "".join("\ufffd" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in value)[:_TEXT_LIMIT]
        fields[name] = value
    return AuditEntry(**fields)


def entry_hash(prev_hash: str, seq: int, at: datetime, entry: AuditEntry) -> str:
    fields = {"seq": seq, "at": at.astimezone(UTC).isoformat(timespec="microseconds"), **entry.__dict__}
    for later in ("token_id", "share_id"):  # hashed as before the field existed: older entries still verify
        if fields[later] is None:
            del fields[later]
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


class AuditLog:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._queue: queue.SimpleQueue[tuple[AuditEntry, datetime] | None] = queue.SimpleQueue()
        self._pending = 0  # recorded, not yet committed
        self._idle = threading.Condition()
        self._writer: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def append(self, entry: AuditEntry) -> None:
        """Write one entry now (the command line, tests)."""
        self._write([(entry, datetime.now(UTC))])

    def append_in(self, session: Session, entry: AuditEntry) -> None:
        """Append ``entry`` in the caller's transaction: it commits with the change it records, or not at all.

        Call it as the last statement before the commit. It locks the chain's head as the writer thread does
        (the head's UPDATE first, on every database), so a request and a batch wait for each other there and
        nowhere else, and the head stays locked only until the caller's commit."""
        _chain(session, [(entry, datetime.now(UTC))])

    def record(self, entry: AuditEntry) -> None:
        """Queue an entry for the writer thread; it is stamped now, when the request ended."""
        with self._idle:
            self._pending += 1
        self._queue.put((entry, datetime.now(UTC)))
        if self._writer is None:
            self._start_writer()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every recorded entry is committed; False if that took longer than ``timeout``."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is queued and stop the writer."""
        writer = self._writer
        if writer is not None:
            self._queue.put(None)
            writer.join(timeout)
            if writer.is_alive():
                log.error("%d audit entries were not written before shutdown", self._pending)

    def _start_writer(self) -> None:
        with self._start_lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._writer.start()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            batch = [] if first is None else [first]
            stopping = first is None
            if not stopping:
                time.sleep(BATCH_SECONDS)
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            if batch:
                self._write_until_done(batch, stopping)

    def _write_until_done(self, batch: list[tuple[AuditEntry, datetime]], stopping: bool) -> None:
        """Retry while the database is unreachable: an entry is never dropped for that while the process lives.
        A batch refused for its content is written entry by entry, so one bad entry cannot hold up the rest."""
        attempt = 0
        while True:
            try:
                self._write(batch)
                break
            except (OperationalError, InterfaceError):
                log.exception("could not write %d audit entries; retrying", len(batch))
                if stopping:
                    log.error("%d audit entries were lost at shutdown", len(batch))
                    break
                threading.Event().wait(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
            except Exception:
                if len(batch) == 1:
                    entry = batch[0][0]
                    log.exception("audit entry refused by the database: %s %s (request %s)", entry.action,
                                  entry.outcome, entry.request_id)  # fmt: skip
                    break
                for item in batch:
                    self._write_until_done([item], stopping)
                return
        with self._idle:
            self._pending -= len(batch)
            self._idle.notify_all()

    def _write(self, batch: list[tuple[AuditEntry, datetime]]) -> None:
        with self._sessions() as session, session.begin():
            _chain(session, batch)

    def search(
        self,
        *,
        user_id: str | None = None,
        file_id: str | None = None,
        action: str | None = None,
        share_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[Sequence[AuditEvent], int]:
        self.flush()  # what this process recorded is part of the answer
        with self._sessions() as session:
            return AuditRepository(session).search(
                user_id=user_id,
                file_id=file_id,
                action=action,
                share_id=share_id,
                since=since,
                until=until,
                limit=limit,
                offset=offset,
            )

    def verify(self) -> list[str]:
        """Every break in the chain, as a sentence; empty when the trail is intact."""
        self.flush()
        problems: list[str] = []
        prev, expected_seq = GENESIS, 1
        with self._sessions() as session:
            for event in AuditRepository(session).in_order():
                entry = AuditEntry(**{k: getattr(event, k) for k in AuditEntry.__dataclass_fields__})
                if event.seq != expected_seq:
                    problems.append(f"entry {expected_seq} is missing (found {event.seq} next)")
                if event.prev_hash != prev:
                    problems.append(f"entry {event.seq} does not follow the previous entry's hash")
                if entry_hash(event.prev_hash, event.seq, event.at, entry) != event.hash:
                    problems.append(f"entry {event.seq} was altered: its hash does not match its content")
                prev, expected_seq = event.hash, event.seq + 1
            head = session.get(AuditHead, 1)
            if head is not None and (head.seq, head.hash) != (expected_seq - 1, prev):
                problems.append(f"the trail ends at entry {expected_seq - 1} but its head records entry {head.seq}")
        return problems


def _chain(session: Session, batch: list[tuple[AuditEntry, datetime]]) -> None:
    """Append ``batch`` after the chain's head, which stays locked until ``session`` commits or rolls back."""
    repo = AuditRepository(session)
    seq, digest = repo.lock_head()
    rows = []
    for raw, at in batch:
        entry = clean(raw)
        prev, seq = digest, seq + 1
        digest = entry_hash(prev, seq, at, entry)
        rows.append({"seq": seq, "at": at, "prev_hash": prev, "hash": digest, **entry.__dict__})
    repo.add_all(rows)
    repo.move_head(seq, digest)
