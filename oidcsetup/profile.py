"""The integration profile, ``oidcsetup.toml``: load (tomllib), check, and edit in place (tomlkit).

Layout (README, "Profile format")::

    [provider]            issuer and the endpoints derived from it
    [provider.authelia]   Authelia-only options of the client entry
    [client]              id, name, scopes, auth_method, secret (a reference: env:NAME, file:PATH)
    [app.matomo]          url, userinfo_id, button_name and the plugin's behaviour flags

Values are returned flat, keyed by dotted path (``"client.id"``), the form
``integration.build_integration`` and the CLI overrides use.
"""

from __future__ import annotations

import difflib
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oidcsetup.errors import ProfileError
from oidcsetup.integration import PROFILE_LAYOUT, Integration


def _key_kinds() -> dict[str, str]:
    """Dotted key -> "str" | "bool" | "list", read off the Integration dataclasses' types."""
    kinds: dict[str, str] = {}
    section_types = typing.get_type_hints(Integration)
    for table, (attr, mapping) in PROFILE_LAYOUT.items():
        hints = typing.get_type_hints(section_types[attr])
        for key, field_name in mapping.items():
            text = str(hints[field_name])
            kind = "list" if "tuple" in text else "bool" if "bool" in text else "str"
            kinds[f"{table}.{key}"] = kind
    return kinds


KEY_KINDS: dict[str, str] = _key_kinds()
TABLES = tuple(PROFILE_LAYOUT)


def load_profile(path: Path, *, required: bool = False) -> dict[str, Any]:
    """Read and check a profile; a missing file is an empty profile unless ``required``."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ProfileError(
                f"profile {path} does not exist",
                hint="create one with `oidcsetup init`, or pass --profile PATH",
            ) from None
        return {}
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror}") from None
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProfileError(f"profile {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(
            f"profile {path} is not valid TOML: {exc}",
            hint="fix the syntax, or recreate it with `oidcsetup init --force`",
        ) from None
    return flatten_profile(document, source=str(path))


def flatten_profile(document: Mapping[str, Any], source: str = "profile") -> dict[str, Any]:
    """Check a parsed TOML document against the layout and flatten it to dotted keys."""
    values: dict[str, Any] = {}

    def walk(table: Mapping[str, Any], prefix: str) -> None:
        for key, value in table.items():
            dotted = f"{prefix}.{key}" if prefix else key
            if isinstance(value, Mapping):
                if dotted not in TABLES and not any(t.startswith(dotted + ".") for t in TABLES):
                    raise ProfileError(
                        f"{source}: unknown table [{dotted}]",
                        hint=_suggest(dotted, TABLES, "tables"),
                    )
                walk(value, dotted)
                continue
            if dotted not in KEY_KINDS:
                raise ProfileError(
                    f"{source}: unknown key {dotted!r}",
                    hint=_suggest(dotted, list(KEY_KINDS), "keys"),
                )
            values[dotted] = _check_choice(
                dotted, _check_type(dotted, value, KEY_KINDS[dotted], source), source
            )

    walk(document, "")
    return values


def _check_type(dotted: str, value: Any, kind: str, source: str) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise ProfileError(f"{source}: {dotted} must be true or false, not {value!r}")
    if kind == "list":
        if isinstance(value, str):  # "openid email" is accepted for scopes and the like
            return value.split()
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise ProfileError(
            f"{source}: {dotted} must be a list of strings or a space-separated string, "
            f"not {value!r}",
            hint=f'e.g. {dotted.rpartition(".")[2]} = ["a", "b"] or "a b"',
        )
    if isinstance(value, str):
        return value
    if dotted in INTEGER_AS_STRING and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ProfileError(f"{source}: {dotted} must be a string, not {value!r}")


def _check_choice(dotted: str, value: Any, source: str) -> Any:
    """A key that takes one of a few words (the Matomo plugin) refuses any other: exit 1 naming
    the profile, the key and the words, like any other bad profile value."""
    if dotted == "app.matomo.plugin":
        from oidcsetup.apps.matomo.plugins import PLUGIN_KEYS

        if value.strip().lower() not in PLUGIN_KEYS:
            raise ProfileError(
                f"{source}: {dotted} must be one of {', '.join(PLUGIN_KEYS)}, not {value!r}",
                hint=f'e.g. plugin = "{PLUGIN_KEYS[0]}"',
            )
    return value


# String keys that also take a TOML integer (a Matomo site id: initial_id_site = 1).
INTEGER_AS_STRING = frozenset({"app.matomo.initial_id_site"})


def _suggest(name: str, known: typing.Iterable[str], what: str) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"known {what}: " + ", ".join(sorted(known))


def update_profile(path: Path, updates: Mapping[str, Any]) -> bool:
    """Set dotted keys in the profile in place, keeping every other value and comment.

    Creates the file (mode 0600: it may reference secrets) when missing. Written atomically.
    A ``None`` value removes the key. Returns True when the file changed.
    """
    import tomlkit

    from oidcsetup.fileio import atomic_write_text

    for dotted in updates:
        if dotted not in KEY_KINDS:
            raise ProfileError(f"cannot save unknown profile key {dotted!r}")
    try:
        before = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        before = ""
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror}") from None
    try:
        document = tomlkit.parse(before)
    except Exception as exc:  # tomlkit raises its own ParseError family
        raise ProfileError(f"profile {path} is not valid TOML: {exc}") from None
    for dotted, value in updates.items():
        table_name, _, key = dotted.rpartition(".")
        table: Any = document
        for part in table_name.split("."):
            if part not in table:
                table[part] = tomlkit.table()
            table = table[part]
        if value is None:
            if key in table:
                del table[key]
            continue
        table[key] = list(value) if isinstance(value, tuple) else value
    after = tomlkit.dumps(document)
    if after == before:
        return False
    atomic_write_text(path, after, mode=0o600, backup=bool(before))
    return True


STARTER_PROFILE = """\
# oidcsetup integration profile: the single source of truth for both sides of the login.
# Every value can be overridden by a flag or an OIDCSETUP_* environment variable
# (flags win over the environment, the environment wins over this file).
# Reference: README.md, "Profile format".

