"""Accounts: users, access and refresh tokens (sign-in itself and its throttle: services/signin.py)."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dicom_api.auth.passwords import hash_password
from dicom_api.auth.tokens import Claims, TokenCodec, new_refresh_token
from dicom_api.db.models import RefreshToken, User
from dicom_api.db.repository import RefreshTokenRepository, UserRepository
from dicom_api.errors import Conflict, InvalidParameter, NotFound, Unauthorized

ROLES = ("user", "admin")
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{2,63}")
_USER_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def check_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        raise InvalidParameter(
            "The username must be 3 to 64 characters: letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit."
        )
    return username


def is_username(text: str) -> bool:
    return _USERNAME.fullmatch(text) is not None


Account = User  # the users table's row: what the routes are handed of an account


@dataclass(frozen=True)
class ShareScope:
    """What a share link opens: its files (all of one owner's), read-only. Built from the database on every
    use, so a revocation or an expiry holds from the next request on, in every process."""

    share_id: str
    file_ids: frozenset[str]
    deidentified: bool


@dataclass(frozen=True)
class Principal:
    """Who asks: a bearer token's verified claims, and what to tell once their account is known (the audit
    trail names the caller even when the request is then refused).

    ``scope`` is "write" for a signed-in session, a personal access token's own ("read" or "write");
    ``personal_token_id`` names that token (None for a session), for the audit trail. ``share``: the bearer
    holds a share link (services/shares.py), with the owner's account as ``claims.subject``: every read sees
    only the share's files, and nothing else is allowed (api/deps.py)."""

    claims: Claims
    seen: Callable[[User], None] = lambda _account: None
    scope: str = "write"
    personal_token_id: str | None = None
    share: ShareScope | None = None

    @property
    def can_write(self) -> bool:
        return self.scope == "write" and self.share is None

    def may_read(self, file_id: str) -> bool:
        """Whether a file of the account is within this principal's reach (a share link opens only its own)."""
        return self.share is None or file_id in self.share.file_ids


def check_account(account: User | None, principal: Principal) -> User:
    """The one account check: the token's account, if it still exists, is active and has not revoked its
    tokens since. Every request with a session's token or a personal access token goes through here."""
    if account is None or not account.is_active or account.token_version != principal.claims.version:
        raise Unauthorized("The token is no longer valid.")
    principal.seen(account)
    return account


