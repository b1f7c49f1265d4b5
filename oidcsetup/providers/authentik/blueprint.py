"""Build authentik's blueprint for Matomo: an OAuth2 provider and the application using it.

Facts from goauthentik/authentik (``blueprints/schema.json`` as published for 2025.12,
``$defs/model_authentik_providers_oauth2.oauth2provider`` and ``model_authentik_core.application``;
``authentik/providers/oauth2/views/{token,userinfo}.py``):

- ``redirect_uris`` is a list of ``{matching_mode: strict|regex, url}`` objects (the older
  newline-separated string fails the schema). ``strict`` is used: Matomo's redirect URI has a
  ``?``, which a regex would read as "optional previous character".
- ``client_type: confidential``; the token view takes the client's id and secret from the form
  body (client_secret_post) as well as from HTTP Basic.
- PKCE is checked only when the authorization request carried a ``code_challenge`` (Login OIDC
  sends none); userinfo answers plain JSON.
- flows, the signing key and the scope mappings are uuids: looked up with ``!Find`` so that the
  blueprint works in any instance (the slugs and names are those authentik creates by default).
- with ``issuer_mode: per_provider`` the issuer is ``https://HOST/application/o/<slug>/``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from oidcsetup.integration import Integration

AUTHORIZATION_FLOW = "default-provider-authorization-implicit-consent"
INVALIDATION_FLOW = "default-provider-invalidation-flow"
SIGNING_KEY = "authentik Self-signed Certificate"
MANAGED_SCOPE = "goauthentik.io/providers/oauth2/scope-{}"
KNOWN_SCOPES = ("openid", "email", "profile")
PROVIDER_MODEL = "authentik_providers_oauth2.oauth2provider"
APPLICATION_MODEL = "authentik_core.application"
SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
SLUG_MAX = 50


@dataclass(frozen=True)
class Find:
    """``!Find [model, [field, value]]``: the uuid of an object that exists in the instance."""

    model: str
    field: str
    value: str


@dataclass(frozen=True)
class KeyOf:
    """``!KeyOf id``: the primary key of another entry of the same blueprint."""

    entry_id: str


@dataclass(frozen=True)
class Env:
    """``!Env NAME``: a value read from authentik's environment when the blueprint is applied."""

    name: str


@dataclass(frozen=True)
class Blueprint:
    name: str
    provider: dict[str, Any]  # the entry: model, id, identifiers, attrs
    application: dict[str, Any]
    unmapped_scopes: tuple[str, ...] = ()
    secret_in_clear: bool = field(default=False)
    plugin_title: str = "Login OIDC"  # the app's login plugin, named in the file's header

    @property
    def slug(self) -> str:
        return str(self.application["attrs"]["slug"])

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [self.provider, self.application]

    def document(self) -> dict[str, Any]:
        return {"version": 1, "metadata": {"name": self.name}, "entries": self.entries}


def default_slug(client_id: str) -> str:
    slug = re.sub(r"[^-a-zA-Z0-9_]", "-", client_id).strip("-")[:SLUG_MAX]
    return slug or "matomo"


def build_blueprint(
    integration: Integration,
    redirect_uris: Sequence[str],
    secret: str | Env | None,
    *,
    slug: str | None = None,
) -> Blueprint:
    """The blueprint; ``secret`` None leaves client_secret out (authentik would generate one)."""
    client = integration.client
    slug = slug or default_slug(client.client_id)
    provider_id = f"{slug}-provider"
    scopes = [s for s in client.scopes if s in KNOWN_SCOPES]
    attrs: dict[str, Any] = {
        "name": client.display_name,
        "authorization_flow": Find("authentik_flows.flow", "slug", AUTHORIZATION_FLOW),
        "invalidation_flow": Find("authentik_flows.flow", "slug", INVALIDATION_FLOW),
        "client_type": "confidential",
        "client_id": client.client_id,
    }
    if secret is not None:
        attrs["client_secret"] = secret
    attrs.update(
        {
            "redirect_uris": [{"matching_mode": "strict", "url": uri} for uri in redirect_uris],
            "signing_key": Find("authentik_crypto.certificatekeypair", "name", SIGNING_KEY),
            "property_mappings": [
                Find("authentik_providers_oauth2.scopemapping", "managed", MANAGED_SCOPE.format(s))
                for s in scopes
            ],
            "sub_mode": "hashed_user_id",
            "issuer_mode": "per_provider",
            "include_claims_in_id_token": True,
        }
    )
    provider = {
        "model": PROVIDER_MODEL,
        "id": provider_id,
        "identifiers": {"name": client.display_name},
        "attrs": attrs,
    }
    application = {
        "model": APPLICATION_MODEL,
        "identifiers": {"slug": slug},
        "attrs": {"name": client.display_name, "slug": slug, "provider": KeyOf(provider_id)},
    }
    return Blueprint(
        name=f"oidcsetup {slug}",
        provider=provider,
        application=application,
        unmapped_scopes=tuple(s for s in client.scopes if s not in KNOWN_SCOPES),
        secret_in_clear=isinstance(secret, str),
        plugin_title=integration.plugin_title,
    )


def issuer_for(authentik_url: str | None, slug: str) -> str:
    base = (authentik_url or "https://AUTHENTIK").rstrip("/")
    return f"{base}/application/o/{slug}/"