[provider]
# The OpenID provider's issuer, exactly as it appears in its discovery document.
issuer = {issuer}
# Endpoints: filled in by `oidcsetup discover ISSUER --save`, or set by hand.
# authorization_endpoint = ""
# token_endpoint = ""
# userinfo_endpoint = ""
# end_session_endpoint = ""
# preset = "authelia"   # authelia | unikname | keycloak | authentik | kanidm | generic

[provider.authelia]
# Only used by `oidcsetup gen authelia`.
version = "4.39"
authorization_policy = "two_factor"

[client]
id = {client_id}
name = "Matomo"
scopes = ["openid", "email"]
# Login OIDC posts the secret in the token request's body.
auth_method = "client_secret_post"
# Where the plaintext secret lives: "env:NAME" or "file:PATH". Never the plaintext itself.
secret = "file:matomo.secret"

[app.matomo]
url = {matomo_url}
# The login plugin: "loginoidc" (Login OIDC) or "rebeloidc" (RebelOIDC, its maintained fork).
# Unset: the one active in the Matomo a command targets, else loginoidc.
# plugin = "loginoidc"
# The userinfo claim that identifies a user: "sub" for OpenID Connect providers.
userinfo_id = "sub"
button_name = "Login with SSO"
# allow_signup = false
# auto_linking = false
# bypass_two_fa = false
# disable_superuser = false
# disable_direct_login_url = true
# disable_password_confirmation = false
# redirect_uri_override = ""
# RebelOIDC only:
# username_attribute = "preferred_username"
# fallback_to_email = true
# initial_id_site = "none"      # or a site id
# allowed_role = ""
# fine_grained_permissions = false
"""


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string, quotes included (every character survives a load)."""
    escapes = {
        '"': '\\"',
        "\\": "\\\\",
        "\b": "\\b",
        "\t": "\\t",
        "\n": "\\n",
        "\f": "\\f",
        "\r": "\\r",
    }
    out = []
    for char in value:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:  # other control characters: TOML forbids them
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def starter_profile(
    issuer: str = "https://auth.example.com",
    client_id: str = "matomo",
    matomo_url: str = "https://matomo.example.com",
) -> str:
    return STARTER_PROFILE.format(
        issuer=toml_string(issuer),
        client_id=toml_string(client_id),
        matomo_url=toml_string(matomo_url),
    )
