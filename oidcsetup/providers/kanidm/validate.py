"""What Kanidm would refuse in the client, refused here first, in Kanidm's words where known
(``server/lib/src/value.rs``: an iname is ``^[a-z][a-z0-9-_\\.]{0,63}$``, not a uuid, not
``root``)."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from oidcsetup.findings import Finding, Level
from oidcsetup.providers.kanidm.commands import KanidmClient

INAME = re.compile(r"^[a-z][a-z0-9-_\.]{0,63}$")
DISALLOWED_NAMES = frozenset({"root", "dn=token"})


def _iname_problem(value: str) -> str | None:
    try:
        uuid.UUID(value)
    except ValueError:
        pass
    else:
        return "iname values may not contain uuids"
    if not INAME.fullmatch(value):
        return (
            f'iname values may only contain limited characters - "{value}" does not pass '
            f'regex pattern "{INAME.pattern}"'
        )
    if value in DISALLOWED_NAMES:
        return f'iname value "{value}" is in denied list'
    return None


def validate_client(client: KanidmClient) -> list[Finding]:
    findings: list[Finding] = []
    for what, value, flag in (
        ("client name", client.name, "--client-id"),
        ("group", client.group, "--group"),
    ):
        problem = _iname_problem(value)
        if problem:
            findings.append(
                Finding(
                    Level.ERROR,
                    "kanidm-iname",
                    f"the {what}: {problem}",
                    f"pass {flag} with lower-case letters, digits, '-', '_' or '.'",
                )
            )
    if not client.redirect_uris:
        findings.append(
            Finding(Level.ERROR, "kanidm-no-redirect-uri", "no redirect URI", "pass --matomo-url")
        )
    for uri in client.redirect_uris:
        parts = urlsplit(uri)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https" and host not in ("localhost", "127.0.0.1", "::1"):
            findings.append(
                Finding(
                    Level.WARNING,
                    "kanidm-insecure-redirect",
                    f"the redirect URI {uri!r} is not https: Kanidm refuses it (InvalidOrigin) as "
                    "soon as one URL of the client is https",
                    "serve Matomo over https",
                )
            )
    if "openid" not in client.scopes:
        findings.append(
            Finding(
                Level.ERROR,
                "kanidm-openid-scope",
                "the scope map has no 'openid': without it OpenID Connect clients will not work",
                'add openid to --scopes (e.g. "openid email profile")',
            )
        )
    return findings
