"""The blob store interface. Keys are made by the server (UUID hex, optionally with a fixed prefix), never
taken from client input; every implementation still validates them so a bad key can never become a path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol

# An original: "<32 hex>". Derived data of an original: "<kind>/<32 hex>/<name>"; its prefix "<kind>/<32 hex>".
_KEY = re.compile(r"[0-9a-f]{32}|[a-z]+/[0-9a-f]{32}(?:/[0-9a-z_-][0-9a-z_.-]{0,63})?")


def validate_key(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key:
        raise ValueError("invalid blob key")
    return key


class BlobStore(Protocol):
    def put_file(self, key: str, source: Path) -> None:
        """Store the local file ``source`` under ``key``, durably; the source is consumed (moved or deleted).
        Never overwrites an existing blob."""

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (replacing any previous value: used for derived data only)."""

    def open(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A seekable binary reader of the blob; raises FileNotFoundError when absent."""

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes from ``start`` (fewer at the end of the blob)."""

    def delete(self, key: str) -> None:
        """Remove the blob; absent is not an error."""

    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob whose key starts with ``prefix`` + '/'."""

    def exists(self, key: str) -> bool: ...

    def keys(self) -> Iterator[str]:
        """Every key in the store (for consistency checks)."""
