"""The audit trail: append-only, each entry hashed together with the previous entry's hash.

Entries are written in their own transaction, so a request that fails (a denied attempt) is still recorded.
`verify` recomputes the chain: any edited, removed or inserted entry breaks it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from dicom_api.db.models import AuditEvent, AuditHead
from dicom_api.db.repository import AuditRepository

GENESIS = "0" * 64


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


def entry_hash(prev_hash: str, seq: int, at: datetime, entry: AuditEntry) -> str:
    fields = {"seq": seq, "at": at.astimezone(UTC).isoformat(timespec="microseconds"), **entry.__dict__}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


class AuditLog:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def append(self, entry: AuditEntry) -> None:
        with self._sessions() as session, session.begin():
            repo = AuditRepository(session)
            head = repo.lock_head()
            seq, at = head.seq + 1, datetime.now(UTC)
            digest = entry_hash(head.hash, seq, at, entry)
            repo.add(AuditEvent(seq=seq, at=at, prev_hash=head.hash, hash=digest, **entry.__dict__))
            head.seq, head.hash = seq, digest

    def search(
        self,
        *,
        user_id: str | None = None,
        file_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[Sequence[AuditEvent], int]:
        with self._sessions() as session:
            return AuditRepository(session).search(
                user_id=user_id, file_id=file_id, action=action, since=since, until=until, limit=limit, offset=offset
            )

    def verify(self) -> list[str]:
        """Every break in the chain, as a sentence; empty when the trail is intact."""
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
