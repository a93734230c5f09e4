"""Queries on personal access tokens. Every one but the lookup by hash starts from the owner."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from dicom_api.db.models import PersonalToken, User


class PersonalTokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, token: PersonalToken) -> None:
        self.session.add(token)
        self.session.flush()

    def by_hash(self, token_hash: str) -> tuple[PersonalToken, User] | None:
        """The token with this hash and its account."""
        query = (
            select(PersonalToken, User)
            .join(User, User.id == PersonalToken.user_id)
            .where(PersonalToken.token_hash == token_hash)
        )
        row = self.session.execute(query).one_or_none()
        return None if row is None else (row[0], row[1])

    def live(self, user_id: str, user_version: int) -> Sequence[PersonalToken]:
        """The account's tokens that were neither revoked nor outlived a password change (expired included)."""
        query = (
            select(PersonalToken)
            .where(
                PersonalToken.user_id == user_id,
                PersonalToken.user_version == user_version,
                PersonalToken.revoked_at.is_(None),
            )
            .order_by(PersonalToken.created_at.desc(), PersonalToken.id)
        )
        return self.session.scalars(query).all()

    def revoke(self, user_id: str, token_id: str, now: datetime) -> bool:
        """False when the account has no such token, or it is revoked already."""
        statement = (
            update(PersonalToken)
            .where(PersonalToken.user_id == user_id, PersonalToken.id == token_id, PersonalToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return _changed(self.session, statement) == 1

    def touch(self, token_id: str, now: datetime, unless_since: datetime) -> None:
        """Record a use, unless one was recorded after ``unless_since``: one write a minute, not one a request."""
        statement = (
            update(PersonalToken)
            .where(
                PersonalToken.id == token_id,
                or_(PersonalToken.last_used_at.is_(None), PersonalToken.last_used_at < unless_since),
            )
            .values(last_used_at=now)
        )
        _changed(self.session, statement)


def _changed(session: Session, statement: Any) -> int:
    result = session.execute(statement.execution_options(synchronize_session=False))
    return cast(CursorResult[Any], result).rowcount
