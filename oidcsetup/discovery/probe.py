"""``discover``: probe the candidate URLs, validate the document, judge the JWKS (network).

Kept apart from the package's ``__init__`` so that endpoints from a preset or the profile
never import httpx, ssl or this module's other dependencies.
"""

from __future__ import annotations

from typing import Any

from oidcsetup.discovery import DiscoveryResult
from oidcsetup.discovery.fetch import (
    OAUTH_SUFFIX,
    FetchInvalid,
    FetchUnreachable,
    candidate_urls,
    content_type_finding,
    fetch,
    issuer_from_document_url,
    make_client,
    parse_json,
)
from oidcsetup.discovery.jwks import check_jwks
from oidcsetup.discovery.metadata import ProviderMetadata
from oidcsetup.discovery.presets import detect_provider
from oidcsetup.discovery.validate import check_issuer_syntax, validate_document
from oidcsetup.errors import UsageError
from oidcsetup.findings import Finding, Level, has_errors
from oidcsetup.http import NetworkOptions


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
