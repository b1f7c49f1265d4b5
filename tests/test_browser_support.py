"""The test browser's own contract (tests/support/browser.py), on a real headless Chromium.

``Browser.reset()`` must hand the next test a fresh visitor even while the previous test's page
is still running. Matomo's dashboard keeps calling its API; when the cookies were cleared before
the page was left, or while the left page sat in Chromium's back-forward cache with its requests
still going, one of those answers set the logged-in MATOMO_SESSID again, and the next test's
OIDC login failed with "OAuth state mismatch" (CI; the story is in Browser.reset's docstring).
Pages of ours stand for the dashboard and make each race certain instead of occasional: one sets
a cookie every 2 ms, one waits for an answer that comes 1 s later with a Set-Cookie.

``Landing``'s repr is what pytest prints for ``assert landing.on_dashboard, landing``: it must
show what the page says (Matomo's error message is at the head of its error page) even when
pytest shortens it.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import Landing
from tests.support.docserver import doc_server

if TYPE_CHECKING:
    from tests.support.browser import Browser

# Cookies are per host, not per port: this one would reach a Matomo on any 127.0.0.1 port.
BUSY_PAGE = (
    b"<!doctype html><title>busy</title><p>still running</p><script>"
    b"setInterval(() => { document.cookie = 'MATOMO_SESSID=stale; path=/'; }, 2);"
    b"</script>"
)


def all_cookies(browser: Browser) -> list[str]:
    cookies = browser.driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
    return [str(c["name"]) for c in cookies]


@pytest.mark.browser
def test_reset_leaves_no_cookie_while_the_previous_page_keeps_setting_one(
    module_browser: Browser,
) -> None:
    with doc_server() as server:
        server.raw("/busy", BUSY_PAGE, "text/html")
        module_browser.driver.get(server.base + "/busy")
        assert "MATOMO_SESSID" in all_cookies(module_browser)  # the page is at work

        module_browser.reset()

        assert all_cookies(module_browser) == []
        assert module_browser.url == "about:blank"


WAITING_PAGE = b"<!doctype html><title>waiting</title><script>fetch('/late')</script>"


@pytest.mark.browser
def test_reset_cancels_the_left_pages_requests_so_a_late_answer_sets_no_cookie(
    module_browser: Browser,
) -> None:
    asked, answered = threading.Event(), threading.Event()

    def late(handler: BaseHTTPRequestHandler) -> None:
        asked.set()
        time.sleep(1.0)  # a dashboard API call on a busy machine
        try:  # a cancelled request has closed the connection: the answer breaks on the way
            handler.send_response(200)
            handler.send_header("Set-Cookie", "MATOMO_SESSID=late; path=/")
            handler.send_header("Content-Length", "2")
            handler.end_headers()
            handler.wfile.write(b"{}")
            handler.wfile.flush()
        finally:
            answered.set()

    with doc_server() as server:
        server.raw("/waiting", WAITING_PAGE, "text/html")
        server.route("/late", late)
        module_browser.driver.get(server.base + "/waiting")
        assert asked.wait(10), "the page did not ask"

        module_browser.reset()

        assert answered.wait(10), "the server did not answer (or try to)"
        # Chromium stores a cookie as the answer's headers arrive: give it ample time to show.
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            assert all_cookies(module_browser) == []
            time.sleep(0.05)


MATOMO_ERROR_PAGE = (
    "An error occurred\n\nOAuth state mismatch.\n\nGo Back | Go to Matomo\n\n"
    + "Matomo.org homepage / Frequently Asked Questions / User Guides / Matomo Forums / "
    + "Professional Support for Matomo\n" * 3
    + "« Back to Matomo"
)


def test_landing_repr_shows_matomos_error_message_even_when_pytest_shortens_it() -> None:
    from _pytest._io.saferepr import saferepr

    landing = Landing(
        url="https://127.0.0.1:41093/index.php?module=LoginOIDC&action=callback&provider=oidc"
        "&code=V8bt" + "x" * 40 + "&state=" + "f" * 32 + "&iss=http%3A%2F%2F127.0.0.1%3A40503",
        user=None,
        text=MATOMO_ERROR_PAGE,
    )
    assert not landing.on_dashboard
    assert "OAuth state mismatch." in saferepr(landing)  # what pytest's "where" line prints
    assert "OAuth state mismatch." in str(landing)  # the assertion message
    assert "user=None" in saferepr(landing)
