"""`dicom-api ohif install` for real (the npm registry), then "Open in OHIF" from the page: the viewer at /ohif/
shows the study, signed in by the page's token, without a failed request or a console error."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydicom.data import get_testdata_file

from dicom_api.ohif import InstallError, install, ohif_folder
from tests import databases
from tests.e2e.clients.tools import unavailable
from tests.e2e.live import LiveServer, run_server
from tests.e2e.ui.browser import Console
from tests.e2e.ui.conftest import Person, make_user, shoot
from tests.helpers import JWT_SECRET

pytestmark = pytest.mark.slow
TIMEOUT = 60_000


@pytest.fixture(scope="module")
def ohif_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("ohif-server")
    try:
        install(workdir / "data")
    except InstallError as exc:
        unavailable(f"OHIF could not be installed from the npm registry: {exc}")
    with contextlib.ExitStack() as stack:
        env = {}
        if databases.BACKEND == "postgres":
            env = {"DICOM_API_DATABASE_URL": stack.enter_context(databases.lease()), "DICOM_API_JWT_SECRET": JWT_SECRET}
        yield stack.enter_context(run_server(workdir, env))


def test_open_in_ohif(ohif_server: LiveServer, chromium: Any) -> None:
    assert (ohif_folder(ohif_server.data_dir) / "index.html").is_file()
    person: Person = make_user(ohif_server, "olga")
    with httpx.Client(base_url=ohif_server.url, timeout=60) as api:
        token = api.post("/auth/token", data={"username": person.username, "password": person.password}).json()
        stored = api.post(
            "/upload/dicom",
            files={"file": ("ct.dcm", Path(get_testdata_file("CT_small.dcm")).read_bytes())},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert stored.status_code == 201
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    console, failed = Console(), []
    context.on("page", console.watch)
    context.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    tab = context.new_page()
    console.watch(tab)
    tab.goto(f"{ohif_server.url}/ui/")
    tab.get_by_label("Username").fill(person.username)
    tab.get_by_label("Password").fill(person.password)
    tab.get_by_role("button", name="Sign in").click()
    tab.get_by_role("link", name="CompressedSamples CT1").click()
    with context.expect_page() as opened:
        tab.get_by_role("button", name="Open in OHIF").click()
    viewer = opened.value
    viewer.locator("canvas").first.wait_for(timeout=TIMEOUT)
    viewer.get_by_text("CT").first.wait_for(timeout=TIMEOUT)
    viewer.wait_for_timeout(3000)  # the image's own requests
    shoot(viewer, "ohif")
    context.close()
    assert failed == []
    assert console.errors == []
