"""Helpers shared by the tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient
from pydicom.data import get_testdata_file

from dicom_api.config import Settings
from dicom_api.db.migrate import upgrade
from dicom_api.main import create_app


def sample(name: str) -> Path:
    """A file of pydicom's own test data (shipped with pydicom, never downloaded)."""
    path = get_testdata_file(name, download=False)
    assert path is not None, f"pydicom test file {name} is missing"
    return Path(str(path))


def make_client(settings: Settings) -> Iterator[TestClient]:
    upgrade(settings.database_url)
    with TestClient(create_app(settings)) as client:
        yield client
