"""Queries on the remote AEs the C-STORE receiver accepts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dicom_api.db.models import RemoteAE, User


class RemoteAERepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, ae_title: str) -> RemoteAE | None:
        return self.session.get(RemoteAE, ae_title)

    def list(self) -> Sequence[tuple[RemoteAE, str]]:
        """Every remote AE with its user's name, by AE title."""
        query = select(RemoteAE, User.username).join(User, User.id == RemoteAE.user_id).order_by(RemoteAE.ae_title)
        return [(ae, username) for ae, username in self.session.execute(query)]

    def add(self, ae: RemoteAE) -> None:
        self.session.add(ae)
        self.session.flush()

    def delete(self, ae_title: str) -> bool:
        deleted = self.session.execute(delete(RemoteAE).where(RemoteAE.ae_title == ae_title))
        return bool(getattr(deleted, "rowcount", 0))
