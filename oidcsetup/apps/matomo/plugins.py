"""The Matomo login plugins oidcsetup configures, described as data: Login OIDC and RebelOIDC.

One :class:`MatomoPlugin` value says everything the rest of the app package needs to know about
a plugin: its module name (config section, ``plugin_setting.plugin_name``, URL ``module=``), its
system settings (names, types, defaults, in the order of its settings screen), the callback
query, the sign-in action, its own link table, and what its callback does with the tokens and
claims. Targets, plans, render formats, ``check`` and the redirect URI read it from here.

Sources (read, not copied):

- Login OIDC: dominik-th/matomo-plugin-LoginOIDC 5.0.0 ``SystemSettings.php`` (names, types,
  defaults), ``Controller.php`` (``getRedirectUri``: module=LoginOIDC&action=callback&
  provider=oidc; ``callback``: userinfo ``$result->$userinfoId``, ``$result->email`` for signup),
  ``LoginOIDC.php::install`` (table ``loginoidc_provider``); ../shared/reference/
  matomo-loginoidc.md sections 1, 2, 4.
- RebelOIDC: Digitalist-Open-Cloud/Matomo-Plugin-RebelOIDC 5.1.6 (in the real Matomo of
  ../shared/peers/matomo/, ``plugins/RebelOIDC``): ``SystemSettings.php`` (22 settings created in
  ``init()``; ``useEmailAsUsername`` is declared there but never created, so it is no setting),
  ``Controller.php`` (``getRedirectUri``, ``callback``, ``decodeJwt``, ``extractRoles``,
  ``extractPermissions``, ``determineUsername``, ``signupUser``), ``Helper.php``
  (``isPluginSetup``, the ``rebeloidc_provider`` queries), ``RebelOIDC.php::install``;
  ../shared/reference/matomo-loginoidc.md section 8.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from oidcsetup.errors import UsageError

PluginKey = Literal["loginoidc", "rebeloidc"]
PLUGIN_KEYS: tuple[str, ...] = ("loginoidc", "rebeloidc")


@dataclass(frozen=True)
class SettingSpec:
    """One system setting: its name, type, the plugin's default and the settings screen's title."""

    name: str
    type: Literal["bool", "string"]
    default: str | bool
    title: str
    since: str = "3.0.0"


@dataclass(frozen=True)
class ClaimUse:
    """What the plugin's callback reads, from where, and what for.

    ``source`` is "userinfo" (the JSON of the userinfo endpoint, called with the access token)
    or "tokens" (the payloads of the access token and the id_token, decoded without checking a
    signature). ``claim`` may name a setting in braces (``{userInfoId}``): the claim it names.
    ``setting`` is the setting that makes the plugin read it (None: always read).
    """

    claim: str
    source: Literal["userinfo", "tokens"]
    purpose: str
    setting: str | None = None


@dataclass(frozen=True)
class MatomoPlugin:
    key: PluginKey
    module: str  # config section, plugin_setting.plugin_name, index.php?module=
    title: str
    settings: tuple[SettingSpec, ...]
    provider_table: str  # without Matomo's table prefix
    signin_action: str  # the login form posts to index.php?module=<module>&action=<signin_action>
    # The few settings both plugins have under different names: Login OIDC's name -> this one's.
    renamed: Mapping[str, str] = field(default_factory=dict)
    claims: tuple[ClaimUse, ...] = ()
    # The callback decodes the access token as a JWT before anything else (RebelOIDC).
    requires_jwt_access_token: bool = False
    # isPluginSetup: the button shows and sign-in works only when all of these are non-empty.
    required: tuple[str, ...] = ()

    @property
    def callback_query(self) -> str:
        """The query of the callback URL the plugin sends as redirect_uri (no override)."""
        # Both build it with http_build_query(["module", "action" => "callback", "provider" =>
        # "oidc"]) in getRedirectUri(); the callback refuses a provider other than "oidc".
        return f"module={self.module}&action=callback&provider=oidc"

    @property
    def specs(self) -> dict[str, SettingSpec]:
        return {spec.name: spec for spec in self.settings}

    @property
    def setting_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.settings)

    def name_of(self, loginoidc_name: str) -> str:
        """This plugin's name for the setting Login OIDC calls ``loginoidc_name``."""
        return self.renamed.get(loginoidc_name, loginoidc_name)

    @property
    def url_settings(self) -> tuple[str, ...]:
        return tuple(
            self.name_of(n) for n in ("authorizeUrl", "tokenUrl", "userinfoUrl", "endSessionUrl")
        )

    @property
    def userinfo_id_setting(self) -> str:
        return self.name_of("userinfoId")


