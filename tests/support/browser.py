"""A real headless Chromium (Debian ``chromium`` + ``chromium-driver``) driven by selenium.

It does what a person does on Matomo's login page: click Login OIDC's button, log in at the
provider (oidc-provider's devInteractions forms, or nothing in its zero-click "auto" mode),
and land wherever Matomo sends them: the dashboard, or an error page. The driver and the
browser are given by path, so Selenium Manager never runs (it would download a driver).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from oidcsetup.verify.browser import CHROMIUM_FLAGS

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# The flags the tool itself starts chromium with, plus a window large enough for the dashboard,
# and no back-forward cache: a page kept in it goes on with its requests after it was left, and
# their answers still set cookies (see Browser.reset; tests/test_browser_support.py shows it).
FLAGS = (*CHROMIUM_FLAGS, "--window-size=1280,900", "--disable-features=BackForwardCache")
# Login OIDC's button on Matomo's login page (plugins/LoginOIDC/templates/loginMod.twig).
OIDC_BUTTON = ".loginoidc-auth-button"
# Set to a folder to have each browser write Chromium's net log there (every request, redirect,
# cookie and socket, with times): how the CI race fixed in Browser.reset() was found.
NETLOG_ENV = "OIDCSETUP_TEST_NETLOG"


def browser_missing_reason() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            return f"{path} is missing (apt-get install {package}): no real browser"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@dataclass(frozen=True)
class Landing:
    """Where a login ended: the page's URL, Matomo's logged-in user (None: nobody), its text."""

    url: str
    user: str | None
    text: str

    @property
    def on_dashboard(self) -> bool:
        return self.user is not None and "module=CoreHome" in self.url

    @property
    def says(self) -> str:
        """The head of the page's text, whitespace folded: on Matomo's error page (Morpheus's
        simpleLayoutHeader.tpl) the error message comes right after "An error occurred"."""
        return " ".join(self.text.split())[:300]

    def __repr__(self) -> str:
        # What the page says comes first: pytest shortens a long repr in its middle, and the
        # end of an error page is only Matomo's footer links (once all the log showed).
        return f"Landing(user={self.user!r}, says={self.says!r}, url={self.url!r})"

    __str__ = __repr__


class Browser:
    """One Chromium; ``reset()`` forgets every cookie between tests."""

    def __init__(self, driver: Any, profile_dir: Path) -> None:
        self.driver = driver
        self.profile_dir = profile_dir

    # --- plumbing ----------------------------------------------------------------------

    def reset(self) -> None:
        """No page left running, then no cookie: a fresh visitor for the next test.

        The order matters. Matomo's dashboard keeps calling its API after it loaded; when the
        cookies were cleared first, an answer arriving before the page was left set the logged-in
        MATOMO_SESSID again (seen in Chromium's net log, CI and under load), and the PHP request
        behind it wrote that session back after RunningMatomo.reset(). The next test's login then
        ran as the already logged-in admin, which Login OIDC 5.0.0 takes for a password
        confirmation: its callback redirects to itself, and the second call finds no state
        ("OAuth state mismatch"). Leaving the page cancels its requests (the back-forward
        cache is off: a page kept there would go on with them); cookies go after.
        """
        self.driver.get("about:blank")
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        left = self.driver.execute_cdp_cmd("Network.getAllCookies", {}).get("cookies", [])
        assert not left, f"cookies survived the browser reset: {[c['name'] for c in left]}"

    def quit(self) -> None:
        with contextlib.suppress(Exception):
            self.driver.quit()
        shutil.rmtree(self.profile_dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return str(self.driver.current_url)

    def text(self) -> str:
        from selenium.common.exceptions import WebDriverException

        try:
            return str(
                self.driver.execute_script("return document.body ? document.body.innerText : ''")
            )
        except WebDriverException:
            return ""

    def matomo_user(self) -> str | None:
        """Matomo's ``piwik.userLogin`` on this page; None for the anonymous user or no Matomo."""
        from selenium.common.exceptions import WebDriverException

        try:
            login = self.driver.execute_script(
                "return (window.piwik && window.piwik.userLogin) || null"
            )
        except WebDriverException:
            return None
        return None if login in (None, "", "anonymous") else str(login)

    def _ready(self) -> bool:
        from selenium.common.exceptions import WebDriverException

        try:
            return self.driver.execute_script("return document.readyState") in (
                "interactive",
                "complete",
            )
        except WebDriverException:
            return False

    def landing(self) -> Landing:
        return Landing(self.url, self.matomo_user(), self.text())

    # --- what a person does ------------------------------------------------------------

    def open_login_page(self, matomo_url: str) -> None:
        """Matomo's login page; waits for Login OIDC's button (fails if it is not there)."""
        self.driver.get(matomo_url + "index.php?module=Login")
        self.wait_for_css(OIDC_BUTTON)

    def wait_for_css(self, selector: str, timeout: float = 20.0) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.wait import WebDriverWait

        return WebDriverWait(self.driver, timeout).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, selector))
        )

    def click_oidc_button(self, timeout: float = 60.0) -> None:
        from selenium.webdriver.common.by import By

        self.submit(self.driver.find_element(By.CSS_SELECTOR, OIDC_BUTTON), timeout)

    def submit(self, element: Any, timeout: float = 60.0) -> None:
        """Click ``element`` and wait until the page it was on is gone: the browser keeps
        showing the old URL through a whole redirect chain, so without this wait a slow server
        would look like a page that stays put."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.wait import WebDriverWait

        def gone(_driver: Any) -> bool:
            # selenium's staleness_of catches only StaleElementReferenceException; chromium
            # reports a node of a document being replaced as "unknown error: Node with given id
            # does not belong to the document" (seen in CI): both mean the page has moved on.
            try:
                element.is_enabled()
            except WebDriverException:
                return True
            return False

        element.click()
        WebDriverWait(self.driver, timeout).until(gone)

    def complete_provider_login(self, login: str, password: str = "any") -> bool:
        """On oidc-provider's devInteractions pages: fill the login form, then consent.

        Returns False when the current page is no such form (auto mode, or an error page).
        """
        from selenium.common.exceptions import NoSuchElementException
        from selenium.webdriver.common.by import By

        if "/interaction/" not in urlsplit(self.url).path:
            return False
        try:
            field = self.driver.find_element(By.NAME, "login")
        except NoSuchElementException:
            field = None
        if field is not None:
            field.send_keys(login)
            self.driver.find_element(By.NAME, "password").send_keys(password)
        self.submit(self.driver.find_element(By.CSS_SELECTOR, "button[type=submit], form button"))
        return True

    def settle(
        self, matomo_url: str, *, login: str | None = None, timeout: float = 30.0
    ) -> Landing:
        """Follow the flow until it rests: on Matomo's dashboard, a Matomo page that is not a
        login step, or a page (e.g. the provider's error page) that stays put for 1 s.
        With ``login``, oidc-provider's devInteractions forms are filled in on the way."""
        deadline = time.monotonic() + timeout
        last_url, since = "", time.monotonic()
        handled: set[str] = set()
        while time.monotonic() < deadline:
            url = self.url
            if url != last_url:
                last_url, since = url, time.monotonic()
            if self._ready():
                on_matomo = url.startswith(matomo_url)
                if on_matomo and "module=CoreHome" in url and self.matomo_user():
                    return self.landing()
                if login and url not in handled and "/interaction/" in url:
                    handled.add(url)
                    self.complete_provider_login(login)
                    continue
                if time.monotonic() - since > (0.5 if on_matomo else 1.0):
                    return self.landing()
            time.sleep(0.1)
        raise AssertionError(f"the browser did not settle within {timeout:.0f} s: {self.landing()}")

    def oidc_login(
        self, matomo_url: str, *, login: str | None = None, timeout: float = 30.0
    ) -> Landing:
        """Open the login page, click the OIDC button, follow to where it ends."""
        self.open_login_page(matomo_url)
        self.click_oidc_button()
        return self.settle(matomo_url, login=login, timeout=timeout)

    def password_login(
        self, matomo_url: str, login: str, password: str, timeout: float = 30.0
    ) -> Landing:
        """Matomo's own login form (user name and password)."""
        from selenium.webdriver.common.by import By

        self.driver.get(matomo_url + "index.php?module=Login")
        self.wait_for_css("#login_form_login")
        self.driver.find_element(By.ID, "login_form_login").send_keys(login)
        self.driver.find_element(By.ID, "login_form_password").send_keys(password)
        self.submit(self.driver.find_element(By.ID, "login_form_submit"))
        return self.settle(matomo_url, timeout=timeout)

    def logout(self, matomo_url: str, timeout: float = 20.0) -> Landing:
        """Matomo's logout link; with endSessionUrl set, Matomo sends the browser there."""
        self.driver.get(matomo_url + "index.php?module=Login&action=logout")
        return self.settle(matomo_url, timeout=timeout)


def start_browser(extra_flags: tuple[str, ...] = ()) -> Browser:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile_dir = Path(tempfile.mkdtemp(prefix="oidcsetup-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *extra_flags):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    netlog_dir = os.environ.get(NETLOG_ENV)
    if netlog_dir:
        options.add_argument(f"--log-net-log={Path(netlog_dir) / profile_dir.name}.json")
    options.page_load_strategy = "eager"
    service = Service(executable_path=CHROMEDRIVER, log_output=str(profile_dir / "driver.log"))
    try:
        driver = webdriver.Chrome(service=service, options=options)
    except Exception:
        shutil.rmtree(profile_dir, ignore_errors=True)
        raise
    driver.set_page_load_timeout(60)
    return Browser(driver, profile_dir)


@contextlib.contextmanager
def running_browser(extra_flags: tuple[str, ...] = ()) -> Iterator[Browser]:
    """A browser, quit at the end; ``extra_flags`` e.g. ``--ignore-certificate-errors-spki-list=``
    to trust one test certificate (and no other)."""
    browser = start_browser(extra_flags)
    try:
        yield browser
    finally:
        browser.quit()
