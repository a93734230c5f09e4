"""The page at /ui/ in a real browser: sign in, upload a folder, find the study, view a frame with another window,
read a tag, delete, sign out; another user sees none of it; the console stays clean."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.live import LiveServer
from tests.e2e.ui.browser import Console
from tests.e2e.ui.conftest import PATIENT, Folder, Person, make_user, shoot

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is missing").expect
TIMEOUT = 30_000  # ms: the first renders start the render workers


def sign_in(page: Any, server: LiveServer, person: Person) -> None:
    page.goto(f"{server.url}/")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Studies").wait_for(timeout=TIMEOUT)


def nav(page: Any, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()


def upload(page: Any, folder: Folder) -> Any:
    nav(page, "Upload")
    page.locator("#pick-folder").set_input_files(str(folder.path))
    batch = page.locator("section.batch").first
    batch.get_by_text(re.compile("^Done:")).wait_for(timeout=TIMEOUT * 2)
    return batch


def unexpected(console: Console) -> list[str]:
    """Console errors, but for the refusal of the file that is not DICOM, which the browser reports itself."""
    return [e for e in console.errors if not (e.startswith("Failed to load resource") and "/upload/dicom" in e)]


def test_a_user_uploads_views_inspects_and_deletes(
    ui_server: LiveServer, alice: Person, folder: Folder, page: tuple[Any, Console]
) -> None:
    tab, console = page
    tab.goto(f"{ui_server.url}/")
    assert tab.url.endswith("/ui/")
    shoot(tab, "sign-in")
    sign_in(tab, ui_server, alice)

    batch = upload(tab, folder)
    assert batch.locator("[data-count=stored]").inner_text() == f"Stored: {folder.images}"
    assert batch.locator("[data-count=refused]").inner_text() == f"Refused: {folder.refused}"
    assert "notes.txt" in batch.locator(".refused").inner_text()
    shoot(tab, "upload")
    again = upload(tab, folder)
    assert again.locator("[data-count=already]").inner_text() == f"Already there: {folder.images}"
    assert again.locator("[data-count=stored]").inner_text() == "Stored: 0"

    nav(tab, "Studies")
    tab.get_by_label("Patient name").fill("browser")
    tab.get_by_role("button", name="Search").click()
    row = tab.get_by_role("link", name=PATIENT.replace("^", " "))
    row.wait_for(timeout=TIMEOUT)
    shoot(tab, "studies")
    row.click()
    tab.get_by_role("heading", name="Series (2)").wait_for(timeout=TIMEOUT)
    expect(tab.locator(".series-card img[src^='blob:']")).to_have_count(2, timeout=TIMEOUT)
    shoot(tab, "study")

    tab.get_by_role("link", name=re.compile("CT axial")).click()
    image = tab.locator("img.frame")
    tab.wait_for_selector("img.frame[src^='blob:']", timeout=TIMEOUT)
    assert image.get_attribute("data-window") == "default"
    tab.get_by_label("Window", exact=True).select_option("lung")
    tab.wait_for_selector("img.frame[data-window='-600,1500']", timeout=TIMEOUT)
    box = tab.locator(".stage").bounding_box()
    tab.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tab.mouse.down()
    tab.mouse.move(box["x"] + box["width"] / 2 - 60, box["y"] + box["height"] / 2 + 30, steps=5)
    tab.mouse.up()
    expect(tab.get_by_label("Window", exact=True)).to_have_value("custom")
    tab.wait_for_selector("img.frame:not([data-window='default']):not([data-window='-600,1500'])", timeout=TIMEOUT)
    tab.locator(".stage").focus()
    tab.keyboard.press("ArrowDown")
    tab.wait_for_selector("img.frame[data-index='2']", timeout=TIMEOUT)

    tab.get_by_label("Window", exact=True).select_option("soft")
    tab.wait_for_selector("img.frame[data-window='40,400']", timeout=TIMEOUT)
    tab.get_by_role("button", name="Header").click()
    tab.get_by_label("Search the header").fill("PatientName")
    name = tab.locator(".inspector li[data-tag='00100010']")
    name.wait_for(timeout=TIMEOUT)
    assert PATIENT in name.inner_text()
    tab.get_by_label("Search the header").fill("0008,0060")
    tab.locator(".inspector li[data-tag='00080060']").wait_for()
    tab.get_by_label("Search the header").fill("")  # the whole header again, for the screenshot
    shoot(tab, "viewer")
    tab.set_viewport_size({"width": 820, "height": 1180})  # a tablet held upright: the header goes below
    shoot(tab, "viewer-tablet")
    tab.set_viewport_size({"width": 1280, "height": 800})

    tab.get_by_role("button", name="Delete series").click()
    tab.get_by_role("dialog").get_by_role("button", name="Delete series").click()
    tab.get_by_role("heading", name="Series (1)").wait_for(timeout=TIMEOUT)

    tab.get_by_role("link", name=re.compile("MR multi-frame")).click()
    tab.wait_for_selector("img.frame[src^='blob:']", timeout=TIMEOUT)
    frames = tab.get_by_role("slider", name="Frame")
    assert frames.get_attribute("max") == "10"
    frames.fill("3")  # a range input takes fill(): it sets the value and fires input
    tab.wait_for_selector("text=frame 3 of 10")

    sign_out(tab)
    assert unexpected(console) == []


def test_another_user_sees_none_of_it(
    ui_server: LiveServer, alice: Person, bob: Person, folder: Folder, page: tuple[Any, Console]
) -> None:
    tab, console = page
    sign_in(tab, ui_server, alice)
    upload(tab, folder)
    nav(tab, "Studies")
    tab.get_by_role("link", name=PATIENT.replace("^", " ")).wait_for(timeout=TIMEOUT)
    sign_out(tab)

    sign_in(tab, ui_server, bob)
    tab.get_by_text("No study matches").wait_for(timeout=TIMEOUT)
    tab.goto(f"{ui_server.url}/ui/#/studies/{folder.study_uid}")
    tab.get_by_role("heading", name="Series (0)").wait_for(timeout=TIMEOUT)
    assert tab.get_by_role("link", name="Users").is_hidden()  # not an admin
    sign_out(tab)
    assert unexpected(console) == []


def test_an_admin_manages_accounts_and_a_user_changes_their_password(
    ui_server: LiveServer, admin: Person, page: tuple[Any, Console]
) -> None:
    tab, console = page
    sign_in(tab, ui_server, admin)
    nav(tab, "Users")
    tab.get_by_label("New username").fill("dave")
    tab.get_by_label("Initial password").fill("a long first password")
    tab.get_by_role("button", name="Create account").click()
    tab.get_by_role("cell", name="dave", exact=True).wait_for()
    tab.get_by_role("button", name="Disable dave").click()
    tab.get_by_role("button", name="Enable dave").wait_for()
    shoot(tab, "users")
    tab.get_by_role("button", name="Enable dave").click()
    tab.get_by_role("button", name="Disable dave").wait_for()
    sign_out(tab)

    erin = make_user(ui_server, "erin")
    sign_in(tab, ui_server, erin)
    nav(tab, "Account")
    tab.get_by_label("Current password").fill(erin.password)
    tab.get_by_label("New password", exact=True).fill("another long password")
    tab.get_by_label("New password again").fill("another long password")
    shoot(tab, "account")
    tab.get_by_role("button", name="Change password").click()
    tab.get_by_role("button", name="Sign in").wait_for()
    sign_in(tab, ui_server, Person("erin", "another long password"))
    assert tab.get_by_role("link", name="Users").is_hidden()
    assert unexpected(console) == []


def test_share_is_offered_when_the_server_has_share_links(
    ui_server: LiveServer, alice: Person, folder: Folder, page: tuple[Any, Console]
) -> None:
    tab, console = page
    with ui_server.client() as api:
        has_shares = "/shares" in api.get("/openapi.json").json()["paths"]
    sign_in(tab, ui_server, alice)
    upload(tab, folder)
    tab.goto(f"{ui_server.url}/ui/#/studies/{folder.study_uid}")
    tab.get_by_role("heading", name=re.compile(r"Series \(\d\)")).wait_for(timeout=TIMEOUT)
    share = tab.get_by_role("button", name="Share")
    if not has_shares:
        assert share.count() == 0
        return
    share.click()
    tab.get_by_label("Valid for (days)").fill("2")
    tab.get_by_role("button", name="Create link").click()
    link = tab.get_by_label("Share link")
    link.wait_for(timeout=TIMEOUT)
    assert link.input_value().startswith("http")
    shoot(tab, "share")
    assert unexpected(console) == []
