"""The test browser's own contract (tests/support/browser.py), on a real headless Chromium.

``Browser.reset()`` must hand the next test a fresh visitor even while the previous test's page
is still running. Matomo's dashboard keeps calling its API; when the cookies were cleared before
the page was left, one of those answers set the logged-in MATOMO_SESSID again, and the next
test's OIDC login failed with "OAuth state mismatch" (CI, then 1 run in 4 under load here; the
story is in Browser.reset's docstring). A page of ours that sets a cookie every 2 ms stands for
those answers and makes the race certain instead of occasional.

``Landing``'s repr is what pytest prints for ``assert landing.on_dashboard, landing``: it must
show what the page says (Matomo's error message is at the head of its error page) even when
pytest shortens it.
"""

from __future__ import annotations

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
