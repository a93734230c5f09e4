"""Blob storage behind one small interface (see base.BlobStore)."""

from __future__ import annotations

from urllib.parse import urlparse
from urllib.request import url2pathname

from dicom_api.storage.base import BlobStore, validate_key
from dicom_api.storage.filesystem import FilesystemBlobStore
from dicom_api.storage.s3 import S3BlobStore, S3Options

__all__ = ["BlobStore", "FilesystemBlobStore", "S3BlobStore", "S3Options", "open_blob_store", "validate_key"]


def open_blob_store(url: str, s3: S3Options | None = None) -> BlobStore:
    """Build the store named by ``url``: ``file:///path`` (the embedded default) or ``s3://bucket/prefix``,
    reached with ``s3`` (endpoint, region, credentials; boto3's defaults when None)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FilesystemBlobStore(url2pathname(parsed.path))
    if parsed.scheme == "s3":
        return S3BlobStore(url, s3)
    raise ValueError(f"Unsupported storage URL scheme {parsed.scheme!r}: use file:// or s3://")
