"""Share link tokens: ``dshr_`` and 43 URL-safe characters (256 random bits), stored as SHA-256 alone, like
personal access tokens (auth/personal_tokens.py, which says why a fast hash is enough for such a secret)."""

from __future__ import annotations

import secrets

from dicom_api.auth.personal_tokens import digest

__all__ = ["MAX_LENGTH", "PREFIX", "digest", "is_share_token", "new_share_token"]

PREFIX = "dshr_"
MAX_LENGTH = 128  # longer is not one of ours: refused before it is hashed or looked up


def new_share_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def is_share_token(secret: str) -> bool:
    return secret.startswith(PREFIX) and len(secret) <= MAX_LENGTH
