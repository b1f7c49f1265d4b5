"""Provider discovery: fetch, validate and summarise an OpenID provider's metadata.

Public API (used by ``oidcsetup discover``, ``gen matomo``, ``check`` and ``login``):

- ``discover(issuer, network, *, url=None) -> DiscoveryResult``: probe the candidate URLs,
  validate the first usable document strictly, fetch and judge the JWKS. Raises
  ``UnreachableError`` (exit 4) or ``FindingsError`` (exit 3) only when no document could be
  had at all; everything else is a finding in the result.
- ``from_preset(name, issuer)`` and ``manual_endpoints``: endpoints not discovered.
- ``resolve_endpoints(integration, network)``: the Integration with endpoints filled in.
- ``make_client(network)``: the httpx client with the project's TLS/timeout/redirect policy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from oidcsetup.discovery.fetch import (
    OAUTH_SUFFIX,
    FetchInvalid,
    FetchUnreachable,
    candidate_urls,
    check_issuer_syntax,
    content_type_finding,
    fetch,
    issuer_from_document_url,
    make_client,
    parse_json,
)
from oidcsetup.discovery.jwks import JwksSummary, check_jwks
from oidcsetup.discovery.metadata import ProviderMetadata
from oidcsetup.discovery.presets import detect_provider, manual_endpoints, preset_endpoints
from oidcsetup.discovery.validate import validate_document
from oidcsetup.errors import FindingsError, UsageError
from oidcsetup.findings import Finding, Level, has_errors
from oidcsetup.http import NetworkOptions
from oidcsetup.integration import Integration, ProviderEndpoints

__all__ = [
    "DiscoveryResult",
    "FetchInvalid",
    "FetchUnreachable",
    "ProviderMetadata",
    "candidate_urls",
    "discover",
    "from_preset",
    "make_client",
    "manual_endpoints",
    "resolve_endpoints",
]


@dataclass(frozen=True)
class DiscoveryResult:
    issuer: str | None  # the issuer asked for
    endpoints: ProviderEndpoints
    findings: tuple[Finding, ...] = ()
    document_url: str | None = None  # where the document was found (None: not discovered)
    tried_urls: tuple[str, ...] = ()
    metadata: ProviderMetadata | None = None
    jwks: JwksSummary | None = None
    provider: str | None = None  # detected or preset provider name

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)

    @property
    def discovered(self) -> bool:
        return self.document_url is not None


def _first_error(failures: list[FetchInvalid]) -> FetchInvalid:
    """The most telling failure: one that is not a 404, else a combined "not found"."""
    for failure in failures:
        if failure.code != "not-found":
            return failure
    first = failures[0]
    return FetchInvalid(
        "no-discovery-document",
        f"no discovery document: {first.message}"
        + (
            f", and at the {len(failures) - 1} other RFC 8414 locations"
            if len(failures) > 1
            else ""
        ),
        hint="check the issuer URL (it must be exactly the provider's issuer), or pass --url "
        "DOC_URL, or --preset NAME when the provider publishes no metadata",
        status=first.status,
    )


def discover(
    issuer: str | None,
    network: NetworkOptions,
    *,
    url: str | None = None,
    check_keys: bool = True,
    client: Any = None,
) -> DiscoveryResult:
    """Discover ``issuer`` (or read the document at ``url``), validate it, check the JWKS."""
    if issuer is None and url is None:
        raise UsageError("no issuer given", hint="pass ISSUER, set OIDCSETUP_ISSUER, or --url")
    if issuer is not None:
        check_issuer_syntax(issuer)
    if url is not None:
        check_issuer_syntax(url)
    expected = issuer if issuer is not None else issuer_from_document_url(url or "")
    candidates = [url] if url is not None else candidate_urls(issuer or "")
    own_client = client is None
    http = make_client(network) if own_client else client
    try:
        return _discover(issuer, expected, candidates, network, http, check_keys)
    except (FetchUnreachable, FetchInvalid) as exc:
        if not exc.tried_urls:
            exc.tried_urls = tuple(candidates)
        raise
    finally:
        if own_client:
            http.close()


def _discover(
    issuer: str | None,
    expected: str | None,
    candidates: list[str],
    network: NetworkOptions,
    http: Any,
    check_keys: bool,
) -> DiscoveryResult:
    failures: list[FetchInvalid] = []
    fallback: tuple[str, Any, list[Finding]] | None = None
    tried: list[str] = []
    chosen: tuple[str, Any, list[Finding]] | None = None
    for candidate in candidates:
        tried.append(candidate)
        try:
            # FetchUnreachable propagates: every candidate is on the same host.
            fetched = fetch(http, candidate, network)
            document = parse_json(fetched)
        except FetchUnreachable as failure:
            failure.tried_urls = tuple(tried)
            raise
        except FetchInvalid as failure:
            failures.append(failure)
            continue
        findings = validate_document(
            document,
            expected_issuer=expected,
            oauth_metadata=OAUTH_SUFFIX in candidate,
        )
        type_finding = content_type_finding(fetched)
        if type_finding:
            findings.insert(0, type_finding)
        if fetched.redirects:
            findings.insert(
                0,
                Finding(
                    Level.INFO,
                    "redirected",
                    f"{candidate} redirected to {fetched.final_url}",
                    None,
                ),
            )
        if fallback is None:
            fallback = (candidate, document, findings)
        if not has_errors(findings):
            chosen = (candidate, document, findings)
            break
    if chosen is None:
        chosen = fallback
    if chosen is None:
        error = _first_error(failures)
        error.tried_urls = tuple(tried)
        raise error
    document_url, document, findings = chosen
    if expected is None:
        findings.append(
            Finding(
                Level.WARNING,
                "issuer-not-checked",
                f"{document_url} is not a well-known URL and no ISSUER was given, so the "
                "document's issuer was not checked",
                "pass the issuer too: oidcsetup discover ISSUER --url DOC_URL",
            )
        )
    if network.insecure:
        findings.insert(
            0,
            Finding(
                Level.WARNING,
                "tls-not-verified",
                "--insecure: the provider's TLS certificate was not verified",
                "use --ca-bundle PEM instead",
            ),
        )
    metadata = ProviderMetadata.from_document(document)
    preset = detect_provider(metadata.issuer, document)
    if preset is not None:
        findings.append(
            Finding(Level.INFO, "provider-detected", f"this looks like {preset.title}", None)
        )
        findings.extend(Finding(Level.INFO, "preset-note", note, None) for note in preset.notes)
    jwks = None
    jwks_uri = metadata.jwks_uri
    if check_keys and jwks_uri and jwks_uri.startswith(("https://", "http://")):
        jwks, jwks_findings = check_jwks(
            http, jwks_uri, metadata.id_token_signing_alg_values_supported, network
        )
        findings.extend(jwks_findings)
    return DiscoveryResult(
        issuer=issuer if issuer is not None else expected,
        endpoints=metadata.to_endpoints(),
        findings=tuple(findings),
        document_url=document_url,
        tried_urls=tuple(tried),
        metadata=metadata,
        jwks=jwks,
        provider=preset.name if preset else None,
    )


def from_preset(name: str, issuer: str | None) -> DiscoveryResult:
    """Endpoints derived from a preset's layout; no network. Marked not discovered."""
    if not issuer:
        raise UsageError(
            f"--preset {name} needs the issuer to derive endpoints from",
            hint="pass ISSUER (or --issuer), or set provider.issuer in the profile",
        )
    check_issuer_syntax(issuer)
    endpoints, findings = preset_endpoints(name, issuer)
    return DiscoveryResult(
        issuer=issuer, endpoints=endpoints, findings=tuple(findings), provider=endpoints.preset
    )


