"""Helpers of the DICOMweb tests: DICOM files with chosen UIDs, and STOW-RS bodies framed as real clients frame them."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pydicom
import pytest
from fastapi.testclient import TestClient
from httpx import Response

from dicom_api.config import Settings
from tests import databases
from tests.helpers import sample, settings_for

BOUNDARY = "b0undary-0123456789"
DICOM_JSON = "application/dicom+json"
STOW_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
UID = {"study": "0020000D", "series": "0020000E", "sop": "00080018"}


def on_both_databases(request: pytest.FixtureRequest, tmp_path: Path, **overrides: object) -> Settings:
    """Settings on SQLite (in the SQLite pass) or on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        if databases.BACKEND != "sqlite":
            pytest.skip("the SQLite pass runs it")
        return settings_for(tmp_path / "data", **overrides)
    url = request.getfixturevalue("fresh_postgres_url")
    return settings_for(tmp_path / "data", database_url=url, **overrides)


BOTH = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def instance(study: str, series: str, sop: str, base: str = "CT_small.dcm", **values: object) -> bytes:
    """A pydicom test file as another instance: its UIDs and any attributes replaced."""
    ds = pydicom.dcmread(sample(base))
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study, series, sop
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()


def multipart(
    parts: Sequence[bytes],
    *,
    boundary: str = BOUNDARY,
    lead: bytes = b"",
    part_type: str | None = "application/dicom",
    lengths: bool = False,
) -> bytes:
    """A multipart/related body: ``lead`` before the first boundary (a CRLF, a preamble), optional Content-Length
    per part (as Orthanc sends them)."""
    body = bytearray(lead)
    for content in parts:
        body += f"--{boundary}\r\n".encode()
        if part_type is not None:
            body += f"Content-Type: {part_type}\r\n".encode()
        if lengths:
            body += f"Content-Length: {len(content)}\r\n".encode()
        body += b"\r\n" + content + b"\r\n"
    return bytes(body + f"--{boundary}--\r\n".encode())


def stow(
    client: TestClient,
    parts: Sequence[bytes],
    *,
    study: str | None = None,
    content_type: str = STOW_TYPE,
    accept: str = DICOM_JSON,
    **framing: Any,
) -> Response:
    path = "/dicomweb/studies" + (f"/{study}" if study else "")
    headers = {"Content-Type": content_type, "Accept": accept}
    return client.post(path, content=multipart(parts, **framing), headers=headers)


def chunked(data: bytes, size: int = 1000) -> Iterator[bytes]:
    """The body as a generator: sent with Transfer-Encoding: chunked."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def sequence(answer: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    return list(answer.get(tag, {}).get("Value", []))


def values(items: list[dict[str, Any]], tag: str) -> list[Any]:
    return [item[tag]["Value"][0] for item in items]


def spooled(settings: Settings) -> list[Path]:
    """Files left in the spool folders."""
    root = settings.spool_dir
    return [p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".lock")] if root.exists() else []


def blobs(settings: Settings) -> list[Path]:
    """Stored files in the filesystem blob store."""
    root = settings.data_dir / "blobs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
