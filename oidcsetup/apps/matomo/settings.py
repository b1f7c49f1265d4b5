"""The login plugin's system settings: the values an Integration wants, their checks and traps.

The plugins' names, types and defaults are described in ``plugins.py`` (Login OIDC from its
``SystemSettings.php`` 3.0.1 to 5.0.0, RebelOIDC 5.1.6 from its own); the Integration's
``app.matomo.plugin`` says which one is configured.

Every setting is written, flags included: a flag the profile leaves unset (``None``) is written
with the plugin's default, so the applied state is fully determined by the profile and does not
depend on what someone clicked in the UI before. (``autoLinking`` and
``disablePasswordConfirmation`` exist from plugin 4.1.0 on; older plugins ignore them.)
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from oidcsetup.apps.matomo.inifile import check_env_name, check_representable
from oidcsetup.apps.matomo.plugins import LOGIN_OIDC, MatomoPlugin, SettingSpec, plugin_named
from oidcsetup.apps.matomo.redirect import check_redirect_uri, rejects_query_redirects
from oidcsetup.errors import UsageError, ValidationError
from oidcsetup.integration import Integration
from oidcsetup.text import has_control_character
from oidcsetup.urls import is_loopback_host

PLUGIN = LOGIN_OIDC.module


@dataclass(frozen=True)
class EnvRef:
    """The client secret as a reference to an environment variable of Matomo's PHP process.

    Only the config file can hold one (PHP's ini parser expands ``${NAME}``); the database
    cannot, and ``./console config:set`` would store the ``$`` literally.
    """

    name: str

    def __post_init__(self) -> None:
        check_env_name(self.name)

    def __str__(self) -> str:
        return "${" + self.name + "}"


SettingValue = str | bool | EnvRef


# Login OIDC's settings, for the callers that know only that plugin; every function below takes
# the plugin (apps/matomo/plugins.py) and defaults to Login OIDC.
SETTINGS: tuple[SettingSpec, ...] = LOGIN_OIDC.settings
SPECS: dict[str, SettingSpec] = LOGIN_OIDC.specs
SETTING_NAMES: tuple[str, ...] = LOGIN_OIDC.setting_names
URL_SETTINGS = LOGIN_OIDC.url_settings
SECRET_SETTING = "clientSecret"

# MatomoApp field -> setting name, for the behaviour flags.
FLAG_FIELDS: dict[str, str] = {
    "disable_superuser": "disableSuperuser",
    "disable_password_confirmation": "disablePasswordConfirmation",
    "disable_direct_login_url": "disableDirectLoginUrl",
    "allow_signup": "allowSignup",
    "bypass_two_fa": "bypassTwoFa",
    "auto_linking": "autoLinking",
}
# RebelOIDC's own settings: MatomoApp field -> setting name.
REBEL_FIELDS: dict[str, str] = {
    "username_attribute": "usernameAttribute",
    "fallback_to_email": "fallbackToEmail",
    "initial_id_site": "initialIdSite",
    "allowed_role": "allowedRole",
    "fine_grained_permissions": "fineGrainedPermissions",
}


@dataclass(frozen=True)
class SettingWarning:
    """A trap the settings walk into; ``code`` is stable for scripts (JSON output)."""

    code: str
    message: str
    hint: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "hint": self.hint}


def stored_form(value: SettingValue) -> str:
    """The string Matomo stores: bools "1"/"0" (database and config alike), strings as they are."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def coerce_stored(name: str, stored: str, plugin: MatomoPlugin = LOGIN_OIDC) -> str:
    """A stored string as Matomo reads it for ``name``: bool settings become "1"/"0"
    (PHP's ``settype($v, 'bool')``: "" and "0" are false, anything else true)."""
    spec = plugin.specs.get(name)
    if spec is not None and spec.type == "bool":
        return "0" if stored in ("", "0") else "1"
    return stored


def desired_settings(
    integration: Integration,
    secret: str | None,
    secret_as_env: str | None = None,
) -> dict[str, SettingValue]:
    """Every setting of the integration's plugin (Login OIDC or RebelOIDC), in the plugin's order.

    ``secret`` is the plaintext client secret; ``secret_as_env`` writes ``${NAME}`` instead.
    With neither, ``clientSecret`` is left out (a target then keeps what it holds).
    Raises UsageError when the provider endpoints are unknown, ValidationError for values
    Matomo would not work with or that cannot be stored.
    """
    provider = integration.provider
    app = integration.matomo
    missing = [
        flag
        for flag, value in (
            ("--authorization-endpoint", provider.authorization_endpoint),
            ("--token-endpoint", provider.token_endpoint),
            ("--userinfo-endpoint", provider.userinfo_endpoint),
        )
        if not value
    ]
    if missing:
        raise UsageError(
            "the provider's endpoints are not known: missing " + ", ".join(missing),
            hint="run `oidcsetup discover ISSUER --save`, pass --issuer (discovered now) or "
            "--preset NAME with --issuer, or give the endpoint flags",
        )
    plugin = plugin_named(app.plugin)
    values: dict[str, SettingValue] = {}
    for spec in plugin.settings:
        values[spec.name] = spec.default
    for field_name, setting in FLAG_FIELDS.items():
        flag = getattr(app, field_name)
        if flag is not None:
            values[setting] = bool(flag)
    name = plugin.name_of
    values["authenticationName"] = app.button_name or str(
        plugin.specs["authenticationName"].default
    )
    values["authorizeUrl"] = provider.authorization_endpoint or ""
    values["tokenUrl"] = provider.token_endpoint or ""
    values[name("userinfoUrl")] = provider.userinfo_endpoint or ""
    values["endSessionUrl"] = provider.end_session_endpoint or ""
    values[name("userinfoId")] = app.userinfo_id
    values["clientId"] = integration.client.client_id
    values["scope"] = " ".join(integration.client.scopes)
    values["redirectUriOverride"] = (
        check_redirect_uri(app.redirect_uri_override, what="redirectUriOverride")
        if app.redirect_uri_override
        else ""
    )
    values["allowedSignupDomains"] = "\n".join(
        dict.fromkeys(signup_domain(d) for d in app.allowed_signup_domains)
    )
    given = {f: getattr(app, f) for f in REBEL_FIELDS if getattr(app, f) is not None}
    if plugin.key == "rebeloidc":
        for field_name, value in given.items():
            values[REBEL_FIELDS[field_name]] = value
    elif given:
        keys = ", ".join(f"app.matomo.{f}" for f in given)
        raise UsageError(
            f"{keys}: only RebelOIDC has this setting, and the plugin is Login OIDC",
            hint='set app.matomo.plugin = "rebeloidc" (--plugin rebeloidc), or drop it',
        )
    if secret_as_env:
        values[SECRET_SETTING] = EnvRef(secret_as_env)
    elif secret is not None:
        values[SECRET_SETTING] = secret
    else:
        del values[SECRET_SETTING]
    validate_settings(values, plugin)
    return values


# Settings whose value may span lines: the domain list is one per line, and a secret is the
# provider's to choose (it round-trips through the ini file and is never shown unmasked).
MULTI_LINE_SETTINGS = frozenset({"allowedSignupDomains", SECRET_SETTING})


def validate_settings(
    values: Mapping[str, SettingValue], plugin: MatomoPlugin = LOGIN_OIDC
) -> None:
    """Names, types and values the plugin's UI validators would check (a direct write skips them)."""
    specs = plugin.specs
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None:
            raise ValidationError(
                f"unknown {plugin.title} setting {name!r}",
                hint="known settings: " + ", ".join(plugin.setting_names),
            )
        if spec.type == "bool" and not isinstance(value, bool):
            raise ValidationError(f"setting {name} must be a boolean, not {value!r}")
        if spec.type == "string":
            if isinstance(value, EnvRef):
                if name != SECRET_SETTING:
                    raise ValidationError(
                        f"only clientSecret can be an environment reference, not {name}"
                    )
                continue
            if not isinstance(value, str):
                raise ValidationError(f"setting {name} must be a string, not {value!r}")
            check_representable(value, f"setting {name}")
            if name not in MULTI_LINE_SETTINGS and has_control_character(value):
                # A line break in clientId, the button name or a URL would inject lines into the
                # rendered console commands and tables; the value is not echoed.
                raise ValidationError(
                    f"setting {name} holds a line break or another control character",
                    hint="remove it: these settings are one line each",
                )
    validate_rebel_settings(values)
    id_name = plugin.userinfo_id_setting
    if not str(values.get(id_name, "x")).strip():
        raise ValidationError(
            f"{id_name} must not be empty (the plugin refuses it)",
            hint='use "sub", the OIDC subject claim',
        )
    for name in plugin.url_settings:
        url = values.get(name)
        if isinstance(url, str) and url and not url.lower().startswith(("https://", "http://")):
            raise ValidationError(
                f"{name} {url!r} is not an http(s) URL",
                hint="give the provider's absolute endpoint URL",
            )
    domains = values.get("allowedSignupDomains")
    if isinstance(domains, str) and domains:
        for line in domains.split("\n"):
            written = signup_domain(line)
            if written != line:
                raise ValidationError(
                    f"allowedSignupDomains entry {line!r} is not written the way {plugin.title} "
                    "compares it",
                    hint=f"write {written}",
                )


# --- RebelOIDC's own settings -------------------------------------------------------------------
# RebelOIDC 5.1.6 Controller.php: signupUser() passes initialIdSite (unless "none") to
# UsersManager.addUser as the new user's first site; determineUsername() takes the userinfo claim
# named by usernameAttribute; the callback refuses a login whose tokens' roles lack allowedRole.

_CLAIM_NAME_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,255}\Z")