_ENDPOINT_NAMES = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "end_session_endpoint",
    "jwks_uri",
    "scopes_supported",
    "token_endpoint_auth_methods_supported",
    "code_challenge_methods_supported",
)


def _fill(current: ProviderEndpoints, derived: ProviderEndpoints) -> ProviderEndpoints:
    """``derived`` where ``current`` has nothing; what the profile already says wins."""
    changes = {
        name: getattr(derived, name)
        for name in _ENDPOINT_NAMES
        if not getattr(current, name) and getattr(derived, name)
    }
    return replace(
        current, **changes, source=derived.source, preset=derived.preset or current.preset
    )


def resolve_endpoints(
    integration: Integration,
    network: NetworkOptions,
    *,
    allow_discovery: bool = True,
) -> Integration:
    """The Integration with the provider's endpoints filled in.

    Endpoints already in the profile (or flags) are kept. Otherwise: the preset named by
    ``provider.preset`` applied to the issuer, or discovery from ``provider.issuer`` validated
    as ``oidcsetup discover`` does (``FindingsError`` when it finds errors).
    """
    provider = integration.provider
    if provider.has_endpoints:
        return integration
    if provider.preset:
        result = from_preset(provider.preset, provider.issuer)
    elif provider.issuer and allow_discovery:
        result = discover(provider.issuer, network)
        errors = [f for f in result.findings if f.level is Level.ERROR]
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise FindingsError(
                f"discovery of {provider.issuer}: {errors[0].message}{more}",
                hint=errors[0].hint or f"run `oidcsetup discover {provider.issuer}` for details",
            )
    else:
        raise UsageError(
            "the provider's endpoints are unknown",
            hint="run `oidcsetup discover ISSUER --save`, or pass --issuer URL or --preset NAME",
        )
    return replace(integration, provider=_fill(provider, result.endpoints))


def endpoints_json(endpoints: ProviderEndpoints) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for f in fields(ProviderEndpoints):
        value = getattr(endpoints, f.name)
        data[f.name] = list(value) if isinstance(value, tuple) else value
    return data
