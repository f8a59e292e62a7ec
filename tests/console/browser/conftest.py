"""The console in a real headless Chromium: the receiver app served by a real HTTP server
(werkzeug's, in a thread) on the test's own database, Redis and emulator account.

The browser is the system's `chromium` (Debian's package; `.ci/run` installs it), driven
by Playwright with `executable_path`: nothing is downloaded at run time. Without chromium
or Playwright these tests are not collected, and the session ends with one line saying so
(as tests/deploy does for kubectl).

WRITE_CONSOLE_SCREENSHOTS=1 makes the tests that take them write docs/console-*.png
(tests/conftest.py strips MEDIASYNC_* variables, hence the name).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.console.conftest import OPERATORS
from tests.operator_api.conftest import TOKEN
from workers.config import CloudinaryAccount, Settings

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[2] / "docs"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HAVE_PLAYWRIGHT = importlib.util.find_spec("playwright") is not None
NOT_RUN = (
    "chromium is not installed (Debian: apt-get install chromium): the console's "
    "browser tests (tests/console/browser) were NOT run"
    if not CHROMIUM
    else "Playwright is not installed (pip install -e '.[test]'): the console's browser "
    "tests (tests/console/browser) were NOT run"
)
AVAILABLE = bool(CHROMIUM and HAVE_PLAYWRIGHT)
_SKIPPED = pytest.StashKey[bool]()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if AVAILABLE or not collection_path.name.startswith("test_"):
        return None
    config.stash[_SKIPPED] = True
    return True


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if terminalreporter.config.stash.get(_SKIPPED, False):
        terminalreporter.write_sep("=", "browser tests", yellow=True, bold=True)
        terminalreporter.write_line(NOT_RUN)


def screenshots_wanted() -> bool:
    return os.environ.get("WRITE_CONSOLE_SCREENSHOTS") == "1"


# -- the server ---------------------------------------------------------------------------


@pytest.fixture
def settings(committed_db: str, redis_url: str, account: CloudinaryAccount) -> Settings:
    """The console's operators, and the emulator as Cloudinary (the worker's deletes go
    there; the overview shows its budget)."""
    return Settings(
        database_url=committed_db,
        redis_url=redis_url,
        cloudinary=account,
        api_token=TOKEN,
        console_operators=OPERATORS,
    )


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """`app` behind a real HTTP server on a free loopback port: its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, name="console-http", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def console_url(app: Flask) -> Iterator[str]:
    with serving(app) as url:
        yield url


# -- the browser --------------------------------------------------------------------------


# Per module, not per session: Playwright's sync API keeps an event loop running in the
# main thread while it is open, and a later test's asyncio.run() (tests/change_feed) fails
# with "cannot be called from a running event loop".
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # root in CI containers: Chromium's sandbox needs user namespaces it may lack
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(chromium: Any, console_url: str) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh browser context (its own cookies) on the console; keyword
    arguments go to the context (bypass_csp, say)."""
    contexts: list[Any] = []

    def open_page(base_url: str = console_url, **options: Any) -> Any:
        context = chromium.new_context(
            base_url=base_url, viewport={"width": 1280, "height": 900}, **options
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    return new_page()


def log_in(page: Any, token: str) -> Any:
    """Fill and send the login form as a person would (from the page that asked for it,
    if that is where the page is); the response to the POST."""
    if "/console/login" not in page.url:
        page.goto("/console/login")
    page.fill("#token", token)
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/console/login")
    ) as answer:
        page.click("#login-submit")
    page.wait_for_load_state()
    return answer.value


def screenshot(page: Any, name: str) -> None:
    """docs/<name>.png, only when asked (normal runs leave the tree clean)."""
    if screenshots_wanted():
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)
