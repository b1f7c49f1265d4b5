"""A real login in a headless browser, for CI: fill the provider's login form with a test user.

Used by ``oidcsetup login --headless`` and ``oidcsetup check --login`` when a test user's name
and password are in the environment (``OIDCSETUP_LOGIN_USERNAME``, ``OIDCSETUP_LOGIN_PASSWORD``;
never a flag). Debian's ``chromium`` is driven through ``chromedriver`` with Selenium (the
``browser`` extra, imported here only). Selenium Manager is never used: the driver is named.

The browser opens the authorization URL, then repeats until it is sent to the redirect URI:
fill a visible password field (and the text field before it) and submit; or press the
consent/continue button when there is no password field. The redirect URI itself need not
answer (Matomo may not run): the callback URL is read from the browser's network log.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oidcsetup.errors import UsageError

USERNAME_ENV = "OIDCSETUP_LOGIN_USERNAME"
PASSWORD_ENV = "OIDCSETUP_LOGIN_PASSWORD"
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMEDRIVER_PATHS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
# Buttons that continue a login: consent, "continue", "authorize"... (case-insensitive).
CONTINUE_WORDS = ("continue", "accept", "allow", "authorize", "grant", "consent", "yes", "ok")


class BrowserLoginError(Exception):
    """The browser login failed; ``code`` names the step (the caller maps it to LoginError)."""

    def __init__(self, message: str, hint: str | None = None, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


@dataclass(frozen=True)
class TestUser:
    username: str
    password: str = field(repr=False)


def test_user_from_env(env: Mapping[str, str] | None = None) -> TestUser | None:
    """The test user from OIDCSETUP_LOGIN_USERNAME/PASSWORD, or None when not set."""
    env = os.environ if env is None else env
    username, password = env.get(USERNAME_ENV, ""), env.get(PASSWORD_ENV, "")
    if not username and not password:
        return None
    if not (username and password):
        missing = PASSWORD_ENV if username else USERNAME_ENV
        raise UsageError(
            f"{missing} is not set although the other half of the test user is",
            hint=f"set both {USERNAME_ENV} and {PASSWORD_ENV} (a test user at the provider)",
        )
    return TestUser(username, password)


def _find(paths: tuple[str, ...], name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((p for p in paths if os.access(p, os.X_OK)), None)


def browser_missing_reason() -> str | None:
    """Why a browser login cannot run here (None: it can)."""
    import importlib.util

    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install 'oidcsetup[browser]')"
    if _find(CHROMIUM_PATHS, "chromium") is None:
        return "chromium is not installed (apt-get install chromium)"
    if _find(CHROMEDRIVER_PATHS, "chromedriver") is None:
        return "chromedriver is not installed (apt-get install chromium-driver)"
    return None


def browser_authorize(
    authorization_url: str,
    redirect_uri: str,
    user: TestUser,
    *,
    timeout: float = 60.0,
) -> str:
    """Log ``user`` in at the provider; return the URL the provider sent the browser to."""
    reason = browser_missing_reason()
    if reason:
        raise BrowserLoginError(
            f"a browser login needs a headless browser: {reason}",
            hint="install it, or log in interactively with `oidcsetup login`",
            code="browser-missing",
        )
    deadline = time.monotonic() + timeout
    profile_dir = tempfile.mkdtemp(prefix="oidcsetup-chromium-")
    driver = None
    try:
        driver = _start(profile_dir)
        driver.set_page_load_timeout(max(1.0, deadline - time.monotonic()))
        _open(driver, authorization_url)
        return _drive(driver, redirect_uri, user, deadline)
    finally:
        if driver is not None:
            with contextlib.suppress(Exception):  # the browser is gone already
                driver.quit()
        shutil.rmtree(profile_dir, ignore_errors=True)


def _start(profile_dir: str) -> Any:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _find(CHROMIUM_PATHS, "chromium") or CHROMIUM_PATHS[0]
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    # A named driver: Selenium Manager (which may download one) is never consulted.
    from oidcsetup.browser import scrubbed_environment

    # Neither the driver nor Chromium inherits OIDCSETUP_* (the client secret, the test user's
    # password: it is typed into the page, not handed to the browser's environment).
    service = Service(
        _find(CHROMEDRIVER_PATHS, "chromedriver") or CHROMEDRIVER_PATHS[0],
        env=scrubbed_environment(os.environ),
    )
    try:
        return webdriver.Chrome(service=service, options=options)
    except WebDriverException as exc:
        raise BrowserLoginError(
            f"the headless browser did not start: {_first_line(exc)}",
            hint="check that chromium and chromium-driver are the same version",
            code="browser-failed",
        ) from None


def _open(driver: Any, url: str) -> None:
    from selenium.common.exceptions import WebDriverException

    try:
        driver.get(url)
    except WebDriverException as exc:
        # A navigation ending at an unreachable redirect URI (Matomo not running) raises too;
        # _drive reads the network log to tell that apart from an unreachable provider.
        if "ERR_" not in str(exc):
            raise BrowserLoginError(
                f"the browser could not open the authorization URL: {_first_line(exc)}",
                code="browser-failed",
            ) from None


def _drive(driver: Any, redirect_uri: str, user: TestUser, deadline: float) -> str:
    from oidcsetup.verify.authorization import same_endpoint

    submitted_password = 0
    pressed: dict[str, int] = {}
    last_action_url = ""
    while time.monotonic() < deadline:
        sent = _requested_urls(driver)
        for url in sent:
            if same_endpoint(url, redirect_uri):
                return url
        page_url = _current_url(driver)
        if page_url.startswith("chrome-error://") and not sent:
            raise BrowserLoginError(
                "the browser could not load the provider's page",
                hint="check that the provider runs and its URL",
                code="browser-unreachable",
            )
        password = _visible(driver, "input[type=password]")
        if password:
            if submitted_password >= 2 and page_url == last_action_url:
                raise BrowserLoginError(
                    f"the provider shows its login form again after submitting it for "
                    f"{user.username!r}: wrong test user name or password?",
                    hint=f"check {USERNAME_ENV} and {PASSWORD_ENV}",
                    code="login-rejected",
                )
            if _fill_login_form(driver, password[0], user):
                submitted_password += 1
                last_action_url = page_url
                _settle(driver)
                continue
        button, label = _continue_button(driver, pressed)
        if button is not None:
            # A consent page may want its scope boxes ticked first (Glewlwyd: "Please check
            # the box and click on 'Grant access'"); the test user consents to everything.
            _tick_boxes(driver)
            with contextlib.suppress(Exception):  # the page changed under the click
                button.click()
            pressed[label] = pressed.get(label, 0) + 1
            _settle(driver)
            continue
        time.sleep(0.2)
    page = _current_url(driver)
    raise BrowserLoginError(
        f"the login did not reach the redirect URI (the browser is at {_short(page)})",
        hint="no login form or consent button was recognised on that page; log in "
        "interactively with `oidcsetup login` to see it",
        code="login-form-not-found" if not submitted_password else "timeout",
    )


def _fill_login_form(driver: Any, password: Any, user: TestUser) -> bool:
    """Type the user name into the text field before the password field, then submit."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    fields = [
        f
        for f in driver.find_elements(
            By.CSS_SELECTOR,
            "input[type=text], input[type=email], input:not([type]), input[type=password]",
        )
        if f.is_displayed() and f.is_enabled()
    ]
    try:
        index = fields.index(password)
    except ValueError:
        return False
    name_fields = [f for f in fields[:index] if f.get_attribute("type") != "password"]
    if not name_fields:
        raise BrowserLoginError(
            "the provider's login page has a password field but no user name field before it",
            hint="log in interactively with `oidcsetup login`",
            code="login-form-not-found",
        )
    username = name_fields[-1]
    username.clear()
    username.send_keys(user.username)
    password.clear()
    password.send_keys(user.password)
    password.send_keys(Keys.ENTER)
    return True