def validate_rebel_settings(values: Mapping[str, SettingValue]) -> None:
    """RebelOIDC's values a direct write would store although its screen could not choose them."""
    site = values.get("initialIdSite")
    if (
        isinstance(site, str)
        and site != "none"
        and not (site.isascii() and site.isdigit() and int(site) > 0)
    ):
        raise ValidationError(
            f"initialIdSite {site!r} is neither a site id nor none",
            hint='give the id of an existing Matomo site (e.g. 1), or "none"',
        )
    attribute = values.get("usernameAttribute")
    if isinstance(attribute, str) and attribute and not _CLAIM_NAME_RE.match(attribute):
        raise ValidationError(
            f"usernameAttribute {attribute!r} is not a claim name (letters, digits, _ . : -)",
            hint="give the userinfo claim the provider uses, e.g. preferred_username",
        )


def check_initial_site(values: Mapping[str, SettingValue], site_ids: Collection[int]) -> None:
    """Refuse an initialIdSite that names no site of this Matomo (``site_ids``: its sites).

    RebelOIDC's signup calls UsersManager.addUser with it, which throws for an unknown site:
    every signup would then fail.
    """
    site = values.get("initialIdSite")
    if isinstance(site, str) and site != "none" and int(site) not in set(site_ids):
        known = ", ".join(str(i) for i in sorted(site_ids)) or "none"
        raise ValidationError(
            f"initialIdSite {site} is not a site of this Matomo (its sites: {known})",
            hint='give an existing site id (--initial-id-site), or "none"',
        )


