"""``access-token``: for a plugin that decodes the tokens itself (RebelOIDC), whether a real
login's access token is a JWT it can read, and the userinfo endpoint accepts it.

RebelOIDC 5.1.6's callback fails with "Invalid JWT token format." on an opaque access token
(apps/matomo/tokendecode.py); Login OIDC only hands the token to userinfo, so the probe is
not run for it. The verdict needs the tokens of a real login (``check --login``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oidcsetup.verify.result import ProbeResult, failed, passed, skipped

if TYPE_CHECKING:
    from oidcsetup.apps.matomo.plugins import MatomoPlugin
    from oidcsetup.integration import Integration
    from oidcsetup.verify.login import LoginResult
    from oidcsetup.verify.oauth import LoginError

NAME = "access-token"

# How to make a provider issue JWT access tokens, by the family discovery recognised.
JWT_HINTS = {
    "authelia": "set access_token_signed_response_alg: 'RS256' on the client "
    "(oidcsetup gen authelia --plugin rebeloidc writes it)",
    "lemonldap": "set oidcRPMetaDataOptionsAccessTokenJWT to 1 for the relying party "
    "(oidcsetup apply lemonldap --plugin rebeloidc does)",
}


def probe_access_token(
    plugin: MatomoPlugin,
    integration: Integration,
    login: LoginResult | None,
    login_error: LoginError | None,
    family: str | None,
) -> ProbeResult | None:
    """None for a plugin that does not read the access token itself."""
    if not plugin.requires_jwt_access_token:
        return None
    if login is None:
        if login_error is not None:
            return skipped(
                NAME, "no-login", f"no token to judge: the test login failed ({login_error})"
            )
        return skipped(
            NAME,
            "access-token-unproven",
            f"{plugin.title} needs a JWT access token the userinfo endpoint accepts; "
            "only a real login shows what the provider issues",
            "run check --login",
        )
    from oidcsetup.apps.matomo.tokendecode import judge_tokens

    app = integration.matomo
    verdict = judge_tokens(
        login.access_token,
        login.id_token,
        client_id=integration.client.client_id,
        allowed_role=app.allowed_role or "",
        fine_grained_permissions=bool(app.fine_grained_permissions),
        provider_hint=JWT_HINTS.get(family or ""),
    )
    if not verdict.ok:
        return failed(NAME, verdict.code, verdict.message, verdict.hint, plugin=plugin.module)
    attribute = app.username_attribute or "preferred_username"
    details = {"plugin": plugin.module, "userinfo_accepts_it": True}
    if app.allow_signup and attribute not in login.userinfo:
        return failed(
            NAME,
            "username-attribute-missing",
            f"userinfo has no {attribute} claim (usernameAttribute): {plugin.title} names new "
            "users after the email or the subject instead",
            "grant the scope carrying it (profile for preferred_username), or set "
            "--username-attribute to a claim userinfo has",
            **details,
        )
    return passed(
        NAME,
        verdict.code,
        verdict.message + ", and the userinfo endpoint accepts it",
        **details,
    )