def _continue_button(driver: Any, pressed: dict[str, int]) -> tuple[Any, str]:
    """The consent/continue button to press next: the least pressed one (at most 3 times)."""
    from selenium.webdriver.common.by import By

    found: list[tuple[int, int, Any, str]] = []
    candidates = driver.find_elements(
        By.CSS_SELECTOR, "button, input[type=submit], input[type=button]"
    )
    for index, candidate in enumerate(candidates):
        try:
            if not (candidate.is_displayed() and candidate.is_enabled()):
                continue
            label = (candidate.text or candidate.get_attribute("value") or "").strip().lower()
        except Exception:  # a stale element: the page changed meanwhile
            continue
        if any(word in label.split() for word in CONTINUE_WORDS) and pressed.get(label, 0) < 3:
            found.append((pressed.get(label, 0), index, candidate, label))
    if not found:
        return None, ""
    _, _, button, label = min(found, key=lambda item: (item[0], item[1]))
    return button, label


def _tick_boxes(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    for box in driver.find_elements(By.CSS_SELECTOR, "input[type=checkbox]"):
        with contextlib.suppress(Exception):
            if box.is_displayed() and box.is_enabled() and not box.is_selected():
                box.click()


def _visible(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    try:
        return [e for e in driver.find_elements(By.CSS_SELECTOR, selector) if e.is_displayed()]
    except Exception:  # the page is navigating
        return []


def _settle(driver: Any, pause: float = 0.3) -> None:
    time.sleep(pause)


def _requested_urls(driver: Any) -> list[str]:
    """Every URL the browser requested or was redirected to since the last call."""
    urls: list[str] = []
    try:
        entries = driver.get_log("performance")
    except Exception:
        return urls
    for entry in entries:
        try:
            message = json.loads(entry["message"])["message"]
        except (KeyError, ValueError, TypeError):
            continue
        if message.get("method") == "Network.requestWillBeSent":
            url = message.get("params", {}).get("request", {}).get("url")
            if isinstance(url, str):
                urls.append(url)
    return urls


def _current_url(driver: Any) -> str:
    try:
        return str(driver.current_url)
    except Exception:
        return ""


def _short(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "msg", None) or str(exc)
    return str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__
