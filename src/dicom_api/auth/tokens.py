"""Access tokens: JWT (RFC 7519) signed with HS256, RS256 or ES256; the algorithm is pinned on decode.

Claims: sub (user id), iat, exp, jti, iss, aud, and ver, the user's token version: changing a password or
disabling the user bumps it, which invalidates every token issued before.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from cachetools import LRUCache

from dicom_api.errors import Unauthorized

SECRET_FILE = "jwt-secret"  # noqa: S105 - a file name, not a secret
VERIFIED_BYTES = 2 * 1024 * 1024  # tokens whose signature was checked, kept per process up to this much
CLAIMS_BYTES = 400  # a Claims object, its strings and the cache's entry, beside the token's own characters


@dataclass(frozen=True)
class Claims:
    subject: str
    version: int
    token_id: str
    expires_at: int


class TokenCodec:
    def __init__(
        self,
        *,
        algorithm: str,
        signing_key: str | bytes,
        verification_keys: list[str | bytes],
        issuer: str,
        audience: str,
        ttl_seconds: int,
    ) -> None:
        self.algorithm = algorithm
        self._signing_key = signing_key
        self._verification_keys = verification_keys
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        # A client sends the same token with every request: its signature and claims are checked once,
        # its expiry every time (verifying again cost a fifth of an attribute read).
        self._verified: LRUCache[str, tuple[Claims, int]] = LRUCache(VERIFIED_BYTES, getsizeof=lambda v: v[1])
        self._lock = threading.Lock()

    def encode(self, subject: str, version: int) -> str:
        now = int(time.time())
        claims = {
            "sub": subject,
            "ver": version,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
            "iss": self.issuer,
            "aud": self.audience,
        }
        return jwt.encode(claims, self._signing_key, algorithm=self.algorithm)

    def decode(self, token: str) -> Claims:
        """Verify signature, algorithm, expiry, issuer and audience; any failure is a 401."""
        with self._lock:
            kept = self._verified.get(token)
        if kept is None:
            claims = self._verify(token)
            with self._lock:
                self._verified[token] = (claims, len(token) + CLAIMS_BYTES)
            return claims
        claims = kept[0]
        if claims.expires_at <= time.time():
            raise Unauthorized("The token has expired.")
        return claims

    def _verify(self, token: str) -> Claims:
        for key in self._verification_keys:
            try:
                data = jwt.decode(
                    token,
                    key,
                    algorithms=[self.algorithm],
                    audience=self.audience,
                    issuer=self.issuer,
                    options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"]},
                )
            except jwt.InvalidSignatureError:
                continue  # maybe signed with a key being rotated out
            except jwt.ExpiredSignatureError:
                raise Unauthorized("The token has expired.") from None
            except jwt.PyJWTError:
                raise Unauthorized("The token is not valid.") from None
            if not isinstance(data.get("ver"), int) or not isinstance(data.get("sub"), str):
                raise Unauthorized("The token is not valid.")
            return Claims(data["sub"], data["ver"], data["jti"], int(data["exp"]))
        raise Unauthorized("The token is not valid.")


def load_or_create_secret(data_dir: Path, name: str = SECRET_FILE) -> str:
    """The embedded set-up's signing key: made once, kept owner-only in the data folder across restarts.

    Written to a temporary file and linked into place, so a concurrent reader never sees a partial key.
    """
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_dir / f"{name}.{uuid.uuid4().hex}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fp:
            fp.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another worker made it first: use theirs
        finally:
            tmp.unlink()
    return path.read_text(encoding="ascii").strip()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)
