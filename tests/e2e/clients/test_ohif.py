"""The OHIF viewer (npm @ohif/app) in the system's Chromium, on an origin of its own, reading the server.

Screenshots of the study list and of the viewer go to DICOM_API_SCREENSHOTS when it names a folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clients.ohif import ViewerSite, app_config, serve_viewer
from tests.e2e.clients.studies import Original, bearer_token, stow
from tests.e2e.clients.tools import CHROMIUM_ARGS, chromium, need_module, ohif_dist
from tests.e2e.live import Launch, LiveServer, free_port

pytestmark = [pytest.mark.clients, pytest.mark.slow]

TOKEN_TTL = "3600"
LOAD_MS = 60_000  # a cold start of the viewer on a busy machine, not a speed requirement


@pytest.fixture(scope="module")
def viewer_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def ohif_server(launch: Launch, viewer_port: int) -> LiveServer:
    """The server, letting the viewer's origin read it (CORS)."""
    return launch(
        DICOM_API_CORS_ORIGINS=f"http://127.0.0.1:{viewer_port}", DICOM_API_ACCESS_TOKEN_TTL_SECONDS=TOKEN_TTL
    )


@pytest.fixture(scope="module")
def site(ohif_server: LiveServer, viewer_port: int) -> Iterator[ViewerSite]:
    with serve_viewer(ohif_dist(), viewer_port, app_config(ohif_server.url)) as serving:
        yield serving


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium()
    sync_api = need_module("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def bare_page(browser: Any) -> Iterator[Any]:
    """A page of a fresh browser context: nothing stored."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, service_workers="block")
    yield context.new_page()
    context.close()


@pytest.fixture
def page(bare_page: Any, ohif_server: LiveServer) -> Any:
    """A fresh page whose sessionStorage holds the sign-in token before the app starts (see ohif.py)."""
    token = bearer_token(ohif_server.headers)
    bare_page.add_init_script(f"window.sessionStorage.setItem('dicom-api-token', {token!r});")
    return bare_page


@pytest.fixture(scope="module")
def seeded(ohif_server: LiveServer, instances: dict[str, Original]) -> dict[str, Original]:
    chosen = {name: instances[name] for name in ("ct", "mr", "multiframe")}
    with ohif_server.client() as client:
        answer = stow(client, [i.path for i in chosen.values()])
    assert answer.status_code == 200, f"STOW-RS to the server: {answer.status_code} {answer.text[:300]}"
    return chosen


def screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("DICOM_API_SCREENSHOTS")
    if folder:
        skip_tour = page.get_by_text("Skip all", exact=True)  # the first-visit tour hides part of the viewer
        if skip_tour.count():
            skip_tour.first.click()
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def qido_studies(request: Any, server: LiveServer) -> bool:
    return bool(request.url.startswith(f"{server.url}/dicomweb/studies"))


def test_the_study_list_signs_its_query_with_the_extension(
    page: Any, site: ViewerSite, ohif_server: LiveServer
) -> None:
    with page.expect_request(lambda r: qido_studies(r, ohif_server), timeout=LOAD_MS) as asked:
        page.goto(site.url + "/")
    assert asked.value.headers.get("authorization") == f"Bearer {bearer_token(ohif_server.headers)}"


def test_the_extension_takes_the_token_from_the_url_and_removes_it(
    bare_page: Any, site: ViewerSite, ohif_server: LiveServer
) -> None:
    token = bearer_token(ohif_server.headers)
    with bare_page.expect_request(lambda r: qido_studies(r, ohif_server), timeout=LOAD_MS) as asked:
        bare_page.goto(f"{site.url}/?token={token}")
    assert asked.value.headers.get("authorization") == f"Bearer {token}"
    assert "token=" not in bare_page.url


def test_a_viewer_url_with_token_signs_the_viewer_without_the_extension(
    bare_page: Any, site: ViewerSite, ohif_server: LiveServer, instances: dict[str, Original]
) -> None:
    """OHIF's own hook: ``?token=`` on the viewer route (not the study list), removed from the URL."""
    token, study = bearer_token(ohif_server.headers), instances["ct"].study
    site.config = app_config(ohif_server.url, sign_in_extension=False)
    try:
        with bare_page.expect_request(lambda r: qido_studies(r, ohif_server), timeout=LOAD_MS) as asked:
            bare_page.goto(f"{site.url}/viewer?StudyInstanceUIDs={study}&token={token}")
    finally:
        site.config = app_config(ohif_server.url)
    assert asked.value.headers.get("authorization") == f"Bearer {token}"
    assert "token=" not in bare_page.url


def test_the_study_list_shows_the_stored_studies(
    page: Any, site: ViewerSite, ohif_server: LiveServer, seeded: dict[str, Original]
) -> None:
    with page.expect_response(lambda r: qido_studies(r.request, ohif_server), timeout=LOAD_MS) as answered:
        page.goto(site.url + "/")
    assert answered.value.status == 200
    for original in (seeded["ct"], seeded["mr"]):
        name = original.dataset.PatientName  # the list shows "Family, Given"
        page.get_by_text(f"{name.family_name}, {name.given_name}", exact=True).first.wait_for(timeout=LOAD_MS)
    screenshot(page, "ohif-study-list")


def test_the_viewer_draws_the_ct_image(
    page: Any, site: ViewerSite, ohif_server: LiveServer, seeded: dict[str, Original]
) -> None:
    ct = seeded["ct"]
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}") if "/dicomweb/" in r.url else None)
    page.on(
        "response",
        lambda r: failed.append(f"{r.url} {r.status}") if "/dicomweb/" in r.url and r.status >= 400 else None,
    )
    with page.expect_response(lambda r: "/frames/" in r.url, timeout=LOAD_MS) as frame:
        page.goto(f"{site.url}/viewer?StudyInstanceUIDs={ct.study}")
    assert frame.value.status == 200
    page.wait_for_function(DRAWN, timeout=LOAD_MS)
    screenshot(page, "ohif-viewer")
    assert failed == []


# True once a viewport's canvas shows an image: many distinct grey levels, not a blank or uniform canvas.
DRAWN = """() => {
  for (const canvas of document.querySelectorAll('canvas.cornerstone-canvas')) {
    if (!canvas.width || !canvas.height) continue;
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const levels = new Set();
    for (let i = 0; i < pixels.length && levels.size < 32; i += 4 * 97) levels.add(pixels[i]);
    if (levels.size >= 32) return true;
  }
  return false;
}"""
