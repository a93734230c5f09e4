"""Blob storage behind one small interface (see base.BlobStore)."""

from __future__ import annotations

from urllib.parse import urlparse
from urllib.request import url2pathname

from dicom_api.storage.base import BlobStore, validate_key
from dicom_api.storage.filesystem import FilesystemBlobStore

__all__ = ["BlobStore", "FilesystemBlobStore", "open_blob_store", "validate_key"]


def open_blob_store(url: str) -> BlobStore:
    """Build the store named by ``url``: ``file:///path`` (the embedded default)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FilesystemBlobStore(url2pathname(parsed.path))
    raise ValueError(f"Unsupported storage URL scheme {parsed.scheme!r}: use file://")