# --- allowedSignupDomains ----------------------------------------------------------------------
# Login OIDC 5.0.0 (Controller.php, signupUser; RebelOIDC 5.1.6 the same) takes the part of the email claim after its first
# "@" and looks it up with PHP in_array() among the setting's lines (explode("\n")): plain domain
# names, compared exactly, case included; no regex, no wildcard. Matomo's addUser accepts only
# emails FILTER_VALIDATE_EMAIL accepts (ASCII), so an internationalised domain can only ever
# arrive in its ASCII form (xn--...): that is the form written. The plugin's own UI validator
# accepts lower-case ASCII domain names only.

_REGEX_CHARS = frozenset("^$*+?()[]{}|\\")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN_RE = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*\Z")


def signup_domain(entry: str) -> str:
    """One allowedSignupDomains line as the plugin compares it: a lower-case ASCII domain name.

    An internationalised name is converted to its ASCII form (IDNA, UTS #46 mapping). A regular
    expression or an email address is refused with the domain to write instead.
    """
    text = entry.strip()
    if not text:
        raise ValidationError(
            "an allowed signup domain is empty", hint="give a domain name such as example.org"
        )
    is_regex = any(c in _REGEX_CHARS for c in text)
    if is_regex or "@" in text:
        what = "a regular expression" if is_regex else "an email address"
        raise ValidationError(
            f'allowed signup domain "{entry}" is {what}: Login OIDC compares the part after @ '
            "of the email claim with plain domain names, exactly",
            hint=_domain_hint(text),
        )
    try:
        import idna

        ascii_name = idna.encode(text, uts46=True).decode("ascii")
    except (UnicodeError, ValueError):  # idna.IDNAError is a UnicodeError
        ascii_name = ""
    if not _DOMAIN_RE.match(ascii_name):
        raise ValidationError(
            f'allowed signup domain "{entry}" is not a domain name',
            hint="give the part after @ of the users' email addresses, e.g. example.org",
        )
    return ascii_name


