"""Queries on files. Every read goes through here, so visibility rules have one home."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dicom_api.db.models import DicomFile


class FileRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: DicomFile) -> None:
        self.session.add(row)
        self.session.flush()

    def get(self, file_id: str) -> DicomFile | None:
        return self.session.get(DicomFile, file_id)

    def list(self, *, limit: int, offset: int) -> Sequence[DicomFile]:
        query = select(DicomFile).order_by(DicomFile.created_at.desc(), DicomFile.id.desc())
        return self.session.scalars(query.limit(limit).offset(offset)).all()

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(DicomFile)) or 0)

    def delete(self, row: DicomFile) -> None:
        self.session.delete(row)
        self.session.flush()
