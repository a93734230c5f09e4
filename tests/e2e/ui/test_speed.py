"""How fast the page feels with many studies and a long series, measured in the browser and printed (not asserted:
speed is reported, the README quotes it). DICOM_API_UI_STUDIES sets the number of studies (default 1000)."""

from __future__ import annotations

import io
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from tests.e2e.live import LiveServer
from tests.e2e.ui.browser import Console
from tests.e2e.ui.conftest import Person, make_user

STUDIES = int(os.environ.get("DICOM_API_UI_STUDIES", "1000"))
SERIES_IMAGES = 300
TIMEOUT = 60_000

pytestmark = pytest.mark.slow


def _copies(count: int, same_series: bool) -> list[bytes]:
    """``count`` encoded copies of CT_small: each its own study, or all one series."""
    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID = generate_uid(), generate_uid()
    encoded = []
    for index in range(1, count + 1):
        if not same_series:
            dataset.StudyInstanceUID, dataset.SeriesInstanceUID = generate_uid(), generate_uid()
            dataset.PatientName, dataset.PatientID = f"Many^Patient{index:04d}", f"M{index:04d}"
        else:
            dataset.PatientName, dataset.PatientID = "Long^Series", "L0001"
        dataset.SOPInstanceUID = generate_uid()
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        dataset.InstanceNumber = index
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        encoded.append(buffer.getvalue())
    return encoded


def _store(server: LiveServer, person: Person, files: list[bytes]) -> None:
    with server.client() as admin:
        token = admin.post("/auth/token", data={"username": person.username, "password": person.password})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def send(body: bytes) -> None:
        with server.client() as api:
            response = api.post("/upload/dicom", files={"file": ("x.dcm", body)}, headers=headers)
            assert response.status_code == 201, response.text

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, files))


@pytest.fixture(scope="module")
def carol(ui_server: LiveServer) -> Person:
    """A user with STUDIES studies of one image and one series of SERIES_IMAGES images."""
    person = make_user(ui_server, "carol")
    started = time.perf_counter()
    _store(ui_server, person, _copies(STUDIES, same_series=False) + _copies(SERIES_IMAGES, same_series=True))
    print(f"\nstored {STUDIES + SERIES_IMAGES} files in {time.perf_counter() - started:.1f} s")
    return person


def test_study_list_and_series_scrolling(
    ui_server: LiveServer, carol: Person, page: tuple[Any, Console], capsys: pytest.CaptureFixture[str]
) -> None:
    tab, console = page
    tab.goto(f"{ui_server.url}/ui/")
    tab.get_by_label("Username").fill(carol.username)
    tab.get_by_label("Password").fill(carol.password)
    started = time.perf_counter()
    tab.get_by_role("button", name="Sign in").click()
    tab.locator("table.studies tbody tr").first.wait_for(timeout=TIMEOUT)
    listed = time.perf_counter() - started
    query = tab.evaluate("performance.getEntriesByName('studies-listed')[0].detail.ms")
    started = time.perf_counter()
    tab.get_by_role("link", name="Next page").click()
    tab.get_by_text("Studies 26–50").wait_for(timeout=TIMEOUT)
    next_page = time.perf_counter() - started

    tab.get_by_label("Patient name").fill("Long")
    tab.get_by_role("button", name="Search").click()
    tab.get_by_role("link", name="Long Series").click()
    tab.get_by_role("link", name="CT").click()
    tab.wait_for_selector("img.frame[data-index='1'][src^='blob:']", timeout=TIMEOUT)
    tab.locator(".stage").focus()
    started = time.perf_counter()
    for index in range(2, SERIES_IMAGES + 1):  # one image after another, as a reader steps through the series
        tab.keyboard.press("ArrowDown")
        tab.wait_for_selector(f"img.frame[data-index='{index}']", timeout=TIMEOUT)
    stepped = time.perf_counter() - started
    marks = tab.evaluate("performance.getEntriesByName('image-shown').map(m => m.detail)")
    cached = sum(1 for m in marks if m["cached"])
    waits = sorted(m["ms"] for m in marks)
    with capsys.disabled():
        print(
            f"\n{STUDIES} studies: first page {listed * 1000:.0f} ms after Sign in (its search {query:.0f} ms),"
            f" next page {next_page * 1000:.0f} ms"
            f"\n{SERIES_IMAGES}-image series stepped in {stepped:.1f} s ({stepped / (SERIES_IMAGES - 1) * 1000:.0f} ms"
            f" an image); {cached} of {len(marks)} images were there already (prefetched); wait for an image:"
            f" median {waits[len(waits) // 2]:.0f} ms, 95th percentile {waits[int(len(waits) * 0.95)]:.0f} ms"
        )
    assert len(marks) >= SERIES_IMAGES
    assert console.errors == []