class AccountService:
    def __init__(self, session: Session, codec: TokenCodec, refresh_ttl_seconds: int) -> None:
        self.session = session
        self.users = UserRepository(session)
        self.refresh_tokens = RefreshTokenRepository(session)
        self.codec = codec
        self.refresh_ttl = timedelta(seconds=refresh_ttl_seconds)

    # tokens

    def issue(self, user_id: str, token_version: int, family_id: str | None = None) -> TokenPair:
        refresh = new_refresh_token()
        now = datetime.now(UTC)
        self.refresh_tokens.add(
            RefreshToken(
                token_hash=_digest(refresh),
                family_id=family_id or uuid.uuid4().hex,
                user_id=user_id,
                created_at=now,
                expires_at=now + self.refresh_ttl,
            )
        )
        return TokenPair(self.codec.encode(user_id, token_version), refresh, self.codec.ttl_seconds)

    def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent and a new pair issued. A spent token presented again means
        it was copied: the whole family is revoked. Of concurrent requests with one token, the conditional
        UPDATE lets exactly one spend it; the others are that reuse."""
        now = datetime.now(UTC)
        stored = self.refresh_tokens.by_hash(_digest(refresh_token))
        if stored is None:
            raise Unauthorized("The refresh token is not valid.")
        if stored.revoked_at is not None or not self.refresh_tokens.spend(stored.id, now):
            self.refresh_tokens.revoke_family(stored.family_id, now)
            self.session.commit()  # the revocation must stand although this request fails
            raise Unauthorized("The refresh token has already been used or revoked.")
        if stored.expires_at <= now:
            raise Unauthorized("The refresh token has expired.")
        user = self.users.get(stored.user_id)
        if user is None or not user.is_active:
            raise Unauthorized("The account is disabled.")
        return self.issue(user.id, user.token_version, stored.family_id)

    def logout(self, refresh_token: str) -> None:
        stored = self.refresh_tokens.by_hash(_digest(refresh_token))
        if stored is not None:
            self.refresh_tokens.revoke_family(stored.family_id, datetime.now(UTC))

    # accounts

    def create(
        self, username: str, password: str | None = None, role: str = "user", *, password_hash: str | None = None
    ) -> User:
        """A new account, with ``password`` or its ready-made ``password_hash`` (hashed beforehand, with no
        connection held: see services/signin.py)."""
        check_username(username)
        if role not in ROLES:
            raise InvalidParameter("role must be 'user' or 'admin'.")
        if password_hash is None:  # hashed before the first query: no connection is held meanwhile
            password_hash = hash_password(password or "")
        if self.users.by_username(username) is not None:  # the lookup ignores case: "Alice" is "alice"
            raise Conflict("This username is taken.")
        user = User(
            id=uuid.uuid4().hex,
            username=username,
            password_hash=password_hash,
            role=role,
            is_active=True,
            token_version=0,
            created_at=datetime.now(UTC),
        )
        try:
            self.users.add(user)
        except IntegrityError:
            raise Conflict("This username is taken.") from None
        return user

    def ensure_admin(self, password: str) -> str | None:
        """With no account at all, create 'admin'. Returns the password when it had to be generated."""
        if self.users.count():
            return None
        generated = None if password else secrets.token_urlsafe(18)
        try:
            self.create("admin", password or generated or "", role="admin")
            self.session.commit()
        except (Conflict, IntegrityError):  # another worker created it at the same moment
            self.session.rollback()
            return None
        return generated

    def get(self, user_id: str) -> User:
        user = self.users.get(user_id) if _USER_ID.fullmatch(user_id) else None
        if user is None:
            raise NotFound("No user with this id.")
        return user

    def by_username(self, username: str) -> User:
        user = self.users.by_username(username)
        if user is None:
            raise NotFound("No user with this name.")
        return user

    def list(self, *, limit: int, offset: int) -> tuple[Sequence[User], int]:
        return self.users.list(limit=limit, offset=offset), self.users.count()

    def update(
        self,
        user: User,
        *,
        is_active: bool | None = None,
        role: str | None = None,
        password: str | None = None,
        password_hash: str | None = None,
    ) -> User:
        """Change an account in one conditional UPDATE: deleted meanwhile, it is a 404, whatever the timing.
        A new password is given as such, or already hashed (with no connection held: services/signin.py)."""
        if role is not None and role not in ROLES:
            raise InvalidParameter("role must be 'user' or 'admin'.")
        if (is_active is False or role == "user") and user.role == "admin" and self._last_admin(user):
            raise Conflict("This is the last active admin account.")
        values: dict[str, object] = {}
        if password is not None:
            password_hash = hash_password(password)
        if password_hash is not None:
            values["password_hash"] = password_hash
        if is_active is not None:
            values["is_active"] = is_active
        if role is not None:
            values["role"] = role
        revoke = password_hash is not None or is_active is False or role is not None
        if revoke:  # every token issued before stops working
            values["token_version"] = User.token_version + 1
        if not values:
            return user
        if not self.users.update(user.id, values):
            raise NotFound("No user with this id.")
        if revoke:
            self.refresh_tokens.revoke_user(user.id, datetime.now(UTC))
        self.session.refresh(user)  # the row is ours until the commit: it cannot vanish here
        return user

    def delete(self, user: User) -> None:
        if user.role == "admin" and self._last_admin(user):
            raise Conflict("This is the last active admin account.")
        if self.users.owns_files(user.id):
            raise Conflict("The user still owns files: disable the account instead.")
        try:
            deleted = self.users.delete(user.id)
        except IntegrityError:  # a file was stored for the account since the check above
            raise Conflict("The user still owns files: disable the account instead.") from None
        if not deleted:
            raise NotFound("No user with this id.")

    def _last_admin(self, user: User) -> bool:
        return user.is_active and self.users.count_active_admins() <= 1


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
