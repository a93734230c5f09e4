"""The browser the page's tests drive: Debian's Chromium through Playwright for Python, never a downloaded one.

In CI (CI=true) a missing Playwright or Chromium fails the test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.clients.tools import CHROMIUM_ARGS, chromium, unavailable


@dataclass
class Console:
    """What the page said: console errors and uncaught exceptions, with the URL they came from."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        def on_console(message: Any) -> None:
            if message.type == "error":
                self.errors.append(f"{message.text} @ {message.location.get('url', '')}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))


@contextmanager
def browser() -> Iterator[Any]:
    """A headless Chromium (Playwright's Browser), closed on exit."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is missing: pip install playwright (no browser download needed)")
        raise
    executable = str(chromium())
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