def _flags() -> tuple[SettingSpec, ...]:
    """The six behaviour flags both plugins have, same names, types, defaults and titles."""
    return (
        SettingSpec("disableSuperuser", "bool", False, "Disable external login for superusers"),
        SettingSpec(
            "disablePasswordConfirmation", "bool", False, "Disable password confirmation", "4.1.0"
        ),
        SettingSpec("disableDirectLoginUrl", "bool", True, "Disable direct login url"),
        SettingSpec(
            "allowSignup",
            "bool",
            False,
            "Create new users when users try to log in with unknown OIDC accounts",
        ),
        SettingSpec("bypassTwoFa", "bool", False, "Disable second factor when sign in with OIDC"),
        SettingSpec("autoLinking", "bool", False, "Enable auto linking", "4.1.0"),
    )


# Login OIDC 5.0.0 SystemSettings.php, in the order of its init() (the settings screen's order).
LOGIN_OIDC = MatomoPlugin(
    key="loginoidc",
    module="LoginOIDC",
    title="Login OIDC",
    settings=(
        *_flags(),
        SettingSpec("authenticationName", "string", "OAuth login", "Name"),
        SettingSpec(
            "authorizeUrl", "string", "https://github.com/login/oauth/authorize", "Authorize URL"
        ),
        SettingSpec(
            "tokenUrl", "string", "https://github.com/login/oauth/access_token", "Token URL"
        ),
        SettingSpec("userinfoUrl", "string", "https://api.github.com/user", "Userinfo URL"),
        SettingSpec("endSessionUrl", "string", "", "Logout URL"),
        SettingSpec("userinfoId", "string", "id", "Userinfo ID"),
        SettingSpec("clientId", "string", "", "Client ID"),
        SettingSpec("clientSecret", "string", "", "Client Secret"),
        SettingSpec("scope", "string", "", "OAuth Scopes"),
        SettingSpec("redirectUriOverride", "string", "", "Redirect URI override"),
        SettingSpec("allowedSignupDomains", "string", "", "Restrict user creation to domains"),
    ),
    provider_table="loginoidc_provider",
    signin_action="signin",
    claims=(
        ClaimUse("{userinfoId}", "userinfo", "the user's id, looked up in loginoidc_provider"),
        ClaimUse("email", "userinfo", "login and email of a new user", "allowSignup"),
    ),
    required=("authorizeUrl", "tokenUrl", "userinfoUrl", "clientId", "clientSecret"),
)

