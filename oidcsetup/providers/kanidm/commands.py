"""The ``kanidm system oauth2 ...`` commands that register Matomo's Login OIDC in Kanidm.

Facts from kanidm/kanidm (read at f72676f, 2026-08; book/src/integrations/oauth2.md,
tools/cli/src/opt/kanidm.rs, server/lib/src/idm/oauth2.rs):

- a confidential ("basic") client's discovery lists ``client_secret_basic`` and
  ``client_secret_post`` as token endpoint methods, so Login OIDC's form-body secret works;
- PKCE is required by default: ``warning-insecure-client-disable-pkce`` turns it off for this
  client (Login OIDC sends no code_challenge);
- the redirect URI is compared as a whole URL, query included
  (``o2rs.redirect_uris.contains(&auth_req.redirect_uri)``), and the code is appended to its
  query: Matomo's ``?module=LoginOIDC&...`` needs nothing special. ``enable-strict-redirect-url``
  makes that exact match the only one (else any URL of the landing URL's origin passes);
- every scope requested must be granted by a scope map; ``openid`` must be in it;
- Kanidm generates the client secret (``show-basic-secret`` prints it); the issuer is per client:
  ``https://HOST/oauth2/openid/<name>``; userinfo answers plain JSON.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from oidcsetup.integration import Integration


@dataclass(frozen=True)
class KanidmClient:
    name: str
    display_name: str
    landing_url: str
    redirect_uris: tuple[str, ...]
    group: str
    scopes: tuple[str, ...]
    kanidm_url: str | None = None

    @property
    def issuer(self) -> str:
        return f"{(self.kanidm_url or 'https://KANIDM').rstrip('/')}/oauth2/openid/{self.name}"

    def commands(self) -> list[str]:
        """The commands, in order; the last one prints the secret Kanidm generated."""
        q = shlex.quote
        name = q(self.name)
        oauth2 = "kanidm system oauth2"
        lines = [
            f"kanidm group create {q(self.group)}",
            f"kanidm group add-members {q(self.group)} USERNAME",
            f"{oauth2} create {name} {q(self.display_name)} {q(self.landing_url)}",
        ]
        lines += [f"{oauth2} add-redirect-url {name} {q(uri)}" for uri in self.redirect_uris]
        lines += [
            f"{oauth2} enable-strict-redirect-url {name}",
            f"{oauth2} update-scope-map {name} {q(self.group)} "
            + " ".join(q(s) for s in self.scopes),
            f"{oauth2} warning-insecure-client-disable-pkce {name}",
            f"{oauth2} show-basic-secret {name}",
        ]
        return lines


def default_group(client_id: str) -> str:
    return f"{client_id}_users"


def build_client(
    integration: Integration,
    redirect_uris: Sequence[str],
    landing_url: str,
    *,
    group: str | None = None,
) -> KanidmClient:
    client = integration.client
    kanidm_url = None
    if integration.provider.issuer:
        parts = urlsplit(integration.provider.issuer)
        kanidm_url = f"{parts.scheme}://{parts.netloc}"
    return KanidmClient(
        name=client.client_id,
        display_name=client.display_name,
        landing_url=landing_url,
        redirect_uris=tuple(redirect_uris),
        group=group or default_group(client.client_id),
        scopes=tuple(client.scopes),
        kanidm_url=kanidm_url,
    )
