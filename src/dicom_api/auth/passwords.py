"""Passwords hashed with argon2id (RFC 9106) through argon2-cffi."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dicom_api.errors import InvalidParameter

MIN_LENGTH = 12
MAX_LENGTH = 1024  # hashing cost grows with length: bound it
_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
# Verified against when the user does not exist, so an unknown name costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidParameter(f"The password must be at least {MIN_LENGTH} characters long.")
    if len(password) > MAX_LENGTH:
        raise InvalidParameter(f"The password must be at most {MAX_LENGTH} characters long.")


def hash_password(password: str) -> str:
    check_policy(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists (pass None for an unknown user)."""
    try:
        ok = _hasher.verify(password_hash or _DUMMY_HASH, password[:MAX_LENGTH])
    except (VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def lanes() -> int:
    """Threads one hash keeps busy (argon2's parallelism)."""
    return int(_hasher.parallelism)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
