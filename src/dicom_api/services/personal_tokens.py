"""Personal access tokens: created and revoked by a signed-in user, checked on every request that bears one.

A token is bound to its account's token version when it is made (db/models.py PersonalToken): changing the
password, an admin's password reset, a role change or disabling the account bumps that version, so every
personal token of the account stops working with the account's sessions; the account check itself (active,
same version) is the one a session's token goes through (services/accounts.py check_account).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from dicom_api.auth.personal_tokens import MAX_LENGTH, SCOPES, digest, is_personal_token, new_personal_token
from dicom_api.auth.tokens import Claims
from dicom_api.db.models import PersonalToken, User
from dicom_api.db.personal_tokens import PersonalTokenRepository
from dicom_api.errors import Conflict, InvalidParameter, NotFound, Unauthorized

Transaction = Callable[[], AbstractContextManager[Session]]
DEFAULT_DAYS = 90
MAX_PER_USER = 100  # live tokens an account may hold: bounds the rows a user can make
TOUCH_SECONDS = 60  # last_used_at is written at most this often per token
_TOKEN_ID = re.compile(r"[0-9a-f]{32}")


class PersonalTokenService:
    def __init__(self, session: Session, max_days: int) -> None:
        self.tokens = PersonalTokenRepository(session)
        self.max_days = max_days

    def create(self, user: User, name: str, scope: str, expires_in_days: int | None) -> tuple[str, PersonalToken]:
        """A new token for ``user``: the secret (shown this once) and its stored row."""
        days = min(DEFAULT_DAYS, self.max_days) if expires_in_days is None else expires_in_days
        if not 1 <= days <= self.max_days:
            raise InvalidParameter(f"expires_in_days must be 1 to {self.max_days}.")
        if scope not in SCOPES:
            raise InvalidParameter("scope must be 'read' or 'write'.")
        if len(self.tokens.live(user.id, user.token_version)) >= MAX_PER_USER:
            raise Conflict(f"An account holds at most {MAX_PER_USER} tokens: revoke one first.")
        secret, now = new_personal_token(), datetime.now(UTC)
        row = PersonalToken(
            id=uuid.uuid4().hex,
            user_id=user.id,
            name=name,
            token_hash=digest(secret),
            scope=scope,
            user_version=user.token_version,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        self.tokens.add(row)
        return secret, row

    def list(self, user: User) -> Sequence[PersonalToken]:
        """The tokens that were not revoked, expired ones included (until revoked)."""
        return self.tokens.live(user.id, user.token_version)

    def revoke(self, user: User, token_id: str) -> None:
        """Another account's token, or one revoked already, is not found: the answer does not tell them apart."""
        if not is_token_id(token_id) or not self.tokens.revoke(user.id, token_id, datetime.now(UTC)):
            raise NotFound("No personal access token with this id.")


def is_token_id(text: str) -> bool:
    return _TOKEN_ID.fullmatch(text) is not None


def verify_personal_token(transaction: Transaction, secret: str, username: str | None = None) -> Claims:
    """The claims a personal token stands for; ``username``: the one HTTP Basic named, which must be the
    token's account's (regardless of case, as usernames are). Unauthorized for any token that does not work;
    its account's state is read with it, and checked again with the request's first read, as for a session."""
    if len(secret) > MAX_LENGTH or not is_personal_token(secret):
        raise Unauthorized("The personal access token is not valid.")
    now = datetime.now(UTC)
    with transaction() as session:
        tokens = PersonalTokenRepository(session)
        found = tokens.by_hash(digest(secret))
        if found is None or (username is not None and username.lower() != found[1].username.lower()):
            raise Unauthorized("The personal access token is not valid for this account.")
        token, account = found
        if token.revoked_at is not None:
            raise Unauthorized("The personal access token has been revoked.")
        if token.expires_at <= now:
            raise Unauthorized("The personal access token has expired.")
        if not account.is_active or account.token_version != token.user_version:
            # Checked again with the request's account read, as for a session; here too, so that a dead token
            # is a 401 before any route's 403 (its scope, or a personal token where a session is needed).
            raise Unauthorized("The personal access token is no longer valid.")
        recent = now - timedelta(seconds=TOUCH_SECONDS)
        if token.last_used_at is None or token.last_used_at < recent:  # decided here: most requests write nothing
            tokens.touch(token.id, now, recent)
        return Claims(
            subject=token.user_id,
            version=token.user_version,
            token_id=token.id,
            expires_at=int(token.expires_at.timestamp()),
            scope=token.scope,
            personal_token_id=token.id,
        )
