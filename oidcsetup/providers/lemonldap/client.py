"""LemonLDAP::NG's relying-party entry for Matomo: ``oidcRPMetaDataOptions.<key>`` and
``oidcRPMetaDataExportedVars.<key>`` of its configuration (lmConf-N.json).

Facts (LemonLDAP::NG 2.16, Debian; ../shared/reference/real-providers.md and the package's
Lemonldap/NG/Manager/Build/Attributes.pm): redirect URIs are one space-separated string; 2.16 has
no per-client token endpoint auth method (Basic and POST are both accepted); PKCE is demanded
only with ``oidcRPMetaDataOptionsRequirePKCE``; userinfo is signed only when
``oidcRPMetaDataOptionsUserInfoSignAlg`` is set (so it must be absent: Login OIDC cannot read a
signed one); the issuer is the portal URL with its trailing slash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from oidcsetup.integration import Integration

PREFIX = "oidcRPMetaDataOptions"
# Claims Matomo reads (email for signup, a display name), from LemonLDAP::NG's usual attributes.
EXPORTED_VARS = {"email": "mail", "name": "cn", "preferred_username": "uid"}
# Options that must NOT be set for Login OIDC (None in ``options`` means: absent).
MUST_BE_ABSENT = (f"{PREFIX}UserInfoSignAlg",)
SECRET_KEY = f"{PREFIX}ClientSecret"


@dataclass(frozen=True)
class LemonClient:
    key: str  # the relying party's name in the configuration
    options: dict[str, Any]  # value None: the option must be absent
    exported_vars: dict[str, str]

    @property
    def client_id(self) -> str:
        return str(self.options[f"{PREFIX}ClientID"])

    def shown_options(self, show_secrets: bool) -> dict[str, Any]:
        return {
            k: ("********" if k == SECRET_KEY and not show_secrets else v)
            for k, v in self.options.items()
            if v is not None
        }


def build_client(
    integration: Integration,
    redirect_uris: Sequence[str],
    post_logout_redirect_uris: Sequence[str],
    secret: str,
    *,
    jwt_access_tokens: bool = False,
) -> LemonClient:
    """The relying party; ``jwt_access_tokens`` for an app that decodes the access token.

    LemonLDAP::NG 2.16 issues opaque access tokens unless ``oidcRPMetaDataOptionsAccessTokenJWT``
    is 1 (Manager/Build/Attributes.pm: bool, default 0); its userinfo endpoint accepts the JWT
    ones alike (RebelOIDC 5.1.6 logged in with them on the real Matomo, reference section 8).
    """
    client = integration.client
    options: dict[str, Any] = {
        f"{PREFIX}ClientID": client.client_id,
        SECRET_KEY: secret,
        f"{PREFIX}DisplayName": client.display_name,
        f"{PREFIX}RedirectUris": " ".join(redirect_uris),
        f"{PREFIX}Public": 0,
        f"{PREFIX}RequirePKCE": 0,
        f"{PREFIX}IDTokenSignAlg": "RS256",
    }
    if jwt_access_tokens:
        options[f"{PREFIX}AccessTokenJWT"] = 1
    if post_logout_redirect_uris:
        options[f"{PREFIX}PostLogoutRedirectUris"] = " ".join(post_logout_redirect_uris)
    for name in MUST_BE_ABSENT:
        options[name] = None
    return LemonClient(key=client.client_id, options=options, exported_vars=dict(EXPORTED_VARS))
