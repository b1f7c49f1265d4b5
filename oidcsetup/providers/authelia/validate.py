"""Validate an Authelia client entry before anyone pastes it: our model of the version's keys,
types and allowed values, plus the rules of Authelia's own validator
(``internal/configuration/validator/identity_providers.go``).

What Authelia refuses to start with is an ``error`` here; what it only warns about
(plaintext secrets, unknown scopes in 4.38+, grant types that do not fit the response types,
refresh_token without offline_access, deprecated key names) is a ``warning``; facts worth
knowing that are no problem are ``info``. Each finding has a stable ``code`` for scripts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from oidcsetup.findings import Finding, Level
from oidcsetup.providers.authelia.model import (
    CLIENT_ID_MAX_LENGTH,
    RENAMED_IN_438,
    RFC3986_UNRESERVED,
    KeySpec,
    VersionModel,
    model_for,
)
from oidcsetup.text import has_control_character

LevelName = Literal["error", "warning", "info"]

IMPLICIT_RESPONSE_TYPES = ("id_token", "token", "id_token token")
HYBRID_RESPONSE_TYPES = ("code id_token", "code token", "code id_token token")
CODE_RESPONSE_TYPES = ("code", *HYBRID_RESPONSE_TYPES)

# The digest formats Authelia decodes (go-crypt), as its published schema's pattern has them.
DIGEST_PATTERN = re.compile(
    r"^\$((argon2(id|i|d)\$v=19\$m=\d+,t=\d+,p=\d+|scrypt\$ln=\d+,r=\d+,p=\d+)"
    r"\$[a-zA-Z0-9/+]+\$[a-zA-Z0-9/+]+"
    r"|pbkdf2(-sha(1|224|256|384|512))?\$\d+\$[a-zA-Z0-9/.]+\$[a-zA-Z0-9/.]+"
    r"|bcrypt-sha256\$v=2,t=2b,r=\d+\$[a-zA-Z0-9/.]+\$[a-zA-Z0-9/.]+"
    r"|2(a|b|y)?\$\d+\$[a-zA-Z0-9./]+"
    r"|(5|6)\$rounds=\d+\$[a-zA-Z0-9./]+\$[a-zA-Z0-9./]+"
    r"|plaintext\$.+|base64\$[a-zA-Z0-9.=/+]+)$"
)

MATOMO_AUTH_METHOD = "client_secret_post"


class _Collector:
    def __init__(self, client_id: str) -> None:
        self.findings: list[Finding] = []
        self.prefix = f"client {_shown(client_id)}: " if client_id else "client: "

    def add(self, level: LevelName, code: str, message: str, hint: str | None = None) -> None:
        self.findings.append(Finding(Level(level), code, self.prefix + message, hint))


def _shown(text: str) -> str:
    """``text`` quoted for a message: a line break or escape sequence in it is shown escaped,
    never written to the terminal (or into a log line) as is."""
    from oidcsetup.providers.authelia.render import yaml_scalar

    return yaml_scalar(text)


def _is_secret_name(name: str) -> bool:
    from oidcsetup.providers.authelia.redact import is_sensitive_name

    return is_sensitive_name(name)


def _q(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def validate_entry(
    entry: Mapping[str, Any],
    version: str,
    *,
    app: str | None = "matomo",
    notes: Iterable[str] = (),
) -> list[Finding]:
    """Findings for one client entry (keyed as written in a configuration file of ``version``).

    ``app="matomo"`` adds the checks that follow from what Login OIDC does on the wire.
    ``notes`` come from ``build_client_entry`` (what the version could not express).
    """
    model = model_for(version)
    raw_id = entry.get(model.key_name("client_id"))
    if raw_id is None and not model.legacy_names:
        raw_id = entry.get("id")
    out = _Collector(raw_id if isinstance(raw_id, str) else "")
    values = _canonical(entry, model, out)
    _check_types(values, model, out)
    _check_text(values, model, out)
    _check_client_id(values, model, out)
    _check_policy(values, model, out)
    _check_consent(values, model, out)
    _check_lists(values, model, out)
    _check_grants(values, out)
    _check_redirect_uris(values, out)
    _check_auth(values, model, out, notes)
    if app == "matomo":
        _check_matomo(values, model, out)
    return out.findings


# --- key names and types --------------------------------------------------------------------


def _canonical(entry: Mapping[str, Any], model: VersionModel, out: _Collector) -> dict[str, Any]:
    values: dict[str, Any] = {}
    old_names = {old: new for new, old in RENAMED_IN_438.items()}
    for key, value in entry.items():
        key = str(key)
        if not model.legacy_names and key in old_names:
            new = old_names[key]
            if new in entry:
                out.add(
                    "error",
                    "key-renamed-conflict",
                    f"option '{key}' and its new name '{new}' are both set",
                    hint=f"keep only '{new}'",
                )
                continue
            out.add(
                "warning",
                "key-deprecated",
                f"option '{key}' is deprecated since Authelia 4.38; its new name is '{new}'",
                hint=f"rename '{key}' to '{new}'",
            )
            values[new] = value
            continue
        canonical = model.canonical_name(key)
        if canonical not in model.keys or (model.legacy_names and key in RENAMED_IN_438):
            close = _closest(key, [model.key_name(k) for k in model.keys])
            out.add(
                "error",
                "key-unknown",
                f"option '{key}' is not a client option in Authelia {model.version}",
                hint=f"did you mean '{close}'?"
                if close
                else "remove it, or pick the Authelia version it belongs to (--authelia-version)",
            )
            continue
        values[canonical] = value
    return values


def _closest(name: str, candidates: list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, candidates, n=1)
    return found[0] if found else None


def _check_types(values: dict[str, Any], model: VersionModel, out: _Collector) -> None:
    for key in list(values):
        spec: KeySpec = model.keys[key]
        value = values[key]
        shown = model.key_name(key)
        ok = True
        if spec.kind in ("str", "digest"):
            ok = isinstance(value, str)
        elif spec.kind == "bool":
            ok = isinstance(value, bool)
        elif spec.kind == "list":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        elif spec.kind == "uris":
            ok = isinstance(value, str) or (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            )
            if ok and isinstance(value, str):
                values[key] = [value]
        elif spec.kind == "duration":
            ok = (isinstance(value, int) and not isinstance(value, bool) and value >= 0) or (
                isinstance(value, str)
                and re.match(model.duration_pattern, value.strip()) is not None
            )
            if not ok:
                out.add(
                    "error",
                    "duration-invalid",
                    f"option '{shown}' must be a duration such as '1 week', '7d' or a number of "
                    f"seconds, not {value!r}",
                    hint="write e.g. '1 week' (4.38+), '1w', or 604800",
                )
                del values[key]
                continue
        if not ok:
            expected = {
                "str": "a string",
                "digest": "a string",
                "bool": "true or false",
                "list": "a list of strings",
                "uris": "a list of URIs",
            }.get(spec.kind, "another type")
            # a secret of the wrong type (client_secret: 123456) is named, never printed
            seen = "" if spec.kind == "digest" or _is_secret_name(shown) else f" {value!r}"
            out.add(
                "error",
                "type-invalid",
                f"option '{shown}' must be {expected}, not {type(value).__name__}{seen}",
            )
            del values[key]
            continue
        if spec.allowed is not None and spec.kind == "str" and value not in spec.allowed:
            out.add(
                "error",
                "value-invalid",
                f"option '{shown}' must be one of {_q(sorted(a for a in spec.allowed if a))} "
                f"but it's configured as '{value}'",
            )
            del values[key]


# --- rules of Authelia's validator ----------------------------------------------------------


def _check_text(values: dict[str, Any], model: VersionModel, out: _Collector) -> None:
    """Line breaks and other control or format characters in the id or name would end up in the
    fragment, its comment line and every message naming the client: refused in all versions."""
    for canonical in ("client_id", "client_name"):
        value = values.get(canonical)
        if isinstance(value, str) and has_control_character(value):
            out.add(
                "error",
                "control-character",
                f"option '{model.key_name(canonical)}' holds a line break or another control "
                f"character: {_shown(value)}",
                hint="use printable characters only (--client-id, --client-name or the profile)",
            )


def _check_client_id(values: dict[str, Any], model: VersionModel, out: _Collector) -> None:
    shown = model.key_name("client_id")
    client_id = values.get("client_id")
    if not client_id:
        out.add(
            "error",
            "client-id-missing",
            f"option '{shown}' is required",
            hint="set client.id in the profile or pass --client-id",
        )
        return
    # 4.38+ refuse these at start-up; 4.37 does not check, but would break on upgrade.
    level: LevelName = "error" if model.checks_client_id else "warning"
    upgrade = "" if model.checks_client_id else " (Authelia 4.38 and later refuse it)"
    if len(client_id) > CLIENT_ID_MAX_LENGTH:
        out.add(
            level,
            "client-id-too-long",
            f"option '{shown}' must not be more than {CLIENT_ID_MAX_LENGTH} characters but it "
            f"has {len(client_id)} characters{upgrade}",
            hint="choose a shorter client id",
        )
    elif not re.match(RFC3986_UNRESERVED, client_id):
        out.add(
            level,
            "client-id-charset",
            f"option '{shown}' must only contain RFC 3986 unreserved characters "
            f"(A-Z a-z 0-9 - . _ ~){upgrade}",
            hint="use letters, digits and - . _ ~ only, e.g. 'matomo'",
        )


def _check_policy(values: dict[str, Any], model: VersionModel, out: _Collector) -> None:
    policy = values.get("authorization_policy")
    grants = values.get("grant_types") or []
    if "client_credentials" in grants and policy not in (None, "one_factor"):
        out.add(
            "error",
            "policy-client-credentials",
            f"option 'authorization_policy' must be 'one_factor' with the 'client_credentials' "
            f"grant type but it's configured as '{policy}'",
        )
        return
    if policy is None or policy in ("one_factor", "two_factor"):
        return
    if not model.named_policies:
        return  # the model's allowed values already reported it for 4.37
    out.add(
        "warning",
        "policy-named",
        f"option 'authorization_policy' is '{policy}', which Authelia accepts only if it is the "
        "name of a policy under identity_providers.oidc.authorization_policies",
        hint="define that policy in the configuration, or use 'one_factor' or 'two_factor'",
    )


def _check_consent(values: dict[str, Any], model: VersionModel, out: _Collector) -> None:
    mode = values.get("consent_mode")
    duration = values.get("pre_configured_consent_duration")
    if mode in ("explicit", "implicit") and duration is not None:
        out.add(
            "warning",
            "consent-duration-ignored",
            f"option 'pre_configured_consent_duration' has no effect with consent_mode '{mode}'",
            hint="use consent_mode 'pre-configured' (or 'auto') to remember consent",
        )


def _check_lists(values: dict[str, Any], model: VersionModel, out: _Collector) -> None:
    lists = (
        ("scopes", model.scopes, model.unknown_scope_level, "scope-unknown"),
        ("grant_types", model.grant_types, "error", "grant-type-invalid"),
        # 4.38+ only warn about unknown response types; 4.37 does not check them.
        (
            "response_types",
            model.response_types,
            "warning" if model.version != "4.37" else None,
            "response-type-invalid",
        ),
        ("response_modes", model.response_modes, "error", "response-mode-invalid"),
    )
    for key, allowed, level, code in lists:
        items = values.get(key)
        if items is None:
            continue
        unknown = [i for i in items if i not in allowed]
        if unknown and level is not None:
            extra = (
                "; Authelia only accepts a scope outside these if it is defined under "
                "identity_providers.oidc.scopes"
                if key == "scopes" and level == "warning"
                else ""
            )
            out.add(
                level,  # type: ignore[arg-type]
                code,
                f"option '{key}' only expects the values {_q(allowed)} but the unknown values "
                f"{_q(unknown)} are present{extra}",
                hint=f"remove {_q(unknown)} from {key}",
            )
        duplicates = sorted({i for i in items if items.count(i) > 1})
        if duplicates:
            out.add(
                "warning",
                "duplicate-values",
                f"option '{key}' must have unique values but {_q(duplicates)} are duplicated",
                hint="list each value once",
            )


def _check_grants(values: dict[str, Any], out: _Collector) -> None:
    grants = values.get("grant_types")
    responses = values.get("response_types") or ["code"]
    scopes = values.get("scopes") or []
    public = values.get("public") is True
    offline = any(s in ("offline_access", "offline") for s in scopes)
    code_capable = any(r in CODE_RESPONSE_TYPES for r in responses)
    if offline and not code_capable:
        out.add(
            "warning",
            "offline-access-without-code",
            "option 'scopes' should only have 'offline_access' if the client also has a response "
            "type that returns an authorization code (such as 'code')",
        )
    for grant in grants or []:
        if grant == "authorization_code" and not code_capable:
            out.add(
                "warning",
                "grant-type-mismatch",
                "option 'grant_types' has 'authorization_code' but no response type of the "
                f"authorization code or hybrid flow; the response types are {_q(responses)}",
                hint="add response type 'code', or remove the grant type",
            )
        elif grant == "implicit" and not any(
            r in IMPLICIT_RESPONSE_TYPES + HYBRID_RESPONSE_TYPES for r in responses
        ):
            out.add(
                "warning",
                "grant-type-mismatch",
                "option 'grant_types' has 'implicit' but no response type of the implicit or "
                f"hybrid flow; the response types are {_q(responses)}",
                hint="remove the implicit grant type",
            )
        elif grant == "client_credentials" and public:
            out.add(
                "error",
                "client-credentials-public",
                "option 'grant_types' should only have 'client_credentials' if the client is "
                "confidential but it's public",
            )
        elif grant == "refresh_token":
            if not offline:
                out.add(
                    "warning",
                    "refresh-token-without-offline-access",
                    "option 'grant_types' should only have the 'refresh_token' value if the "
                    "client is also configured with the 'offline_access' scope",
                    hint="add 'offline_access' to the scopes, or remove 'refresh_token'",
                )
            if not code_capable:
                out.add(
                    "warning",
                    "refresh-token-without-code",
                    "option 'grant_types' should only have 'refresh_token' if the client also has "
                    "a response type that returns an authorization code",
                )


def _check_redirect_uris(values: dict[str, Any], out: _Collector) -> None:
    from oidcsetup.urls import is_loopback_host

    uris = values.get("redirect_uris")
    public = values.get("public") is True
    if not uris:
        out.add(
            "error",
            "redirect-uris-missing",
            "option 'redirect_uris' is empty: no login can come back to the application",
            hint="pass --matomo-url (or --redirect-uri-override)",
        )
        return
    for uri in uris:
        if uri == "urn:ietf:wg:oauth:2.0:oob":
            if not public:
                out.add(
                    "error",
                    "redirect-uri-oob-confidential",
                    f"option 'redirect_uris' has '{uri}', which is only valid for a public client",
                )
            continue
        try:
            parts = urlsplit(uri)
        except ValueError as exc:
            out.add(
                "error",
                "redirect-uri-parse",
                f"option 'redirect_uris' has an invalid value: redirect uri '{uri}' could not be "
                f"parsed: {exc}",
            )
            continue
        if not parts.scheme:
            out.add(
                "error",
                "redirect-uri-scheme",
                f"option 'redirect_uris' has an invalid value: redirect uri '{uri}' must have a "
                "scheme but it's absent",
                hint="write the full URI, e.g. https://matomo.example.com/index.php?...",
            )
            continue
        if parts.fragment or uri.endswith("#"):
            out.add(
                "error",
                "redirect-uri-fragment",
                f"option 'redirect_uris' has '{uri}', which has a fragment; a redirect URI must "
                "not have one (RFC 6749 3.1.2)",
                hint="remove the #... part",
            )
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            out.add(
                "warning",
                "redirect-uri-http",
                f"option 'redirect_uris' has '{uri}', which uses http on a host that is not "
                "loopback; Authelia accepts it here but refuses it at login",
                hint="serve the application over https",
            )


def _check_auth(
    values: dict[str, Any], model: VersionModel, out: _Collector, notes: Iterable[str]
) -> None:
    from oidcsetup.secrets import is_plaintext

    public = values.get("public") is True
    secret = values.get("client_secret")
    secret_shown = model.key_name("client_secret")
    responses = values.get("response_types") or ["code"]
    implicit_only = all(r in IMPLICIT_RESPONSE_TYPES for r in responses)

    if isinstance(secret, str) and secret.startswith("$") and not DIGEST_PATTERN.match(secret):
        out.add(
            "error",
            "secret-format",
            f"option '{secret_shown}' is not a digest Authelia can read",
            hint="use `oidcsetup secret hash` (pbkdf2-sha512 or argon2id)",
        )

    method: str | None = values.get("token_endpoint_auth_method") or None
    for note in notes:
        if note == "jwt-access-token":
            out.add(
                "error",
                "jwt-access-token-437",
                f"Authelia {model.version} issues only opaque access tokens, and the app's "
                'plugin (RebelOIDC) fails on them with "Invalid JWT token format."',
                hint="use Authelia 4.38 or later (access_token_signed_response_alg), or the "
                "Login OIDC plugin",
            )
        if note.startswith("auth_method:"):
            wanted = note.split(":", 1)[1]
            if wanted in ("client_secret_post", "client_secret_basic"):
                out.add(
                    "info",
                    "auth-method-implicit-437",
                    f"Authelia {model.version} has no option 'token_endpoint_auth_method': it "
                    "accepts both client_secret_basic and client_secret_post from every "
                    f"confidential client, so '{wanted}' works without being configured",
                )
            else:
                out.add(
                    "error",
                    "auth-method-unsupported-437",
                    f"Authelia {model.version} cannot express token_endpoint_auth_method "
                    f"'{wanted}': it only accepts client_secret_basic and client_secret_post",
                    hint="use client_secret_post, or Authelia 4.38 or later",
                )
    if model.auth_methods:
        effective = method or ("none" if public else "client_secret_basic")
        if method and method not in model.auth_methods:
            pass  # reported by the model's allowed values
        elif effective == "none" and not public and not implicit_only:
            out.add(
                "error",
                "auth-method-confidential-none",
                "option 'token_endpoint_auth_method' must be one of 'client_secret_post', "
                "'client_secret_basic' or 'private_key_jwt' for a confidential client but it's "
                "configured as 'none'",
                hint="set public: true for a client without a secret, or choose a secret method",
            )
        elif effective != "none" and public:
            out.add(
                "error",
                "auth-method-public",
                "option 'token_endpoint_auth_method' must be 'none' when configured as the public "
                f"client type but it's configured as '{effective}'",
                hint="set public: false, or token_endpoint_auth_method: 'none'",
            )
        uses_secret = effective in (
            "client_secret_post",
            "client_secret_basic",
            "client_secret_jwt",
        )
    else:
        effective = "client_secret_basic"
        uses_secret = not public

    if public:
        if secret:
            out.add(
                "error",
                "secret-forbidden-public",
                f"option '{secret_shown}' is required to be empty when option 'public' is true",
                hint=f"remove '{secret_shown}', or set public: false",
            )
        return
    if uses_secret and not secret:
        out.add(
            "error",
            "secret-required",
            f"option '{secret_shown}' is required",
            hint="oidcsetup puts the digest of the client secret there "
            "(OIDCSETUP_CLIENT_SECRET or client.secret)",
        )
        return
    if not uses_secret and secret and model.auth_methods and effective != "none":
        out.add(
            "error",
            "secret-forbidden-method",
            f"option '{secret_shown}' is required to be empty when option "
            f"'token_endpoint_auth_method' is configured as '{effective}'",
            hint=f"remove '{secret_shown}'",
        )
        return
    if not secret:
        return
    plaintext = is_plaintext(secret)
    if effective == "client_secret_jwt":
        if not plaintext:
            out.add(
                "error",
                "client-secret-jwt-plaintext",
                f"option '{secret_shown}' must be plaintext with option "
                "'token_endpoint_auth_method' with a value of 'client_secret_jwt'",
                hint="client_secret_jwt signs with the secret itself, so Authelia needs it in "
                "'$plaintext$...' form; or use client_secret_post/basic with a digest",
            )
    elif plaintext:
        out.add(
            "warning",
            "secret-plaintext",
            f"option '{secret_shown}' is plaintext but for clients not using "
            "'client_secret_jwt' it should be a digest: plaintext values are deprecated",
            hint="replace it with `oidcsetup secret hash` output",
        )


# --- what Login OIDC needs -------------------------------------------------------------------


def _check_matomo(values: dict[str, Any], model: VersionModel, out: _Collector) -> None:
    method = values.get("token_endpoint_auth_method")
    if model.auth_methods and method != MATOMO_AUTH_METHOD:
        shown = method if method else "unset, so client_secret_basic"
        out.add(
            "error",
            "matomo-auth-method",
            f"option 'token_endpoint_auth_method' is {shown}, but Login OIDC sends the secret "
            "in the form body: Authelia would answer the token request with invalid_client",
            hint="use token_endpoint_auth_method 'client_secret_post' (client.auth_method)",
        )
    if values.get("public") is True:
        out.add(
            "error",
            "matomo-public",
            "option 'public' is true, but Login OIDC is a confidential client that always sends "
            "a client secret",
            hint="set public: false",
        )
    if values.get("require_pkce") is True or values.get("pkce_challenge_method") in (
        "plain",
        "S256",
    ):
        out.add(
            "error",
            "matomo-pkce",
            "PKCE is required for this client, but Login OIDC sends no code_challenge: every "
            "login would fail",
            hint="set require_pkce: false and pkce_challenge_method: ''",
        )
    scopes = values.get("scopes")
    if scopes is not None:
        if "openid" not in scopes:
            out.add(
                "error",
                "matomo-scope-openid",
                "option 'scopes' lacks 'openid', which Login OIDC requests",
                hint="add 'openid' to the scopes",
            )
        if "email" not in scopes:
            out.add(
                "warning",
                "matomo-scope-email",
                "option 'scopes' lacks 'email': Matomo needs the email claim to create or link "
                "users, and a request for a scope the client lacks fails with invalid_scope",
                hint="add 'email' to the scopes",
            )
    responses = values.get("response_types")
    if responses is not None and "code" not in responses:
        out.add(
            "error",
            "matomo-response-type",
            "option 'response_types' lacks 'code', which Login OIDC requests",
            hint="use response_types ['code']",
        )
    grants = values.get("grant_types")
    if grants is not None and "authorization_code" not in grants:
        out.add(
            "error",
            "matomo-grant-type",
            "option 'grant_types' lacks 'authorization_code', which Login OIDC uses",
            hint="use grant_types ['authorization_code']",
        )
    for key in ("userinfo_signed_response_alg",):
        alg = values.get(key)
        if alg not in (None, "none", ""):
            out.add(
                "error",
                "matomo-userinfo-signed",
                f"option '{model.key_name(key)}' is '{alg}', but Login OIDC reads the userinfo "
                "response as plain JSON",
                hint=f"set {model.key_name(key)}: 'none'",
            )
