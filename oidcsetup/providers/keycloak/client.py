"""Build Keycloak's ``ClientRepresentation`` (the JSON ``kcadm.sh create clients -f`` and the
realm partial import read) for Matomo's Login OIDC.

Facts from keycloak/keycloak (``core/.../representations/idm/ClientRepresentation.java``,
``services/.../authenticators/client/ClientIdAndSecretAuthenticator.java``,
``services/.../protocol/oidc/OIDCAdvancedConfigWrapper.java``):

- ``clientAuthenticatorType: client-secret`` is the authenticator that reads the secret from
  the form body (``client_secret_post``) as well as from HTTP Basic: what Login OIDC sends.
- attributes are a ``Map<String, String>``: every value is a string.
- ``pkce.code.challenge.method`` left unset means PKCE is not required (Login OIDC sends none);
  ``user.info.response.signature.alg`` left unset means userinfo answers plain JSON (the plugin
  cannot read a signed one).
- ``post.logout.redirect.uris`` holds several URIs joined with ``##``.
- redirect URIs are compared exactly, except that a trailing ``*`` is a prefix wildcard.
- ``defaultClientScopes`` is left out: a new client gets the realm's default client scopes, and
  since Keycloak 25 ``sub`` comes from the default ``basic`` scope, so a list of our own could
  drop ``sub``. A requested scope beyond openid/email/profile is listed in
  ``optionalClientScopes``; it must exist in the realm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from oidcsetup.integration import Integration

# "openid" is no client scope in Keycloak (it is what makes the request OIDC); email and profile
# are realm default client scopes that a new client receives.
REALM_DEFAULT_SCOPES = frozenset({"openid", "email", "profile"})
POST_LOGOUT_SEPARATOR = "##"


@dataclass(frozen=True)
class KeycloakClient:
    representation: dict[str, Any]
    optional_scopes: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    has_secret: bool = field(default=False)

    @property
    def client_id(self) -> str:
        return str(self.representation["clientId"])

    def without_secret(self) -> dict[str, Any]:
        return {k: v for k, v in self.representation.items() if k != "secret"}


def build_client(
    integration: Integration,
    redirect_uris: Sequence[str],
    post_logout_redirect_uris: Sequence[str] = (),
    secret: str | None = None,
) -> KeycloakClient:
    """The ClientRepresentation; ``secret`` None leaves it to Keycloak to generate one."""
    client = integration.client
    optional = tuple(s for s in client.scopes if s not in REALM_DEFAULT_SCOPES)
    rep: dict[str, Any] = {
        "clientId": client.client_id,
        "name": client.display_name,
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
    }
    if secret is not None:
        rep["secret"] = secret
    rep.update(
        {
            "redirectUris": list(redirect_uris),
            "standardFlowEnabled": True,
            "implicitFlowEnabled": False,
            "directAccessGrantsEnabled": False,
            "serviceAccountsEnabled": False,
            "attributes": {},
        }
    )
    if post_logout_redirect_uris:
        rep["attributes"]["post.logout.redirect.uris"] = POST_LOGOUT_SEPARATOR.join(
            post_logout_redirect_uris
        )
    if optional:
        rep["optionalClientScopes"] = list(optional)
    return KeycloakClient(
        representation=rep,
        optional_scopes=optional,
        post_logout_redirect_uris=tuple(post_logout_redirect_uris),
        has_secret=secret is not None,
    )


def realm_of_issuer(issuer: str | None) -> tuple[str, str] | None:
    """(server URL, realm) from a Keycloak issuer ``https://HOST[/auth]/realms/REALM``."""
    if not issuer:
        return None
    parts = urlsplit(issuer.rstrip("/"))
    segments = parts.path.split("/")
    if len(segments) < 3 or segments[-2] != "realms" or not segments[-1]:
        return None
    base = "/".join(segments[:-2])
    return f"{parts.scheme}://{parts.netloc}{base}", segments[-1]
