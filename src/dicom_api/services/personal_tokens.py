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
from dicom_api.db.repository import UserRepository
from dicom_api.errors import Conflict, InvalidParameter, NotFound, Unauthorized
from dicom_api.services.accounts import Principal, check_account

StoredToken = PersonalToken  # what the routes are handed: the personal_tokens table's row, detached
Transaction = Callable[[], AbstractContextManager[Session]]
DEFAULT_DAYS = 90
MAX_PER_USER = 100  # live tokens an account may hold: bounds the rows a user can make
TOUCH_SECONDS = 60  # last_used_at is written at most this often per token
_TOKEN_ID = re.compile(r"[0-9a-f]{32}")


class PersonalTokens:
    """Personal access tokens, each use case in a transaction of its own. Blocking: call it through
    ``RunBlocking``. Made, listed and revoked by the principal's own account, checked first (``check_account``)."""

    def __init__(self, transaction: Transaction, max_days: int) -> None:
        self.transaction = transaction
        self.max_days = max_days

    def create(
        self, principal: Principal, name: str, scope: str, expires_in_days: int | None
    ) -> tuple[str, PersonalToken]:
        """A new token for the principal's account: the secret (shown this once) and its stored row."""
        days = min(DEFAULT_DAYS, self.max_days) if expires_in_days is None else expires_in_days
        if not 1 <= days <= self.max_days:
            raise InvalidParameter(f"expires_in_days must be 1 to {self.max_days}.")
        if scope not in SCOPES:
            raise InvalidParameter("scope must be 'read' or 'write'.")
        with self.transaction() as session:
            user, tokens = _account(session, principal), PersonalTokenRepository(session)
            if len(tokens.live(user.id, user.token_version)) >= MAX_PER_USER:
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
            tokens.add(row)
        return secret, row

    def list(self, principal: Principal) -> Sequence[PersonalToken]:
        """The tokens that were not revoked, expired ones included (until revoked)."""
        with self.transaction() as session:
            user = _account(session, principal)
            return PersonalTokenRepository(session).live(user.id, user.token_version)

    def revoke(self, principal: Principal, token_id: str) -> None:
        """Another account's token, or one revoked already, is not found: the answer does not tell them apart."""
        with self.transaction() as session:
            user = _account(session, principal)
            if not is_token_id(token_id) or not PersonalTokenRepository(session).revoke(
                user.id, token_id, datetime.now(UTC)
            ):
                raise NotFound("No personal access token with this id.")

    def verify(self, secret: str, username: str | None, seen: Callable[[User], None]) -> Principal:
        """The principal a personal token stands for; ``username``: the one HTTP Basic named, which must be the
        token's account's (regardless of case, as usernames are). Unauthorized for any token that does not
        work. Its account is checked here, with the token's own read (``check_account``), so that a dead token
        is a 401 before any route's 403 (its scope, or a personal token where a session is needed)."""
        if len(secret) > MAX_LENGTH or not is_personal_token(secret):
            raise Unauthorized("The personal access token is not valid.")
        now = datetime.now(UTC)
        with self.transaction() as session:
            tokens = PersonalTokenRepository(session)
            found = tokens.by_hash(digest(secret))
            if found is None or (username is not None and username.lower() != found[1].username.lower()):
                raise Unauthorized("The personal access token is not valid for this account.")
            token, account = found
            if token.revoked_at is not None:
                raise Unauthorized("The personal access token has been revoked.")
            if token.expires_at <= now:
                raise Unauthorized("The personal access token has expired.")
            claims = Claims(token.user_id, token.user_version, token.id, int(token.expires_at.timestamp()))
            principal = Principal(claims, seen, token.scope, token.id)
            check_account(account, principal)
            recent = now - timedelta(seconds=TOUCH_SECONDS)
            if token.last_used_at is None or token.last_used_at < recent:  # decided here: most requests write nothing
                tokens.touch(token.id, now, recent)
        return principal


def is_token_id(text: str) -> bool:
    return _TOKEN_ID.fullmatch(text) is not None


def _account(session: Session, principal: Principal) -> User:
    return check_account(UserRepository(session).get(principal.claims.subject), principal)