def _domain_hint(pattern: str) -> str:
    """'write example.org' for ``^.*@example\\.org$`` and the like; a general hint otherwise."""
    general = (
        "give the plain domain after @ (e.g. example.org), one --allowed-signup-domain per "
        "domain; subdomains are not matched and must each be listed"
    )
    text = pattern.strip().lstrip("^").rstrip("$").rpartition("@")[2]
    text = re.sub(r"^(?:\(\.\*\)|\.\*|\.\+)", "", text).replace("\\.", ".").strip(".")
    try:
        guess = signup_domain(text) if not (set(text) & _REGEX_CHARS) else ""
    except ValidationError:
        guess = ""
    if not guess:
        return general
    subdomains = pattern.lstrip("^").startswith((".*", ".+", "(.*")) and "@" not in pattern
    return f"write {guess}" + (" (and list each subdomain on its own)" if subdomains else "")


def setting_warnings(
    integration: Integration, values: Mapping[str, SettingValue]
) -> list[SettingWarning]:
    """The known traps (reference section 7) these settings walk into."""
    plugin = plugin_named(integration.matomo.plugin)
    warnings: list[SettingWarning] = []
    id_name = plugin.userinfo_id_setting
    userinfo_id = str(values.get(id_name, ""))
    if userinfo_id != "sub":
        warnings.append(
            SettingWarning(
                "userinfo-id-not-sub",
                f'{id_name} is "{userinfo_id}", not "sub": an OIDC provider identifies users '
                "by sub, and a claim missing from userinfo fails the login with "
                '"Unexpected response from OAuth service"',
                "use --userinfo-id sub unless the provider documents another claim",
            )
        )
    scopes = str(values.get("scope", "")).split()
    if "openid" not in scopes:
        warnings.append(
            SettingWarning(
                "scope-without-openid",
                "the scopes do not include openid: the provider answers as plain OAuth 2.0 "
                "(no sub claim, no id_token for logout)",
                'use --scopes "openid email"',
            )
        )
    if values.get("allowSignup") is True and "email" not in scopes:
        warnings.append(
            SettingWarning(
                "signup-without-email",
                "allowSignup is on but the scopes do not include email: new users get their "
                "login from the email claim, so signup fails",
                'add email to the scopes (e.g. --scopes "openid email") and allow it for the '
                "client at the provider",
            )
        )
    if values.get("disableSuperuser") is True:
        warnings.append(
            SettingWarning(
                "disable-superuser",
                "disableSuperuser is on: Matomo refuses the OIDC login of super users "
                '("OAuth login disabled for superusers."); they log in with their Matomo '
                "password, and a super user without one (created by OIDC signup) is locked out",
                "keep a Matomo password on every super user; apply matomo --db checks this",
            )
        )
    if values.get("allowedSignupDomains") and values.get("allowSignup") is not True:
        warnings.append(
            SettingWarning(
                "signup-domains-without-signup",
                "allowedSignupDomains is set but allowSignup is off: no user is created, "
                "whatever the domain",
                "add --allow-signup, or drop the domains",
            )
        )
    provider = integration.provider
    if not values.get("redirectUriOverride") and any(
        rejects_query_redirects(url)
        for url in (provider.issuer, provider.authorization_endpoint, provider.token_endpoint)
    ):
        warnings.append(
            SettingWarning(
                "provider-rejects-query-redirect",
                "this provider (Azure AD / ADFS) refuses redirect URIs with a query string, "
                f"and {plugin.title}'s callback URL has one",
                "set --redirect-uri-override to a path without a query (e.g. "
                "https://matomo.example.com/oidc/callback) and rewrite it in the web server to "
                "index.php?" + plugin.callback_query,
            )
        )
    if SECRET_SETTING not in values or values.get(SECRET_SETTING) == "":
        warnings.append(
            SettingWarning(
                "no-client-secret",
                f"no client secret is set: {plugin.title} stays disabled until clientSecret is "
                "filled",
                'set OIDCSETUP_CLIENT_SECRET or client.secret = "env:NAME" in the profile, '
                "or use --secret-as-env NAME",
            )
        )
    secret_value = values.get(SECRET_SETTING)
    if isinstance(secret_value, EnvRef):
        warnings.append(
            SettingWarning(
                "secret-reference-not-durable",
                f"clientSecret = {secret_value} lasts only until Matomo rewrites config.ini.php "
                "itself (./console config:set, a plugin (de)activation, an upgrade, a settings "
                "save): it then writes back the value PHP expanded, the plaintext secret, or "
                f'"" when {secret_value.name} was not set in that process',
                "run `oidcsetup apply matomo --check` after such changes: it names this drift "
                "(exit 3), and the same apply puts the reference back",
            )
        )
    for name in plugin.url_settings:
        url = values.get(name)
        if isinstance(url, str) and url.lower().startswith("http://"):
            from urllib.parse import urlsplit

            if not is_loopback_host(urlsplit(url).hostname):
                warnings.append(
                    SettingWarning(
                        "endpoint-not-https",
                        f"{name} {url} is plain http on a non-loopback host: codes, tokens and "
                        "the client secret travel unencrypted",
                        "use the provider's https:// endpoints",
                    )
                )
    if plugin.key == "rebeloidc":
        warnings.extend(_rebel_warnings(values, scopes))
    return warnings


