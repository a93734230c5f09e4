"""A server, two users and a folder of images for the page's browser tests."""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from tests.e2e.live import Launch, LiveServer
from tests.e2e.ui.browser import Console, browser

# Screenshots for the README are written when DICOM_API_SCREENSHOTS names a folder (docs/screenshots).
SCREENSHOTS = os.environ.get("DICOM_API_SCREENSHOTS", "")
ADMIN_PASSWORD = secrets.token_urlsafe(18)
PATIENT = "Browser^Test"


@dataclass(frozen=True)
class Person:
    username: str
    password: str


@dataclass(frozen=True)
class Folder:
    path: Path
    images: int  # DICOM files in it
    study_uid: str
    refused: int  # files in it that are not DICOM


@pytest.fixture(scope="module")
def ui_server(launch: Launch) -> LiveServer:
    return launch(DICOM_API_ADMIN_PASSWORD=ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def admin() -> Person:
    return Person("admin", ADMIN_PASSWORD)


def make_user(server: LiveServer, username: str) -> Person:
    password = secrets.token_urlsafe(16)
    with server.client() as api:
        response = api.post("/users", json={"username": username, "password": password})
        assert response.status_code == 201, response.text
    return Person(username, password)


@pytest.fixture(scope="module")
def alice(ui_server: LiveServer) -> Person:
    return make_user(ui_server, "alice")


@pytest.fixture(scope="module")
def bob(ui_server: LiveServer) -> Person:
    return make_user(ui_server, "bob")


def series_files(folder: Path, source: str, count: int, study_uid: str, number: int, description: str) -> None:
    """``count`` instances of one new series of ``study_uid``, copies of pydicom's ``source``."""
    dataset = pydicom.dcmread(get_testdata_file(source))
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study_uid, generate_uid()
    dataset.PatientName, dataset.PatientID, dataset.StudyDate = PATIENT, "UI-0001", "20240115"
    dataset.SeriesNumber, dataset.SeriesDescription, dataset.StudyDescription = number, description, "Browser test"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(1, count + 1):
        dataset.SOPInstanceUID = generate_uid()
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        dataset.InstanceNumber = index
        dataset.save_as(folder / f"{number:02d}-{index:04d}.dcm", enforce_file_format=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    """A study of a CT series (6 images) and a multi-frame MR series, in sub-folders, and one file that is not DICOM."""
    root = tmp_path_factory.mktemp("study") / "exam"
    study = generate_uid()
    series_files(root / "ct", "CT_small.dcm", 6, study, 1, "CT axial")
    series_files(root / "mr", "emri_small.dcm", 1, study, 2, "MR multi-frame")
    (root / "notes.txt").write_text("not an image\n")
    return Folder(root, 7, study, 1)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with browser() as launched:
        yield launched


@pytest.fixture
def page(chromium: Any) -> Iterator[tuple[Any, Console]]:
    """A fresh browser context (no storage shared between tests) at a laptop's size, its console watched."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    console = Console()
    console.watch(opened)
    try:
        yield opened, console
    finally:
        context.close()


def shoot(page: Any, name: str) -> None:
    """A screenshot of the screen for the README (<DICOM_API_SCREENSHOTS>/<name>.png), when asked for."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        shot = Image.open(io.BytesIO(page.screenshot(scale="css", type="png")))
        shot.convert("RGB").quantize(colors=128).save(Path(SCREENSHOTS) / f"{name}.png", optimize=True)  # small
