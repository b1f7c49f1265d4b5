"""What Dex would refuse for this client, in Dex's words (server/authflow/request.go)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from oidcsetup.findings import Finding, Level
from oidcsetup.providers.dex.client import DEX_SCOPES, DexClient


def validate_client(client: DexClient) -> list[Finding]:
    findings: list[Finding] = []
    entry = client.entry
    if not str(entry.get("id", "")).strip():
        findings.append(
            Finding(Level.ERROR, "dex-client-id", "the client id is empty", "pass --client-id")
        )
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(entry.get("secretEnv", ""))):
        findings.append(
            Finding(
                Level.ERROR,
                "dex-secret-env",
                f"{entry.get('secretEnv')!r} is no environment variable name",
                "pass --secret-env NAME (letters, digits, '_')",
            )
        )
    if not entry.get("redirectURIs"):
        findings.append(
            Finding(Level.ERROR, "dex-no-redirect-uri", "no redirect URI", "pass --matomo-url")
        )
    for uri in [*entry.get("redirectURIs", []), *entry.get("postLogoutRedirectURIs", [])]:
        if "#" in uri or urlsplit(uri).scheme not in ("http", "https"):
            findings.append(
                Finding(
                    Level.ERROR, "dex-uri", f"{uri!r} is no absolute http(s) URI without fragment"
                )
            )
    if "openid" not in client.scopes:
        findings.append(
            Finding(
                Level.ERROR,
                "dex-scope",
                'Missing required scope(s) ["openid"].',
                'add openid to --scopes (e.g. "openid email profile")',
            )
        )
    unknown = [s for s in client.scopes if s not in DEX_SCOPES and not s.startswith("audience:")]
    if unknown:
        findings.append(
            Finding(
                Level.ERROR,
                "dex-scope",
                "Unrecognized scope(s) " + "[" + " ".join(f'"{s}"' for s in unknown) + "]",
                "Dex knows " + ", ".join(DEX_SCOPES),
            )
        )
    return findings