def _rebel_warnings(values: Mapping[str, SettingValue], scopes: list[str]) -> list[SettingWarning]:
    """What RebelOIDC's own settings make its callback read (Controller.php 5.1.6)."""
    warnings: list[SettingWarning] = []
    if values.get("fineGrainedPermissions") is True:
        warnings.append(
            SettingWarning(
                "fine-grained-permissions",
                "fineGrainedPermissions is on: at every login RebelOIDC makes the user's site "
                "access exactly the matomo-permission-path claim of the access token and "
                "id_token (/matomo/<idSite>/<view|write|admin>); a user whose tokens lack it "
                "loses all site access",
                "make the provider put matomo-permission-path into the tokens (oidcsetup check "
                "shows whether it does), or turn the setting off",
            )
        )
    if values.get("allowedRole"):
        warnings.append(
            SettingWarning(
                "allowed-role",
                f"allowedRole is {values['allowedRole']!r}: RebelOIDC refuses every login whose "
                "access token and id_token do not list it in realm_access.roles, "
                "resource_access.<client_id>.roles or roles",
                "make the provider put the role into the tokens (oidcsetup check shows whether "
                "it does)",
            )
        )
    attribute = values.get("usernameAttribute")
    if (
        values.get("allowSignup") is True
        and attribute == "preferred_username"
        and ("profile" not in scopes)
    ):
        fallback = "the email" if values.get("fallbackToEmail") is not False else "the sub"
        warnings.append(
            SettingWarning(
                "username-attribute-without-profile",
                "usernameAttribute is preferred_username but the scopes do not include profile: "
                f"new users get {fallback} as their login instead",
                'add profile to the scopes (e.g. --scopes "openid email profile")',
            )
        )
    return warnings


def secret_reference_drift(
    desired: Mapping[str, SettingValue], held: str | None, held_is_reference: bool
) -> SettingWarning | None:
    """What became of a wanted ``${NAME}`` clientSecret in config.ini.php, when it is gone.

    ``held`` is the file's clientSecret as Matomo reads it (None: no such key), and
    ``held_is_reference`` whether the file holds a ``${...}`` reference. Matomo's own rewrites
    of the file (tried on 5.1.2 with ``./console config:set``) store what PHP expanded: the
    plaintext when the variable was set in that process, "" when it was not.
    """
    want = desired.get(SECRET_SETTING)
    if not isinstance(want, EnvRef) or held is None or held_is_reference:
        return None
    rewrites = (
        "Matomo rewrote config.ini.php (./console config:set, a plugin (de)activation, an "
        "upgrade or a settings save)"
    )
    hint = f"run this apply again to put {want} back (and after every such rewrite)"
    if held == "":
        return SettingWarning(
            "secret-reference-emptied",
            f'clientSecret should be {want} but config.ini.php holds "": {rewrites} in a '
            f"process without {want.name} in its environment; Login OIDC is disabled until "
            "clientSecret is filled",
            hint,
        )
    return SettingWarning(
        "secret-reference-expanded",
        f"clientSecret should be {want} but config.ini.php holds a literal secret: the "
        f"reference became a literal ({rewrites} and wrote back the value it had expanded), "
        "or it was never written",
        hint,
    )


def pinned_settings(
    held: Mapping[str, str],
    desired: Mapping[str, SettingValue],
    *,
    prune: bool = False,
    plugin: MatomoPlugin = LOGIN_OIDC,
) -> list[str]:
    """The [LoginOIDC] settings config.ini.php holds after an apply, in the plugin's order.

    Matomo's ``SystemSetting::isWritableByCurrentUser`` is false for a setting with a config
    value: the settings screen and API no longer show or change it (the file wins).
    """
    kept = set(held) & set(plugin.specs)
    if prune:  # prune removes the others, but never an unmanaged clientSecret
        kept &= {SECRET_SETTING}
    names = set(desired) | kept
    return [spec.name for spec in plugin.settings if spec.name in names]
