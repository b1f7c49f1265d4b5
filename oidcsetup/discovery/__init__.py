"""Provider discovery: fetch, validate and summarise an OpenID provider's metadata.

Public API (used by ``oidcsetup discover``, ``gen matomo``, ``check`` and ``login``):

- ``discover(issuer, network, *, url=None) -> DiscoveryResult``: probe the candidate URLs,
  validate the first usable document strictly, fetch and judge the JWKS. Raises
  ``UnreachableError`` (exit 4) or ``FindingsError`` (exit 3) only when no document could be
  had at all; everything else is a finding in the result.
- ``from_preset(name, issuer)`` and ``manual_endpoints``: endpoints not discovered.
- ``resolve_endpoints(integration, network)``: the Integration with endpoints filled in.
- ``make_client(network)``: the httpx client with the project's TLS/timeout/redirect policy.

``discover`` (probe.py) and the fetch names are imported on first use: a preset or endpoints
from the profile import neither httpx nor ssl.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from oidcsetup.discovery.metadata import ProviderMetadata
from oidcsetup.discovery.presets import manual_endpoints, preset_endpoints
from oidcsetup.discovery.validate import check_issuer_syntax
from oidcsetup.errors import FindingsError, UsageError
from oidcsetup.findings import Finding, Level, has_errors
from oidcsetup.http import NetworkOptions
from oidcsetup.integration import Integration, ProviderEndpoints

if TYPE_CHECKING:
    from oidcsetup.discovery.fetch import (
        FetchInvalid,
        FetchUnreachable,
        candidate_urls,
        make_client,
    )
    from oidcsetup.discovery.jwks import JwksSummary
    from oidcsetup.discovery.probe import discover

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

# The network side (fetch, httpx, ssl, the JWKS check) is imported on first use, so that
# endpoints from a preset or the profile cost no more than the presets module.
_LAZY = {
    "FetchInvalid": "fetch",
    "FetchUnreachable": "fetch",
    "candidate_urls": "fetch",
    "make_client": "fetch",
    "discover": "probe",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
        from oidcsetup.discovery.probe import discover

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
