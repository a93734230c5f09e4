"""Queries. Every read of files starts from the owner: what a caller may not see does not exist."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete, Update

from dicom_api.db.models import AuditEvent, AuditHead, DicomFile, LoginFailure, RefreshToken, User


class FileRepository:
    def __init__(self, session: Session, owner_id: str) -> None:
        self.session = session
        self.owner_id = owner_id

    def add(self, row: DicomFile) -> None:
        """Insert ``row`` (which stays outside the session): one INSERT statement, without the unit of work's
        bookkeeping, which was a sixth of an upload's CPU."""
        row.owner_id = self.owner_id
        columns = {c.key: getattr(row, c.key) for c in DicomFile.__table__.columns}
        self.session.execute(insert(DicomFile), [columns])

    def list(self, *, limit: int, offset: int) -> Sequence[DicomFile]:
        query = (
            select(DicomFile)
            .where(DicomFile.owner_id == self.owner_id)
            .order_by(DicomFile.created_at.desc(), DicomFile.id.desc())
        )
        return self.session.scalars(query.limit(limit).offset(offset)).all()

    def stored(self, checksums: Sequence[str]) -> set[str]:
        """Which of these SHA-256 checksums belong to a file of the owner."""
        query = select(DicomFile.sha256).where(DicomFile.owner_id == self.owner_id, DicomFile.sha256.in_(checksums))
        return set(self.session.scalars(query.distinct()))

    def count(self) -> int:
        query = select(func.count()).select_from(DicomFile).where(DicomFile.owner_id == self.owner_id)
        return int(self.session.scalar(query) or 0)

    def ids_of(self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None) -> Sequence[str]:
        """Every file of the owner's study, series or SOP instance (a SOP instance may be stored more than once)."""
        query = select(DicomFile.id).where(
            DicomFile.owner_id == self.owner_id, DicomFile.study_instance_uid == study_uid
        )
        if series_uid is not None:
            query = query.where(DicomFile.series_instance_uid == series_uid)
        if sop_uid is not None:
            query = query.where(DicomFile.sop_instance_uid == sop_uid)
        return self.session.scalars(query.order_by(DicomFile.id)).all()

    def by_sop(self, sop_uid: str) -> Sequence[DicomFile]:
        """The owner's files stored as SOP instance ``sop_uid``, newest first."""
        query = select(DicomFile).where(DicomFile.owner_id == self.owner_id, DicomFile.sop_instance_uid == sop_uid)
        return self.session.scalars(query.order_by(DicomFile.created_at.desc(), DicomFile.id.desc())).all()

    def remove(self, file_id: str) -> bool:
        """Delete the owner's file row; False when it was already gone."""
        statement = delete(DicomFile).where(DicomFile.owner_id == self.owner_id, DicomFile.id == file_id)
        return _changed(self.session, statement) == 1


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, user_id: str) -> User | None:
        return self.session.get(User, user_id)

    def by_username(self, username: str) -> User | None:
        """Usernames are unique regardless of case, and found regardless of case."""
        query = select(User).where(func.lower(User.username) == username.lower())
        return self.session.scalars(query).one_or_none()

    def list(self, *, limit: int, offset: int) -> Sequence[User]:
        return self.session.scalars(select(User).order_by(User.created_at, User.id).limit(limit).offset(offset)).all()

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(User)) or 0)

    def count_active_admins(self) -> int:
        query = select(func.count()).select_from(User).where(User.role == "admin", User.is_active.is_(True))
        return int(self.session.scalar(query) or 0)

    def owns_files(self, user_id: str) -> bool:
        return self.session.scalar(select(DicomFile.id).where(DicomFile.owner_id == user_id).limit(1)) is not None

    def add(self, user: User) -> None:
        self.session.add(user)
        self.session.flush()

    def update(self, user_id: str, values: Mapping[str, Any]) -> bool:
        """Change the account in one UPDATE; False when it no longer exists. Decided by the row count, so a
        concurrent delete is an answer, not a StaleDataError at flush."""
        return _changed(self.session, update(User).where(User.id == user_id).values(**values)) == 1

    def update_if_unchanged(self, user_id: str, seen_version: int, values: Mapping[str, Any]) -> bool:
        """Change the account if it is still active and at the token version that was read: a password
        change or a disabling in between bumped it, and wins."""
        statement = update(User).where(User.id == user_id, User.is_active.is_(True), User.token_version == seen_version)
        return _changed(self.session, statement.values(**values)) == 1

    def delete(self, user_id: str) -> bool:
        """False when it was already gone."""
        return _changed(self.session, delete(User).where(User.id == user_id)) == 1


class RefreshTokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: RefreshToken) -> None:
        self.session.add(token)
        self.session.flush()

    def by_hash(self, token_hash: str) -> RefreshToken | None:
        return self.session.scalars(select(RefreshToken).where(RefreshToken.token_hash == token_hash)).one_or_none()

    def spend(self, token_id: int, now: datetime) -> bool:
        """Mark the token used, if nobody has yet. The row count decides, on every database: SQLite ignores
        SELECT ... FOR UPDATE, and two requests that both read "not yet used" would both rotate."""
        statement = update(RefreshToken).where(RefreshToken.id == token_id, RefreshToken.revoked_at.is_(None))
        return _changed(self.session, statement.values(revoked_at=now)) == 1

    def revoke_family(self, family_id: str, now: datetime) -> None:
        self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def revoke_user(self, user_id: str, now: datetime) -> None:
        self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )


class LoginFailureRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def recent(
        self, keys: Sequence[str], since: datetime, excluding: Sequence[int] = ()
    ) -> dict[str, tuple[int, datetime, datetime]]:
        """Per key with failures since ``since`` (other than the rows ``excluding``): how many, the oldest and
        the newest, in one query."""
        query = (
            select(LoginFailure.key, func.count(), func.min(LoginFailure.at), func.max(LoginFailure.at))
            .where(LoginFailure.key.in_(keys), LoginFailure.at > since, LoginFailure.id.not_in(excluding))
            .group_by(LoginFailure.key)
        )
        return {key: (int(count), oldest, newest) for key, count, oldest, newest in self.session.execute(query)}

    def add(self, keys: Sequence[str], at: datetime) -> list[int]:
        """One failure per key; their row ids."""
        rows = [{"key": key, "at": at} for key in keys]
        return list(self.session.scalars(insert(LoginFailure).returning(LoginFailure.id), rows))

    def remove(self, ids: Sequence[int]) -> None:
        self.session.execute(delete(LoginFailure).where(LoginFailure.id.in_(ids)))

    def clear(self, keys: Sequence[str]) -> None:
        self.session.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys)))

    def prune(self, before: datetime) -> None:
        self.session.execute(delete(LoginFailure).where(LoginFailure.at < before))


_HEAD = cast(Table, AuditHead.__table__)
_EVENTS = cast(Table, AuditEvent.__table__)


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_head(self) -> tuple[int, str]:
        """Take the chain's head for this transaction: the last entry's (seq, hash). The UPDATE comes first, so
        concurrent appenders wait for this transaction there, before reading anything. Core statements: an
        upload runs this in its own transaction, where the ORM's bookkeeping cost more than the statements."""
        connection = self.session.connection()
        connection.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq))
        seq, digest = connection.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).one()
        return int(seq), str(digest)

    def move_head(self, seq: int, digest: str) -> None:
        self.session.connection().execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=seq, hash=digest))

    def add_all(self, events: list[dict[str, Any]]) -> None:
        """One multi-row INSERT for a batch of entries (column name -> value)."""
        self.session.connection().execute(insert(_EVENTS), events)

    def search(
        self,
        *,
        user_id: str | None,
        file_id: str | None,
        action: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[AuditEvent], int]:
        conditions = []
        if user_id:
            conditions.append(AuditEvent.user_id == user_id)
        if file_id:
            conditions.append(AuditEvent.file_id == file_id)
        if action:
            conditions.append(AuditEvent.action == action)
        if since:
            conditions.append(AuditEvent.at >= since)
        if until:
            conditions.append(AuditEvent.at < until)
        rows = self.session.scalars(
            select(AuditEvent).where(*conditions).order_by(AuditEvent.seq.desc()).limit(limit).offset(offset)
        ).all()
        total = int(self.session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0)
        return rows, total

    def in_order(self) -> Iterator[AuditEvent]:
        """The whole trail in order, streamed in batches (it grows without bound)."""
        query = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)
        yield from self.session.scalars(query)


def _changed(session: Session, statement: Update | Delete) -> int:
    """Rows matched by a bulk UPDATE or DELETE; objects already loaded are left as they are (refresh them)."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return cast(CursorResult[Any], result).rowcount
