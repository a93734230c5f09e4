"""Share links: read-only access to a fixed set of the owner's files (a study, a series or chosen files), until
the link expires or its owner revokes it, optionally de-identified and behind a passcode.

The link's token is checked in the database on every use (services/share_access.py), with its revocation,
expiry, owner and files: no process keeps a decision that could outlive a revocation. A de-identified share
opens de-identified copies, made by a job (services/deidentify_study.py) as new files of the owner: what the
link serves is then those copies, by every route, and never the originals.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from dicom_api.auth.share_tokens import digest, new_share_token
from dicom_api.auth.tokens import Claims
from dicom_api.db import qido as index
from dicom_api.db.models import AuditEvent, Job, Share, User
from dicom_api.db.repository import FileRepository, UserRepository
from dicom_api.db.shares import ShareRepository
from dicom_api.errors import Conflict, Gone, InvalidParameter, NotFound
from dicom_api.services.accounts import Principal, ShareScope, check_account
from dicom_api.services.files import StoredFile

StoredShare = Share  # what the routes are handed: the shares table's row, detached
Transaction = Callable[[], AbstractContextManager[Session]]
MAX_FILES = 10_000  # files one share may open: bounds the set every use loads
MAX_LIVE_PER_OWNER = 200
TOUCH_SECONDS = 60  # last_used_at is written at most this often per share
_ID = re.compile(r"[0-9a-f]{32}")
_UID = re.compile(r"[0-9.]{1,64}")


@dataclass(frozen=True)
class Target:
    """What a share opens, as its owner names it: a study, a series of a study, or files."""

    study_uid: str | None = None
    series_uid: str | None = None
    file_ids: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "files" if self.file_ids else "series" if self.series_uid else "study"


@dataclass(frozen=True)
class Listed:
    share: StoredShare
    files: int
    uses: int


@dataclass(frozen=True)
class Grant:
    """A share link found live: the principal it stands for, and its passcode's hash to check, if it has one."""

    principal: Principal
    passcode_hash: str | None


