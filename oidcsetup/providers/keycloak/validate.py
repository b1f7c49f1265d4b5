"""What Keycloak would refuse (or silently read differently) in the client, refused here first.

A post-logout URI holding Keycloak's ``##`` separator is caught by the fragment rule.
Keycloak's own words where known (``themes/.../messages/admin-messages_en.properties``:
``clientRedirectURIsFragmentError``, ``clientRedirectURIsIllegalSchemeError``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from oidcsetup.findings import Finding, Level
from oidcsetup.providers.keycloak.client import KeycloakClient


def validate_client(client: KeycloakClient) -> list[Finding]:
    rep = client.representation
    findings: list[Finding] = []
    if not str(rep.get("clientId", "")).strip():
        findings.append(
            Finding(Level.ERROR, "keycloak-client-id", "the client ID is empty", "pass --client-id")
        )
    for uri in rep.get("redirectUris", []):
        findings += _check_uri(uri, "redirect URI")
        if uri.endswith("*"):
            findings.append(
                Finding(
                    Level.WARNING,
                    "keycloak-redirect-wildcard",
                    f"the redirect URI {uri!r} ends with '*', which Keycloak reads as a prefix "
                    "wildcard, not as the character",
                    "register the exact URI Matomo's login plugin sends",
                )
            )
    for uri in client.post_logout_redirect_uris:
        findings += _check_uri(uri, "post-logout redirect URI")
    if not rep.get("redirectUris"):
        findings.append(
            Finding(
                Level.ERROR,
                "keycloak-no-redirect-uri",
                "the client has no redirect URI",
                "pass --matomo-url",
            )
        )
    for scope in client.optional_scopes:
        findings.append(
            Finding(
                Level.INFO,
                "keycloak-optional-scope",
                f"scope {scope!r} is listed in optionalClientScopes: it must exist as a client "
                "scope in the realm (Keycloak skips a name it does not know)",
                f"create the client scope {scope!r} in the realm first",
            )
        )
    return findings


def _check_uri(uri: str, what: str) -> list[Finding]:
    try:
        parts = urlsplit(uri)
    except ValueError:
        return [Finding(Level.ERROR, "keycloak-uri", f"the {what} {uri!r} is not a valid URI")]
    if "#" in uri:
        return [
            Finding(
                Level.ERROR,
                "keycloak-uri-fragment",
                f"Redirect URIs must not contain an URI fragment ({what} {uri!r})",
                "remove the #fragment",
            )
        ]
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return [
            Finding(
                Level.ERROR,
                "keycloak-uri-scheme",
                f"A redirect URI uses an illegal scheme ({what} {uri!r})",
                "give an absolute https:// URL",
            )
        ]
    return []
