"""What LemonLDAP::NG's manager would refuse in the relying party, refused here first."""

from __future__ import annotations

import re

from oidcsetup.findings import Finding, Level
from oidcsetup.providers.lemonldap.client import PREFIX, LemonClient

# The manager's test for a relying party's name (Manager/Build/CTrees: keys of
# oidcRPMetaDataNodes): letters, digits, '_', '.', '-'.
RP_KEY = re.compile(r"^[\w.-]+$")


def validate_client(client: LemonClient) -> list[Finding]:
    findings: list[Finding] = []
    if not RP_KEY.fullmatch(client.key):
        findings.append(
            Finding(
                Level.ERROR,
                "lemonldap-rp-name",
                f"{client.key!r} cannot name a relying party in LemonLDAP::NG",
                "pass --client-id with letters, digits, '_', '.' or '-'",
            )
        )
    uris = str(client.options.get(f"{PREFIX}RedirectUris", ""))
    if not uris:
        findings.append(
            Finding(
                Level.ERROR, "lemonldap-no-redirect-uri", "no redirect URI", "pass --matomo-url"
            )
        )
    elif any(" " in u for u in uris.split(" ") if u) or "#" in uris:
        findings.append(
            Finding(Level.ERROR, "lemonldap-redirect-uri", f"redirect URI(s) {uris!r} unusable")
        )
    return findings
