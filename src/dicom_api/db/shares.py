"""Queries on share links. Every one but the lookup by hash starts from the owner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.orm import Session

from dicom_api.db.models import AuditEvent, DicomFile, Job, Share, ShareFile, User


class ShareRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, share: Share, file_ids: Sequence[str] = ()) -> None:
        self.session.add(share)
        self.session.flush()
        self.add_files(share.id, file_ids)

    def add_files(self, share_id: str, file_ids: Sequence[str]) -> None:
        if file_ids:
            self.session.execute(insert(ShareFile), [{"share_id": share_id, "file_id": f} for f in file_ids])

    def by_hash(self, token_hash: str) -> tuple[Share, User, Job | None] | None:
        """The share with this token hash, its owner's account and its de-identification job, if any."""
        query = (
            select(Share, User, Job)
            .join(User, User.id == Share.owner_id)
            .outerjoin(Job, Job.id == Share.job_id)
            .where(Share.token_hash == token_hash)
        )
        row = self.session.execute(query).one_or_none()
        return None if row is None else (row[0], row[1], row[2])

    def file_ids(self, share_id: str) -> frozenset[str]:
        return frozenset(self.session.scalars(select(ShareFile.file_id).where(ShareFile.share_id == share_id)))

    def files(self, owner_id: str, share_id: str) -> Sequence[DicomFile]:
        """The files a share opens, in study, series and instance order."""
        query = (
            select(DicomFile)
            .join(ShareFile, ShareFile.file_id == DicomFile.id)
            .where(ShareFile.share_id == share_id, DicomFile.owner_id == owner_id)
            .order_by(
                DicomFile.study_instance_uid, DicomFile.series_instance_uid, DicomFile.instance_number, DicomFile.id
            )
        )
        return self.session.scalars(query).all()

    def get(self, owner_id: str, share_id: str) -> Share | None:
        return self.session.scalars(select(Share).where(Share.owner_id == owner_id, Share.id == share_id)).one_or_none()

    def live_count(self, owner_id: str) -> int:
        """The owner's shares that were not revoked (expired ones included, until revoked)."""
        query = select(func.count()).select_from(Share).where(Share.owner_id == owner_id, Share.revoked_at.is_(None))
        return int(self.session.scalar(query) or 0)

    def owned(self, owner_id: str) -> Sequence[Share]:
        query = select(Share).where(Share.owner_id == owner_id).order_by(Share.created_at.desc(), Share.id)
        return self.session.scalars(query).all()

    def counts(self, share_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Per share: its number of files, and of uses answered with success (from the audit trail: the entries
        with the share's id and no account, as the owner's own steps, making or revoking it, name theirs)."""
        files = select(ShareFile.share_id, func.count()).where(ShareFile.share_id.in_(share_ids))
        used = select(AuditEvent.share_id, func.count()).where(
            AuditEvent.share_id.in_(share_ids), AuditEvent.status < 400, AuditEvent.user_id.is_(None)
        )
        found = {row[0]: row[1] for row in self.session.execute(files.group_by(ShareFile.share_id))}
        uses = {row[0]: row[1] for row in self.session.execute(used.group_by(AuditEvent.share_id))}
        return {s: (int(found.get(s, 0)), int(uses.get(s, 0) or 0)) for s in share_ids}

    def uses(self, share_id: str, limit: int) -> Sequence[AuditEvent]:
        """The audit entries of a share, newest first: each use, refused ones included."""
        query = select(AuditEvent).where(AuditEvent.share_id == share_id).order_by(AuditEvent.seq.desc())
        return self.session.scalars(query.limit(limit)).all()

    def revoke(self, owner_id: str, share_id: str, now: datetime) -> bool:
        """False when the owner has no such share, or it is revoked already."""
        statement = (
            update(Share)
            .where(Share.owner_id == owner_id, Share.id == share_id, Share.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        result = self.session.execute(statement.execution_options(synchronize_session=False))
        return cast(CursorResult[Any], result).rowcount == 1

    def touch(self, share_id: str, now: datetime) -> None:
        statement = update(Share).where(Share.id == share_id).values(last_used_at=now)
        self.session.execute(statement.execution_options(synchronize_session=False))
