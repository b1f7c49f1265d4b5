"""Opening the login URL in the user's browser without handing it our secrets.

:func:`webbrowser.open` starts the browser with this process's whole environment, which may
hold ``OIDCSETUP_CLIENT_SECRET``, ``OIDCSETUP_DB_PASSWORD`` (or the variable a profile's
``env:NAME`` secret reference names): the browser, its helpers and every page's plug-ins would
inherit them. The standard library gives no way to pass an environment to it, so the opener runs
in a short-lived child interpreter started with a scrubbed environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping

# Runs in the child: exit 0 when a browser took the URL (``webbrowser.open``'s verdict).
_OPENER = "import sys, webbrowser; sys.exit(0 if webbrowser.open(sys.argv[1]) else 1)"


def scrubbed_environment(
    environ: Mapping[str, str], secret_names: Iterable[str] = ()
) -> dict[str, str]:
    """``environ`` without every ``OIDCSETUP_*`` variable and the ``secret_names`` given."""
    drop = set(secret_names)
    return {k: v for k, v in environ.items() if not k.startswith("OIDCSETUP_") and k not in drop}


def open_browser(url: str, secret_names: Iterable[str] = (), timeout: float | None = None) -> bool:
    """Open ``url`` in the user's browser (``$BROWSER`` honoured); False when none opened.

    The browser gets this process's environment minus our secrets (``scrubbed_environment``).
    A console browser (``$BROWSER=w3m``) runs in the foreground, as with ``webbrowser.open``.
    """
    env = scrubbed_environment(os.environ, secret_names)
    try:
        completed = subprocess.run(
            [sys.executable, "-c", _OPENER, url], env=env, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0


def secret_env_name(reference: str | None) -> str | None:
    """The variable an ``env:NAME`` secret reference reads, else None."""
    if reference and reference.startswith("env:"):
        return reference[len("env:") :] or None
    return None
