"""Real-browser fixtures: Debian Chromium through pytest-playwright, against live_server.

See STACK.md note 3.2: the browser comes from apt (no `playwright install`), and the ORM is
called from inside Playwright's event loop, hence DJANGO_ALLOW_ASYNC_UNSAFE for these tests
only. Each persona gets their own browser context and logs in through the real login form.
"""

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import factory.random
import pytest
import time_machine
from playwright.sync_api import ConsoleMessage, Page, expect

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

PASSWORD = "secret-pass-123"  # tests/factories.py
VIEWPORT = {"width": 1280, "height": 800}
MONDAY_MORNING = datetime(2026, 11, 16, 8, 10, tzinfo=ZoneInfo("Europe/Paris"))
# README screenshots are refreshed on demand (`make screenshots`), so an ordinary test run
# leaves the committed images alone and writes its pictures to the run's own folder.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("FIREBREAK_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "firebreak-screenshots"
)
SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": shutil.which("chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # English first: the language test switches to French through the navbar.
    return {**browser_context_args, "viewport": VIEWPORT, "locale": "en-GB", "timezone_id": "Europe/Paris"}


@pytest.fixture(autouse=True)
def clock():
    """A Monday morning on the desk; `clock.shift(timedelta(...))` lets the story's hours pass.

    Names and dates in the screenshots stay the same from one run to the next. The clock
    runs (tick=True) in the test and in the live server's thread alike; Playwright's
    timeouts use the monotonic clock, which time-machine leaves alone.
    """
    factory.random.reseed_random("firebreak-browser")
    with time_machine.travel(MONDAY_MORNING, tick=True) as traveller:
        yield traveller


@dataclass
class ConsoleWatch:
    """Console errors (CSP violations are reported there) and uncaught page errors."""

    errors: list[str] = field(default_factory=list)
    expected_404: set[str] = field(default_factory=set)
    checked: bool = False

    def watch(self, page: Page) -> Page:
        page.on("console", lambda message: self._on_console(page, message))
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        return page

    def expect_404(self, url: str) -> None:
        """The browser logs a console error for a 404 page; this one is deliberate."""
        self.expected_404.add(url)

    def _on_console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if "status of 404" in message.text and any(url.startswith(u) for u in self.expected_404):
            return
        self.errors.append(f"on {page.url}: {message.text} ({url})")

    def assert_clean(self) -> None:
        self.checked = True
        csp = [e for e in self.errors if "Content Security Policy" in e or "Refused to" in e]
        assert csp == [], "CSP violations in the browser console"
        assert self.errors == [], "errors in the browser console"


@pytest.fixture
def console():
    watch = ConsoleWatch()
    yield watch
    if not watch.checked:  # a test that forgot to look still gets looked at
        watch.assert_clean()


@pytest.fixture
def login_as(new_context, live_server, console):
    """Open a fresh browser (own cookies) for `user` and log in through the login form."""

    def _login(user) -> Page:
        context = new_context(base_url=live_server.url)
        context.set_default_timeout(10_000)
        page = console.watch(context.new_page())
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)  # and its scripts loaded
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        return page

    return _login
