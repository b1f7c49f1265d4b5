"""Strict validation of a discovery document; returns findings, never raises.

Rules, with their sources:

- OpenID Connect Discovery 1.0 section 3: the required fields (issuer, authorization_endpoint,
  token_endpoint unless only the implicit flow is used, jwks_uri, response_types_supported,
  subject_types_supported, id_token_signing_alg_values_supported), the field types, "RS256 MUST
  be included", the issuer is an https URL with no query or fragment.
- OpenID Connect Discovery 1.0 section 4.3 and RFC 8414 section 3.3: the issuer in the document
  MUST be identical to the issuer the document was requested for (character for character).
- RFC 8414 section 2 and RFC 6749 section 3.1/3.2: endpoints are absolute URLs without a
  fragment, served over TLS. Loopback hosts may use http (tests, local setups).
- Matomo's Login OIDC plugin: authorization code flow, the secret posted in the token request's
  body (client_secret_post), a userinfo endpoint; no PKCE and no pushed authorization requests.

Mismatched issuers get a named diagnosis (trailing slash, Azure ``{tenantid}`` template,
authentik per-application issuers, Keycloak realms with or without ``/auth``, Kanidm per-client
issuers, scheme or host differences) rather than a bare "mismatch". Every code is documented in
docs/discover.md and never renamed.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from oidcsetup.discovery.metadata import ENDPOINT_FIELDS, FIELD_KINDS, well_typed
from oidcsetup.errors import UsageError
from oidcsetup.findings import Finding, Level
from oidcsetup.urls import is_loopback_host, normalize_url

OIDC_REQUIRED = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
)
# RFC 8414 section 2: what a plain OAuth authorization server must publish.
OAUTH_REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "response_types_supported")

KEYCLOAK_RE = re.compile(r"^(?P<auth>/auth)?/realms/(?P<realm>[^/]+)/?$")
AUTHENTIK_RE = re.compile(r"^/application/o/(?P<slug>[^/]+)/?$")
KANIDM_RE = re.compile(r"^/oauth2/openid/(?P<client>[^/]+)/?$")
TEMPLATE_RE = re.compile(r"\{[a-z_]*tenant[a-z_]*\}", re.IGNORECASE)

_KIND_WORDS = {
    "url": "a URL string",
    "page": "a URL string",
    "string": "a string",
    "list": "an array of strings",
    "bool": "true or false",
    "object": "a JSON object",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array" if all(isinstance(v, str) for v in value) else "an array of non-strings"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def check_issuer_syntax(issuer: str) -> None:
    """Refuse what cannot be an issuer URL at all (a usage error, before any network)."""
    try:
        parts = urlsplit(issuer)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise UsageError(f"issuer {issuer!r} is not a valid URL: {exc}") from None
    if not issuer.strip():
        raise UsageError("the issuer is empty", hint="pass the provider's issuer URL")
    if parts.username is not None or parts.password is not None:
        # Never echo a password: it would land in terminals, CI logs and --json output.
        shown = urlunsplit(
            (parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, "")
        )
        raise UsageError(
            f"issuer {shown!r} must not contain user info (user:password@)",
            hint="remove it: an issuer URL never carries credentials",
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        hint = (
            f"did you mean https://{issuer}?"
            if "://" not in issuer
            else "an issuer is an https:// URL, e.g. https://auth.example.com"
        )
        raise UsageError(f"issuer {issuer!r} is not an absolute http(s) URL", hint=hint)


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    return parts


def validate_document(
    document: Any,
    *,
    expected_issuer: str | None = None,
    oauth_metadata: bool = False,
) -> list[Finding]:
    """Findings for ``document`` (any JSON value). Never raises.

    ``expected_issuer``: the issuer the document was requested for (None: not checked).
    ``oauth_metadata``: the document came from an RFC 8414 ``oauth-authorization-server``
    location, so the OpenID-only required fields are warnings there.
    """
    try:
        return _validate(document, expected_issuer, oauth_metadata)
    except Exception as exc:  # a bug here must not hide the document's findings behind a crash
        return [
            Finding(
                Level.ERROR,
                "validator-crashed",
                f"internal error while validating the document: {type(exc).__name__}: {exc}",
                "report this as a bug in oidcsetup, with the discovery document",
            )
        ]


def _validate(document: Any, expected: str | None, oauth_metadata: bool) -> list[Finding]:
    findings: list[Finding] = []
    if not isinstance(document, dict):
        return [
            Finding(
                Level.ERROR,
                "document-not-object",
                f"the discovery document is {_type_name(document)}, not a JSON object",
                "the URL serves something else than OpenID provider metadata; check it",
            )
        ]

    # Types of every known field (null counts as absent, with a warning).
    present: dict[str, Any] = {}
    for name, kind in FIELD_KINDS.items():
        if name not in document:
            continue
        value = document[name]
        if value is None:
            findings.append(
                Finding(
                    Level.WARNING,
                    "null-field",
                    f"{name} is null; an unsupported field should be left out",
                    None,
                )
            )
            continue
        if not well_typed(kind, value):
            findings.append(
                Finding(
                    Level.ERROR,
                    "invalid-field-type",
                    f"{name} must be {_KIND_WORDS[kind]}, not {_type_name(value)}: {_short(value)}",
                    "the provider's metadata is malformed; report it to its maintainers",
                )
            )
            continue
        present[name] = value

    # The issuer itself: reported first, as it decides whether anything else can be trusted.
    issuer_findings: list[Finding] = []
    issuer = present.get("issuer")
    if isinstance(issuer, str):
        if expected is not None and issuer != expected:
            issuer_findings.append(diagnose_issuer(expected, issuer))
        issuer_findings.extend(_issuer_syntax(issuer))
    if isinstance(expected, str) and TEMPLATE_RE.search(expected):
        issuer_findings.append(_template_finding(expected, expected))

    # Required fields.
    for name in OIDC_REQUIRED:
        if name in present:
            continue
        if name in document and document[name] is not None:
            continue  # already reported as a type error
        oidc_only = name not in OAUTH_REQUIRED
        if name == "token_endpoint" and _implicit_only(present):
            continue
        level = Level.WARNING if (oauth_metadata and oidc_only) else Level.ERROR
        findings.append(
            Finding(
                level,
                "missing-required-field",
                f"required field {name} is missing from the discovery document",
                "an OpenID provider must publish it (OpenID Connect Discovery 1.0, section 3)",
            )
        )
    for name in ("response_types_supported", "subject_types_supported"):
        if name in present and not present[name]:
            findings.append(
                Finding(Level.ERROR, "empty-required-field", f"{name} is an empty array", None)
            )

    # Endpoints and pages.
    for name, value in present.items():
        kind = FIELD_KINDS[name]
        if kind == "url" and name != "issuer":
            findings.extend(_url_findings(name, value, page=False))
        elif kind == "page":
            findings.extend(_url_findings(name, value, page=True))
    if isinstance(present.get("mtls_endpoint_aliases"), dict):
        for name, value in present["mtls_endpoint_aliases"].items():
            if isinstance(value, str):
                findings.extend(_url_findings(f"mtls_endpoint_aliases.{name}", value, page=False))

    findings.extend(_spec_rules(present))
    findings.extend(_matomo_rules(present))
    return issuer_findings + findings


def _implicit_only(present: dict[str, Any]) -> bool:
    grants = present.get("grant_types_supported")
    return isinstance(grants, list) and grants == ["implicit"]


def _issuer_syntax(issuer: str) -> list[Finding]:
    parts = _split(issuer)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            Finding(
                Level.ERROR,
                "issuer-not-url",
                f"the issuer {_short(issuer)} is not an absolute https URL",
                "the provider's configured issuer / public URL is wrong",
            )
        ]
    findings = []
    if parts.query or parts.fragment or issuer.endswith(("?", "#")):
        findings.append(
            Finding(
                Level.ERROR,
                "issuer-has-query",
                f"the issuer {issuer!r} has a query or fragment; issuers must have neither",
                None,
            )
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        findings.append(_http_public("issuer", issuer, parts.hostname))
    return findings


def _http_public(name: str, url: str, host: str | None) -> Finding:
    return Finding(
        Level.ERROR,
        "http-on-public-host",
        f"{name} {url!r} uses plain http on the non-loopback host {host}",
        "serve the provider over https (behind a proxy: make it forward X-Forwarded-Proto "
        "and set the provider's public URL to https://...)",
    )


def _url_findings(name: str, value: str, *, page: bool) -> list[Finding]:
    parts = _split(value)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            Finding(
                Level.WARNING if page else Level.ERROR,
                "endpoint-not-absolute",
                f"{name} {_short(value)} is not an absolute http(s) URL",
                "endpoints must be absolute URLs (RFC 8414 section 2)",
            )
        ]
    findings = []
    if parts.fragment or value.endswith("#"):
        findings.append(
            Finding(
                Level.WARNING if page else Level.ERROR,
                "endpoint-has-fragment",
                f"{name} {value!r} has a fragment; endpoint URLs must not",
                None,
            )
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        if page:
            findings.append(
                Finding(Level.WARNING, "page-not-https", f"{name} {value!r} uses http", None)
            )
        else:
            findings.append(_http_public(name, value, parts.hostname))
    return findings


def _spec_rules(present: dict[str, Any]) -> list[Finding]:
    findings = []
    algs = present.get("id_token_signing_alg_values_supported")
    if isinstance(algs, list) and algs and "RS256" not in algs:
        findings.append(
            Finding(
                Level.WARNING,
                "rs256-not-supported",
                "id_token_signing_alg_values_supported lacks RS256, which every OpenID provider "
                "must support",
                None,
            )
        )
    if isinstance(algs, list) and "none" in algs:
        findings.append(
            Finding(
                Level.WARNING,
                "unsigned-id-token-allowed",
                'id_token_signing_alg_values_supported includes "none" (unsigned ID tokens)',
                None,
            )
        )
    signing = present.get("token_endpoint_auth_signing_alg_values_supported")
    if isinstance(signing, list) and "none" in signing:
        findings.append(
            Finding(
                Level.ERROR,
                "invalid-field-value",
                'token_endpoint_auth_signing_alg_values_supported must not include "none"',
                None,
            )
        )
    scopes = present.get("scopes_supported")
    if isinstance(scopes, list) and "openid" not in scopes:
        findings.append(
            Finding(
                Level.WARNING,
                "openid-scope-missing",
                'scopes_supported does not list "openid", which an OpenID provider must support',
                None,
            )
        )
    return findings


def _matomo_rules(present: dict[str, Any]) -> list[Finding]:
    findings = []
    response_types = present.get("response_types_supported")
    if isinstance(response_types, list) and response_types and "code" not in response_types:
        findings.append(
            Finding(
                Level.ERROR,
                "code-flow-unsupported",
                'response_types_supported lacks "code": the authorization code flow that '
                "Login OIDC uses is not offered",
                None,
            )
        )
    grants = present.get("grant_types_supported")
    if isinstance(grants, list) and grants and "authorization_code" not in grants:
        findings.append(
            Finding(
                Level.ERROR,
                "code-flow-unsupported",
                'grant_types_supported lacks "authorization_code", which Login OIDC uses',
                None,
            )
        )
    if "userinfo_endpoint" not in present:
        findings.append(
            Finding(
                Level.ERROR,
                "userinfo-endpoint-missing",
                "the document has no userinfo_endpoint, which Login OIDC needs to identify users",
                "pass --userinfo-endpoint URL if the provider has one it does not advertise",
            )
        )
    methods = present.get("token_endpoint_auth_methods_supported")
    if methods is None:
        findings.append(
            Finding(
                Level.INFO,
                "auth-methods-not-advertised",
                "token_endpoint_auth_methods_supported is absent, which means "
                "client_secret_basic only; Login OIDC posts the secret (client_secret_post)",
                "`oidcsetup check` tries the token endpoint the way Login OIDC does",
            )
        )
    elif "client_secret_post" not in methods:
        findings.append(
            Finding(
                Level.WARNING,
                "client-secret-post-not-advertised",
                "the provider does not list client_secret_post, the only client "
                "authentication Login OIDC uses (it lists: "
                + (", ".join(methods) or "nothing")
                + ")",
                "enable client_secret_post for the Matomo client at the provider",
            )
        )
    pkce = present.get("code_challenge_methods_supported")
    if pkce is None:
        findings.append(
            Finding(
                Level.INFO,
                "pkce-not-advertised",
                "code_challenge_methods_supported is absent (PKCE support unknown); "
                "Login OIDC sends no PKCE, so the client must not require it",
                None,
            )
        )
    elif pkce and "S256" not in pkce:
        findings.append(
            Finding(
                Level.WARNING,
                "pkce-s256-missing",
                "code_challenge_methods_supported lacks S256 (it lists: " + ", ".join(pkce) + ")",
                None,
            )
        )
    if present.get("require_pushed_authorization_requests") is True:
        findings.append(
            Finding(
                Level.ERROR,
                "par-required",
                "the provider requires pushed authorization requests (RFC 9126), which "
                "Login OIDC does not send",
                "allow plain authorization requests for the Matomo client",
            )
        )
    if "end_session_endpoint" not in present:
        findings.append(
            Finding(
                Level.INFO,
                "no-end-session-endpoint",
                "no end_session_endpoint: logging out of Matomo will not log out of the provider",
                None,
            )
        )
    return findings


# --- issuer diagnoses ------------------------------------------------------------------------


def _template_finding(expected: str, actual: str) -> Finding:
    return Finding(
        Level.ERROR,
        "issuer-tenant-template",
        f"the issuer {actual!r} is a template (Azure AD / Entra ID multi-tenant metadata), "
        f"not a real issuer" + ("" if expected == actual else f" (you asked for {expected!r})"),
        "use your tenant's own issuer, https://login.microsoftonline.com/<tenant-id>/v2.0, "
        "not /common, /organizations or /consumers",
    )


def diagnose_issuer(expected: str, actual: str) -> Finding:
    """A named diagnosis for a document whose issuer is not ``expected`` (they differ)."""
    use = f"use exactly {actual!r} as the issuer (issuers are compared character by character)"
    if TEMPLATE_RE.search(actual):
        return _template_finding(expected, actual)
    if actual.rstrip("/") == expected.rstrip("/"):
        extra = ""
        if AUTHENTIK_RE.match(_path(actual)):
            extra = "; authentik's issuers end with a slash"
        return Finding(
            Level.ERROR,
            "issuer-trailing-slash",
            f"the issuer differs only by a trailing slash: the provider says {actual!r}, "
            f"you asked for {expected!r}",
            use + extra,
        )
    want, got = _split(expected), _split(actual)
    if want is None or got is None:
        return _mismatch(expected, actual, use)
    try:
        same_spelling = normalize_url(expected) == normalize_url(actual)
    except ValueError:
        same_spelling = False
    if same_spelling:
        return Finding(
            Level.ERROR,
            "issuer-not-identical",
            f"the issuer is spelled differently: the provider says {actual!r}, you asked for "
            f"{expected!r} (case or default port)",
            use,
        )
    want_path, got_path = want.path.rstrip("/"), got.path.rstrip("/")
    # Explicit ports only: https://h and http://h are the same host reached by another scheme.
    same_host = (want.hostname, want.port) == (got.hostname, got.port)
    if same_host and want_path == got_path and want.scheme != got.scheme:
        return Finding(
            Level.ERROR,
            "issuer-scheme-mismatch",
            f"the provider says its issuer is {actual!r}, but you reached it as {expected!r}",
            "behind a reverse proxy the provider must learn the public scheme: forward "
            "X-Forwarded-Proto and trust the proxy (Keycloak: --proxy-headers xforwarded), "
            "or set its public URL",
        )
    if not same_host:
        return Finding(
            Level.ERROR,
            "issuer-host-mismatch",
            f"the provider says its issuer is {actual!r}, on another host than {expected!r}",
            f"{use}, or fix the provider's public URL setting (Keycloak --hostname, "
            "authentik/Authelia behind a proxy: forward the Host header)",
        )
    got_kc, want_kc = KEYCLOAK_RE.match(got.path), KEYCLOAK_RE.match(want.path)
    if got_kc and want_kc and got_kc["realm"] == want_kc["realm"]:
        return Finding(
            Level.ERROR,
            "issuer-keycloak-auth-path",
            f"Keycloak realm {got_kc['realm']!r} is served at {actual!r}, not {expected!r}",
            "Keycloak 17+ serves realms at /realms/<realm>, older versions (or "
            f"--http-relative-path=/auth) at /auth/realms/<realm>; {use}",
        )
    if got_kc:
        return Finding(
            Level.ERROR,
            "issuer-keycloak-realm",
            f"the provider is a Keycloak realm with issuer {actual!r}, not {expected!r}",
            "Keycloak has one issuer per realm: https://host/realms/<realm> (with /auth before "
            f"/realms on versions before 17); {use}",
        )
    if AUTHENTIK_RE.match(got.path):
        return Finding(
            Level.ERROR,
            "issuer-authentik-application",
            f"authentik's issuer for this application is {actual!r}, not {expected!r}",
            "authentik has one issuer per application: https://host/application/o/<slug>/ "
            f"with the trailing slash; {use}",
        )
    if KANIDM_RE.match(got.path):
        return Finding(
            Level.ERROR,
            "issuer-kanidm-client",
            f"Kanidm's issuer for this client is {actual!r}, not {expected!r}",
            f"Kanidm has one issuer per OAuth2 client: https://host/oauth2/openid/<client_id>; {use}",
        )
    if want_path != got_path:
        return Finding(
            Level.ERROR,
            "issuer-path-mismatch",
            f"the provider's issuer has another path: it says {actual!r}, you asked for "
            f"{expected!r}",
            use,
        )
    return _mismatch(expected, actual, use)


def _mismatch(expected: str, actual: str, use: str) -> Finding:
    return Finding(
        Level.ERROR,
        "issuer-mismatch",
        f"the document's issuer {_short(actual)} is not the issuer asked for, {expected!r}",
        use,
    )


def _path(url: str) -> str:
    parts = _split(url)
    return parts.path if parts else ""


def endpoint_findings(name: str, value: str) -> list[Finding]:
    """URL rules for one endpoint given by hand or derived from a preset."""
    return _url_findings(name, value, page=False)


__all__ = [
    "ENDPOINT_FIELDS",
    "check_issuer_syntax",
    "diagnose_issuer",
    "endpoint_findings",
    "validate_document",
]