class Shares:
    """Share links, each use case in a transaction of its own. Blocking: call it through ``RunBlocking``."""

    def __init__(self, transaction: Transaction, max_seconds: int) -> None:
        self.transaction = transaction
        self.max_seconds = max_seconds

    def expiry(self, expires_in: int) -> datetime:
        if not 60 <= expires_in <= self.max_seconds:
            raise InvalidParameter(f"expires_in must be 60 to {self.max_seconds} seconds.")
        return datetime.now(UTC) + timedelta(seconds=expires_in)

    def resolve(self, principal: Principal, target: Target) -> list[str]:
        """The ids of the principal's files that ``target`` names; NotFound when it names none of theirs (or
        any file that is not theirs: a share never opens another's file)."""
        with self.transaction() as session:
            owner = check_account(UserRepository(session).get(principal.claims.subject), principal).id
            if target.file_ids:
                ids = list(dict.fromkeys(target.file_ids))
                if not all(_ID.fullmatch(i) for i in ids) or len(FileRepository(session, owner).having(ids)) != len(
                    ids
                ):
                    raise NotFound("No DICOM file with one of these ids.")
            else:
                if not target.study_uid or not _UID.fullmatch(target.study_uid):
                    raise InvalidParameter("Name a study_uid (and optionally a series_uid), or file_ids.")
                rows = index.instances(session, owner, target.study_uid, target.series_uid)
                ids = [row.id for row in rows]
                if not ids:
                    raise NotFound("No study or series with this UID.")
        if len(ids) > MAX_FILES:
            raise InvalidParameter(f"A share opens at most {MAX_FILES} files.")
        return ids

    def new(
        self, principal: Principal, kind: str, expires_at: datetime, passcode_hash: str | None, deidentified: bool
    ) -> tuple[str, StoredShare]:
        """A share's secret and its row, not stored yet (``add`` stores it)."""
        secret = new_share_token()
        share = Share(id=uuid.uuid4().hex, owner_id=principal.claims.subject, token_hash=digest(secret),
                      passcode_hash=passcode_hash, kind=kind, deidentified=deidentified,
                      created_at=datetime.now(UTC), expires_at=expires_at)  # fmt: skip
        return secret, share

    def add(self, session: Session, share: StoredShare, file_ids: Sequence[str] = ()) -> None:
        """Store ``share`` in ``session`` (the caller's transaction: a de-identified share is stored with its job)."""
        shares = ShareRepository(session)
        if shares.live_count(share.owner_id) >= MAX_LIVE_PER_OWNER:
            raise Conflict(f"An account holds at most {MAX_LIVE_PER_OWNER} share links: revoke one first.")
        shares.add(share, file_ids)

    def store(self, principal: Principal, share: StoredShare, file_ids: Sequence[str]) -> None:
        with self.transaction() as session:
            check_account(UserRepository(session).get(principal.claims.subject), principal)
            self.add(session, share, file_ids)

    def fill(self, share_id: str, file_ids: Sequence[str]) -> None:
        """The files a de-identified share opens, once its job has made them."""
        with self.transaction() as session:
            ShareRepository(session).add_files(share_id, file_ids)

    def list(self, principal: Principal) -> list[Listed]:
        """The principal's shares, newest first, revoked and expired ones included, with their counts."""
        with self.transaction() as session:
            owner = _owner(session, principal)
            shares = ShareRepository(session)
            rows = shares.owned(owner)
            counts = shares.counts([s.id for s in rows]) if rows else {}
            return [Listed(s, *counts.get(s.id, (0, 0))) for s in rows]

    def get(self, principal: Principal, share_id: str, uses: int = 100) -> tuple[Listed, Sequence[AuditEvent]]:
        """One of the principal's shares with its counts and its latest ``uses`` audit entries."""
        with self.transaction() as session:
            shares = ShareRepository(session)
            share = shares.get(_owner(session, principal), share_id) if _ID.fullmatch(share_id) else None
            if share is None:
                raise NotFound("No share link with this id.")
            return Listed(share, *shares.counts([share.id])[share.id]), shares.uses(share.id, uses)

    def revoke(self, principal: Principal, share_id: str) -> None:
        """Another's share, or one revoked already, is not found: the answer does not tell them apart."""
        with self.transaction() as session:
            owner = _owner(session, principal)
            if not _ID.fullmatch(share_id) or not ShareRepository(session).revoke(owner, share_id, datetime.now(UTC)):
                raise NotFound("No share link with this id.")

    def open(self, secret: str, named: Callable[[str], None]) -> Grant | None:
        """The grant of a share link, checked now in the database; None for a token that is no share's.
        ``named`` is told the share's id before any refusal, for the audit trail. Gone (410) when it was revoked
        or has expired, Conflict while its de-identification runs, Unauthorized when its owner's account is
        disabled."""
        now = datetime.now(UTC)
        with self.transaction() as session:
            shares = ShareRepository(session)
            found = shares.by_hash(digest(secret))
            if found is None:
                return None
            share, owner, job = found
            named(share.id)
            _check_live(share, job, now)
            claims = Claims(owner.id, owner.token_version, share.id, int(share.expires_at.timestamp()))
            scope = ShareScope(share.id, shares.file_ids(share.id), share.deidentified)
            principal = Principal(claims, scope="read", share=scope)
            check_account(owner, principal)
            if share.last_used_at is None or share.last_used_at < now - timedelta(seconds=TOUCH_SECONDS):
                shares.touch(share.id, now)
        return Grant(principal, share.passcode_hash)

    def files(self, principal: Principal) -> Sequence[StoredFile]:
        """The files a share link opens (its manifest)."""
        if principal.share is None:
            raise NotFound("This needs a share link.")
        with self.transaction() as session:
            return ShareRepository(session).files(_owner(session, principal), principal.share.share_id)


def _check_live(share: Share, job: Job | None, now: datetime) -> None:
    if share.revoked_at is not None:
        raise Gone("This share link has been revoked.")
    if share.expires_at <= now:
        raise Gone("This share link has expired.")
    if job is not None and job.state in ("queued", "running"):
        raise Conflict("This share link's de-identified copy is still being made; try again shortly.")
    if job is not None and job.state == "failed":
        raise Gone("This share link's de-identified copy could not be made.")


def is_share_id(text: str) -> bool:
    return _ID.fullmatch(text) is not None


def _owner(session: Session, principal: Principal) -> str:
    user: User = check_account(UserRepository(session).get(principal.claims.subject), principal)
    return user.id
