"""Personal access tokens: long-lived random secrets for tools that cannot sign in with a password.

A token is ``dapi_`` and 43 URL-safe characters (256 random bits). The prefix tells it from a JWT at a glance
(and lets secret scanners find a leaked one). Only its SHA-256 is stored: for a secret with 256 bits of
entropy a fast hash is enough, since nobody can guess a preimage, however many hashes a second they try;
argon2, which makes a low-entropy password expensive to guess, would only cost every request tens of
milliseconds of CPU for nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

from dicom_api.errors import Unauthorized

PREFIX = "dapi_"
MAX_LENGTH = 128  # longer is not one of ours: refused before it is hashed
SCOPES = ("read", "write")


def new_personal_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def is_personal_token(secret: str) -> bool:
    return secret.startswith(PREFIX)


def digest(secret: str) -> str:
    """What is stored and looked up: the secret's SHA-256, hexadecimal."""
    return hashlib.sha256(secret.encode()).hexdigest()


def basic_credentials(encoded: str) -> tuple[str, str]:
    """Username and password of an HTTP Basic ``Authorization`` value (RFC 7617), the scheme removed.

    The password must be a personal access token: an account's password is never accepted here, so no
    request but a sign-in ever costs a password hash."""
    username, password = decode_basic(encoded)
    if not is_personal_token(password):
        raise Unauthorized(
            "HTTP Basic takes a personal access token as the password (POST /users/me/tokens), "
            "never the account's password."
        )
    return username, password


def decode_basic(encoded: str) -> tuple[str, str]:
    """Username and password of an HTTP Basic value (RFC 7617), whatever they are; 401 when malformed."""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("The Basic credentials are malformed.") from None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        raise Unauthorized("The Basic credentials are malformed.")
    return username, password
