"""Whether a provider issues JWT access tokens, for an app whose plugin decodes the access token
as a JWT before anything else (RebelOIDC: ``Controller::callback`` calls ``decodeJwt`` on it and
an opaque token fails with "Invalid JWT token format."; ``Integration.jwt_access_tokens``).

One warning per provider whose client file cannot say it, stating what to set where the
provider has a setting. Facts:

- Keycloak issues signed JWT access tokens: ``TokenManager``'s response builder sets the access
  token to ``session.tokens().encode(accessToken)``, a JWS (keycloak/keycloak,
  services/.../protocol/oidc/TokenManager.java).
- authentik's OAuth2 provider issues JWT access tokens: ``IDToken.to_access_token`` encodes the
  id_token's claims plus ``azp`` and ``uid`` with ``provider.encode`` (goauthentik/authentik,
  authentik/providers/oauth2/id_token.py).
- Dex: ``newAccessToken`` in dexidp/dex ``server/oauth2.go`` returns ``newIDToken(...)``, so the
  access token is a JWT signed like the id_token; nothing to set.
- Kanidm: not verified here; ``oidcsetup check --login`` runs a real login and proves it.
"""

from __future__ import annotations

from oidcsetup.findings import Finding, Level

_PROVE = "`oidcsetup check --login` runs a real login and proves it"

# provider -> (what it issues, what to do)
_ACCESS_TOKENS: dict[str, tuple[str, str]] = {
    "keycloak": (
        "Keycloak issues JWT access tokens by default",
        "nothing to set; " + _PROVE,
    ),
    "authentik": (
        "authentik's OAuth2 provider issues JWT access tokens (signed with its signing key)",
        "nothing to set; " + _PROVE,
    ),
    "dex": (
        "Dex issues its access tokens as JWTs signed like the id_token "
        "(server/oauth2.go newAccessToken)",
        "nothing to set; " + _PROVE,
    ),
    "kanidm": (
        "unverified whether Kanidm's access tokens are JWTs the plugin can decode",
        "unverified: run " + _PROVE,
    ),
}


def access_token_findings(provider: str, jwt_needed: bool) -> list[Finding]:
    """The warning that the app needs JWT access tokens and what ``provider`` issues; none
    when the app's plugin takes any access token (Login OIDC)."""
    if not jwt_needed or provider not in _ACCESS_TOKENS:
        return []
    issues, hint = _ACCESS_TOKENS[provider]
    return [
        Finding(
            Level.WARNING,
            "jwt-access-token",
            "Matomo's plugin (RebelOIDC) decodes the access token as a JWT and refuses an "
            f'opaque one ("Invalid JWT token format."): {issues}',
            hint,
        )
    ]
