"""Browser tests: Playwright driving Debian's Chromium against the app served over HTTP.

The server runs for the whole session on 127.0.0.1 and a free port; each test points it at
that test's own app (and so its own database). Playwright never downloads a browser here:
``make test`` installs /usr/bin/chromium, and without it these tests fail and say so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class _CurrentApp:
    """The WSGI app the live server calls: whichever test's app is current. It counts the
    requests in flight, so a test's app is retired (its engine disposed) only after the last
    request the browser sent has finished with its database connection."""

    def __init__(self) -> None:
        self.app: Flask | None = None
        self._in_flight = 0
        self._idle = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        app = self.app
        if app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no test app is being served"]
        with self._idle:
            self._in_flight += 1
        try:
            return app(environ, start_response)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def retire(self, timeout: float = 10) -> None:
        with self._idle:
            self.app = None
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)


@pytest.fixture(scope="session")
def _server() -> Iterator[tuple[BaseWSGIServer, _CurrentApp]]:
    current = _CurrentApp()
    server = make_server("127.0.0.1", 0, current, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield server, current
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def live_server(_server: tuple[BaseWSGIServer, _CurrentApp], app: Flask,
                make_app: Callable[..., Flask]) -> Iterator[str]:
    """Base URL of the server, serving this test's database with CSRF protection on, as in
    production (test data is still written through the ``app`` fixture's context)."""
    server, current = _server
    current.app = make_app(WTF_CSRF_ENABLED=True)
    yield f"http://127.0.0.1:{server.server_port}"
    current.retire()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                    "(`make browser-deps` or `apt-get install chromium`).", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A desktop-sized page; console errors (a CSP refusal among them) fail the test."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"browser console errors: {errors}"