# RebelOIDC 5.1.6 SystemSettings.php init() order (titles from its lang/en.json). Differences from Login OIDC: userInfoUrl and
# userInfoId are spelt with a capital I (userInfoId defaults to "sub"), the endpoints and scope
# default to "", authenticationName to "OIDC login", and five settings are new:
# usernameAttribute (string, "preferred_username"), fallbackToEmail (bool, true), initialIdSite
# (string, "none": a single-select of "none" and the site ids), allowedRole (string, ""),
# fineGrainedPermissions (bool, false).
REBEL_OIDC = MatomoPlugin(
    key="rebeloidc",
    module="RebelOIDC",
    title="RebelOIDC",
    settings=(
        *_flags(),
        SettingSpec("authenticationName", "string", "OIDC login", "Name"),
        SettingSpec("authorizeUrl", "string", "", "Authorize URL"),
        SettingSpec("tokenUrl", "string", "", "Token URL"),
        SettingSpec("userInfoUrl", "string", "", "Userinfo URL"),
        SettingSpec("endSessionUrl", "string", "", "Logout URL"),
        SettingSpec("userInfoId", "string", "sub", "Userinfo ID"),
        SettingSpec(
            "usernameAttribute",
            "string",
            "preferred_username",
            "Username Attribute from OIDC claim",
        ),
        SettingSpec("fallbackToEmail", "bool", True, "Fallback to Email"),
        SettingSpec("clientId", "string", "", "Client ID"),
        SettingSpec("clientSecret", "string", "", "Client Secret"),
        SettingSpec("scope", "string", "", "OAuth Scopes"),
        SettingSpec("redirectUriOverride", "string", "", "Redirect URI override"),
        SettingSpec("allowedSignupDomains", "string", "", "Restrict user creation to domains"),
        SettingSpec("initialIdSite", "string", "none", "Initial site id"),
        SettingSpec("allowedRole", "string", "", "Restrict user login with specific role"),
        SettingSpec("fineGrainedPermissions", "bool", False, "Use fine-grained permissions"),
    ),
    provider_table="rebeloidc_provider",
    signin_action="signIn",  # templates/loginMod.twig: linkTo({'module': 'RebelOIDC', 'action': 'signIn'})
    renamed={"userinfoUrl": "userInfoUrl", "userinfoId": "userInfoId"},
    claims=(
        # callback(): decodeJwt($accessToken) (and the id_token's) runs first, unconditionally;
        # fewer than three dot-separated parts throw "Invalid JWT token format.".
        ClaimUse("access token is a JWT", "tokens", "decoded before anything else"),
        ClaimUse("{userInfoId}", "userinfo", "the user's id, looked up in rebeloidc_provider"),
        ClaimUse(
            "email", "userinfo", "email of a new user (signup refused without)", "allowSignup"
        ),
        ClaimUse(
            "{usernameAttribute}",
            "userinfo",
            "login of a new user (else the email with fallbackToEmail, else the id)",
            "allowSignup",
        ),
        # extractRoles(): realm_access.roles, resource_access.<clientId>.roles, roles.
        ClaimUse(
            "realm_access.roles | resource_access.<client_id>.roles | roles",
            "tokens",
            "must contain allowedRole, else the login is refused",
            "allowedRole",
        ),
        # extractPermissions(): each "/matomo/<idSite>/<view|write|admin>"; assignPermissions()
        # then makes the user's site access exactly that list (removing the others).
        ClaimUse(
            "matomo-permission-path",
            "tokens",
            "the user's site access, replaced at every login",
            "fineGrainedPermissions",
        ),
    ),
    requires_jwt_access_token=True,
    required=("authorizeUrl", "tokenUrl", "userInfoUrl", "clientId", "clientSecret"),
)

PLUGINS: dict[str, MatomoPlugin] = {p.key: p for p in (LOGIN_OIDC, REBEL_OIDC)}
PLUGINS_BY_MODULE: dict[str, MatomoPlugin] = {p.module: p for p in PLUGINS.values()}
DEFAULT_PLUGIN = LOGIN_OIDC


def plugin_named(key: str | None) -> MatomoPlugin:
    """The plugin a profile value, flag or env var names (None: Login OIDC, the default)."""
    if key is None:
        return DEFAULT_PLUGIN
    plugin = PLUGINS.get(key.strip().lower())
    if plugin is None:
        raise UsageError(
            f"unknown Matomo plugin {key!r}",
            hint="app.matomo.plugin (--plugin, OIDCSETUP_PLUGIN) is loginoidc or rebeloidc",
        )
    return plugin


def canonical(values: Mapping[str, str], plugin: MatomoPlugin) -> dict[str, str]:
    """``plugin``'s stored settings under Login OIDC's names where the two differ
    (``userInfoUrl`` -> ``userinfoUrl``): the vocabulary ``check`` compares in."""
    back = {own: loginoidc for loginoidc, own in plugin.renamed.items()}
    return {back.get(name, name): value for name, value in values.items()}


def plugin_of_module(module: str) -> MatomoPlugin | None:
    return PLUGINS_BY_MODULE.get(module)
