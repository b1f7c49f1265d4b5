"""What ``check`` expects to find: the client as the Integration describes it (:class:`Target`),
Matomo's current settings (:class:`MatomoCurrent`), and the client as Matomo has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from oidcsetup.errors import OidcSetupError, UsageError
from oidcsetup.integration import MATOMO_AUTH_METHOD, Integration

if TYPE_CHECKING:
    from oidcsetup.apps.matomo.redirect import GeneralSettings


@dataclass(frozen=True)
class MatomoCurrent:
    """Login OIDC settings in place: stored strings by setting name (``${NAME}`` kept as is)."""

    source: str  # e.g. "config file /var/www/matomo/config/config.ini.php"
    values: Mapping[str, str]
    # What apps/matomo/safety.py and settings.py found wrong with Matomo's state (a plugin
    # active but not installed, a ${NAME} secret Matomo rewrote); None: not looked at.
    findings: tuple[Any, ...] = ()
    checked: tuple[str, ...] = ()  # what those checks covered, e.g. "LoginOIDC is installed"
    general: GeneralSettings | None = None  # config.ini.php [General], when the file was read
    # Settings that hold a value Matomo does not reveal (its API answers a password field as
    # ******): set, but not comparable (apps/matomo/api.py).
    hidden: tuple[str, ...] = ()

    def get(self, name: str) -> str:
        """The value the plugin uses: the stored one, else the plugin's default."""
        if name in self.values:
            return self.values[name]
        from oidcsetup.apps.matomo.settings import SPECS, stored_form

        spec = SPECS.get(name)
        return stored_form(spec.default) if spec else ""


@dataclass(frozen=True)
class Target:
    """What a login uses: from the integration, or from Matomo's settings when given."""

    client_id: str
    secret: str | None = field(repr=False)
    auth_method: str
    scopes: tuple[str, ...]
    redirect_uri: str | None
    userinfo_id: str
    allow_signup: bool
    source: str = "profile"
    # Why redirect_uri is None although Matomo's URL is given (an invalid URL): the probe fails.
    redirect_problem: OidcSetupError | None = field(default=None, repr=False)


def is_env_reference(value: str) -> bool:
    return value.startswith("${") and value.endswith("}")


def target_from(integration: Integration, secret: str | None) -> Target:
    from oidcsetup.apps.matomo.redirect import redirect_uris

    problem: OidcSetupError | None = None
    try:
        redirect: str | None = redirect_uris(integration.matomo)[0]
    except UsageError:
        redirect = None  # Matomo's URL is not known: the probe is skipped
    except OidcSetupError as exc:
        redirect, problem = None, exc  # given but unusable (not a URL, http on a public host)
    return Target(
        client_id=integration.client.client_id,
        secret=secret,
        auth_method=integration.client.auth_method or MATOMO_AUTH_METHOD,
        scopes=integration.client.scopes,
        redirect_uri=redirect,
        userinfo_id=integration.matomo.userinfo_id,
        allow_signup=bool(integration.matomo.allow_signup),
        redirect_problem=problem,
    )


def matomo_redirect_uri(current: MatomoCurrent, integration: Integration) -> str | None:
    """The redirect URI Matomo will send: its override, else its callback URL."""
    from oidcsetup.apps.matomo.redirect import check_redirect_uri, redirect_uris

    override = current.get("redirectUriOverride")
    try:
        if override:
            return check_redirect_uri(override, what="redirectUriOverride")
        return redirect_uris(replace(integration.matomo, redirect_uri_override=None))[0]
    except OidcSetupError:
        return None


def target_from_matomo(target: Target, current: MatomoCurrent, integration: Integration) -> Target:
    """Overlay what Matomo actually uses: that is what a real login will send."""
    secret = "" if "clientSecret" in current.hidden else current.get("clientSecret")
    return replace(
        target,
        client_id=current.get("clientId") or target.client_id,
        secret=target.secret if (not secret or is_env_reference(secret)) else secret,
        auth_method=MATOMO_AUTH_METHOD,
        scopes=tuple(current.get("scope").split()) or target.scopes,
        redirect_uri=matomo_redirect_uri(current, integration) or target.redirect_uri,
        userinfo_id=current.get("userinfoId") or target.userinfo_id,
        allow_signup=current.get("allowSignup") not in ("", "0"),
        source=current.source,
    )
