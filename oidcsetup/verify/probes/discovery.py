"""Probes of the provider's discovery document, its JWKS and its endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from oidcsetup.errors import OidcSetupError, UnreachableError
from oidcsetup.findings import Finding, Level
from oidcsetup.http import NetworkOptions
from oidcsetup.urls import normalize_url
from oidcsetup.verify.result import ProbeResult, failed, passed, skipped

if TYPE_CHECKING:
    import httpx


def probe_discovery(
    issuer: str | None, network: NetworkOptions, *, check_keys: bool = True
) -> tuple[ProbeResult, dict[str, Any] | None]:
    """Discovery reachable and valid as ``oidcsetup discover`` judges it (errors fail).

    ``check_keys=False`` leaves the JWKS to the caller (``check`` fetches it side by side with
    the other probes, then calls ``discovery_verdict`` again with its findings)."""
    from oidcsetup.discovery import discover

    name = "discovery"
    if not issuer:
        return skipped(name, "no-issuer", "no issuer configured", "pass --issuer URL"), None
    try:
        result = discover(issuer, network, check_keys=check_keys)
    except UnreachableError as exc:
        code = getattr(exc, "code", None) or "discovery-unreachable"
        return (
            ProbeResult(name, "fail", code, exc.message, exc.hint, {}, unreachable=True),
            None,
        )
    except OidcSetupError as exc:
        return failed(
            name, getattr(exc, "code", None) or "discovery-invalid", exc.message, exc.hint
        ), None
    raw = getattr(result.metadata, "raw", None)
    metadata = dict(raw) if isinstance(raw, Mapping) else None
    verdict = discovery_verdict(issuer, list(result.findings), result.document_url, result.provider)
    return verdict, metadata


def discovery_verdict(
    issuer: str,
    findings: list[Finding],
    document_url: str | None,
    provider: str | None,
) -> ProbeResult:
    """The discovery probe from discover's findings: the first error fails it."""
    name = "discovery"
    common = {"document_url": document_url, "provider": provider, "_findings": findings}
    errors = [f for f in findings if f.level is Level.ERROR]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return failed(
            name,
            first.code,
            first.message + more,
            first.hint,
            findings=[f.to_json() for f in errors],
            **common,
        )
    warnings = [f.to_json() for f in findings if f.level is Level.WARNING]
    return passed(
        name,
        "discovery-ok",
        f"the discovery document of {issuer} is valid"
        + (f" ({len(warnings)} warning(s): run `oidcsetup discover`)" if warnings else ""),
        warnings=warnings,
        **common,
    )


def with_jwks(
    discovery: ProbeResult,
    issuer: str,
    client: httpx.Client,
    metadata: Mapping[str, Any],
    network: NetworkOptions,
) -> ProbeResult:
    """The discovery probe once the JWKS was judged (as ``discover`` judges it)."""
    from oidcsetup.discovery.jwks import check_jwks

    jwks_uri = metadata.get("jwks_uri")
    if not (isinstance(jwks_uri, str) and jwks_uri.startswith(("https://", "http://"))):
        return discovery
    algs = metadata.get("id_token_signing_alg_values_supported")
    _, findings = check_jwks(client, jwks_uri, algs if isinstance(algs, list) else [], network)
    if not findings:
        return discovery
    before = list(discovery.details.get("_findings", []))
    return discovery_verdict(
        issuer,
        before + findings,
        discovery.details.get("document_url"),
        discovery.details.get("provider"),
    )


ENDPOINT_KEYS = (
    ("authorization_endpoint", "authorizeUrl"),
    ("token_endpoint", "tokenUrl"),
    ("userinfo_endpoint", "userinfoUrl"),
)


def probe_endpoints(
    metadata: Mapping[str, Any] | None,
    configured: Mapping[str, str | None],
    source: str,
) -> ProbeResult:
    """The endpoints Matomo uses (``configured``: Login OIDC names -> URL) equal the discovered."""
    name = "endpoints"
    if metadata is None:
        return skipped(name, "no-discovery", "no discovery document to compare with")
    if not any(configured.values()):
        return skipped(name, "no-endpoints", f"no endpoints configured in {source}")
    mismatches = []
    for key, setting in ENDPOINT_KEYS:
        want = metadata.get(key)
        have = configured.get(setting)
        if not have:
            mismatches.append({"setting": setting, "configured": None, "discovered": want})
        elif not isinstance(want, str) or normalize_url(have) != normalize_url(want):
            mismatches.append({"setting": setting, "configured": have, "discovered": want})
    if mismatches:
        listed = ", ".join(
            f"{m['setting']} is {m['configured'] or '(empty)'}, discovered {m['discovered']}"
            for m in mismatches
        )
        return failed(
            name,
            "endpoint-mismatch",
            f"{source}: {listed}",
            "run `oidcsetup discover ISSUER --save` then `oidcsetup apply matomo`",
            mismatches=mismatches,
        )
    return passed(name, "endpoints-match", f"the endpoints in {source} equal the discovered ones")
