"""Login OIDC's system settings: names, types, plugin defaults, and the values an Integration wants.

Source: the plugin's ``SystemSettings.php`` (dominik-th/matomo-plugin-LoginOIDC 3.0.1 to 5.0.0),
summarised in ../shared/reference/matomo-loginoidc.md section 1.

Every setting is written, flags included: a flag the profile leaves unset (``None``) is written
with the plugin's default, so the applied state is fully determined by the profile and does not
depend on what someone clicked in the UI before. (``autoLinking`` and
``disablePasswordConfirmation`` exist from plugin 4.1.0 on; older plugins ignore them.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from oidcsetup.apps.matomo.inifile import check_env_name, check_representable
from oidcsetup.apps.matomo.redirect import check_redirect_uri, rejects_query_redirects
from oidcsetup.errors import UsageError, ValidationError
from oidcsetup.integration import Integration
from oidcsetup.text import has_control_character
from oidcsetup.urls import is_loopback_host

PLUGIN = "LoginOIDC"


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


@dataclass(frozen=True)
class SettingSpec:
    name: str
    type: Literal["bool", "string"]
    default: str | bool
    title: str
    since: str = "3.0.0"


# In the order of SystemSettings.php (the order of the plugin's settings screen).
SETTINGS: tuple[SettingSpec, ...] = (
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
    SettingSpec("authenticationName", "string", "OAuth login", "Name"),
    SettingSpec(
        "authorizeUrl", "string", "https://github.com/login/oauth/authorize", "Authorize URL"
    ),
    SettingSpec("tokenUrl", "string", "https://github.com/login/oauth/access_token", "Token URL"),
    SettingSpec("userinfoUrl", "string", "https://api.github.com/user", "Userinfo URL"),
    SettingSpec("endSessionUrl", "string", "", "Logout URL"),
    SettingSpec("userinfoId", "string", "id", "Userinfo ID"),
    SettingSpec("clientId", "string", "", "Client ID"),
    SettingSpec("clientSecret", "string", "", "Client Secret"),
    SettingSpec("scope", "string", "", "OAuth Scopes"),
    SettingSpec("redirectUriOverride", "string", "", "Redirect URI override"),
    SettingSpec("allowedSignupDomains", "string", "", "Restrict user creation to domains"),
)
SPECS: dict[str, SettingSpec] = {spec.name: spec for spec in SETTINGS}
SETTING_NAMES: tuple[str, ...] = tuple(SPECS)
URL_SETTINGS = ("authorizeUrl", "tokenUrl", "userinfoUrl", "endSessionUrl")
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


def coerce_stored(name: str, stored: str) -> str:
    """A stored string as Matomo reads it for ``name``: bool settings become "1"/"0"
    (PHP's ``settype($v, 'bool')``: "" and "0" are false, anything else true)."""
    spec = SPECS.get(name)
    if spec is not None and spec.type == "bool":
        return "0" if stored in ("", "0") else "1"
    return stored


def desired_settings(
    integration: Integration,
    secret: str | None,
    secret_as_env: str | None = None,
) -> dict[str, SettingValue]:
    """Every Login OIDC setting for this integration, in the plugin's order.

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
    values: dict[str, SettingValue] = {}
    for spec in SETTINGS:
        values[spec.name] = spec.default
    for field_name, setting in FLAG_FIELDS.items():
        flag = getattr(app, field_name)
        if flag is not None:
            values[setting] = bool(flag)
    values["authenticationName"] = app.button_name or str(SPECS["authenticationName"].default)
    values["authorizeUrl"] = provider.authorization_endpoint or ""
    values["tokenUrl"] = provider.token_endpoint or ""
    values["userinfoUrl"] = provider.userinfo_endpoint or ""
    values["endSessionUrl"] = provider.end_session_endpoint or ""
    values["userinfoId"] = app.userinfo_id
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
    if secret_as_env:
        values[SECRET_SETTING] = EnvRef(secret_as_env)
    elif secret is not None:
        values[SECRET_SETTING] = secret
    else:
        del values[SECRET_SETTING]
    validate_settings(values)
    return values


# Settings whose value may span lines: the domain list is one per line, and a secret is the
# provider's to choose (it round-trips through the ini file and is never shown unmasked).
MULTI_LINE_SETTINGS = frozenset({"allowedSignupDomains", SECRET_SETTING})


def validate_settings(values: Mapping[str, SettingValue]) -> None:
    """Names, types and values the plugin's UI validators would check (a direct write skips them)."""
    for name, value in values.items():
        spec = SPECS.get(name)
        if spec is None:
            raise ValidationError(
                f"unknown Login OIDC setting {name!r}",
                hint="known settings: " + ", ".join(SETTING_NAMES),
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
    if not str(values.get("userinfoId", "x")).strip():
        raise ValidationError(
            "userinfoId must not be empty (the plugin refuses it)",
            hint='use "sub", the OIDC subject claim',
        )
    for name in URL_SETTINGS:
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
                    f"allowedSignupDomains entry {line!r} is not written the way Login OIDC "
                    "compares it",
                    hint=f"write {written}",
                )


# --- allowedSignupDomains ----------------------------------------------------------------------
# Login OIDC 5.0.0 (Controller.php, signupUser) takes the part of the email claim after its first
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
    warnings: list[SettingWarning] = []
    userinfo_id = str(values.get("userinfoId", ""))
    if userinfo_id != "sub":
        warnings.append(
            SettingWarning(
                "userinfo-id-not-sub",
                f'userinfoId is "{userinfo_id}", not "sub": an OIDC provider identifies users '
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
                "and Login OIDC's callback URL has one",
                "set --redirect-uri-override to a path without a query (e.g. "
                "https://matomo.example.com/oidc/callback) and rewrite it in the web server to "
                "index.php?module=LoginOIDC&action=callback&provider=oidc",
            )
        )
    if SECRET_SETTING not in values or values.get(SECRET_SETTING) == "":
        warnings.append(
            SettingWarning(
                "no-client-secret",
                "no client secret is set: Login OIDC stays disabled until clientSecret is filled",
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
    for name in URL_SETTINGS:
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
    held: Mapping[str, str], desired: Mapping[str, SettingValue], *, prune: bool = False
) -> list[str]:
    """The [LoginOIDC] settings config.ini.php holds after an apply, in the plugin's order.

    Matomo's ``SystemSetting::isWritableByCurrentUser`` is false for a setting with a config
    value: the settings screen and API no longer show or change it (the file wins).
    """
    kept = set(held) & set(SPECS)
    if prune:  # prune removes the others, but never an unmanaged clientSecret
        kept &= {SECRET_SETTING}
    names = set(desired) | kept
    return [spec.name for spec in SETTINGS if spec.name in names]
