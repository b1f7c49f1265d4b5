"""The rules of authentik's blueprint schema (2025.12) for the two models we write, checked
before authentik does; Django's own words for the slug."""

from __future__ import annotations

import re
from typing import Any

from oidcsetup.findings import Finding, Level
from oidcsetup.providers.authentik.blueprint import SLUG_MAX, SLUG_PATTERN, Blueprint, Env

MATCHING_MODES = ("strict", "regex")
CLIENT_TYPES = ("confidential", "public")
SUB_MODES = (
    "hashed_user_id",
    "user_id",
    "user_uuid",
    "user_username",
    "user_email",
    "user_upn",
)
ISSUER_MODES = ("global", "per_provider")


def validate_blueprint(blueprint: Blueprint) -> list[Finding]:
    attrs: dict[str, Any] = blueprint.provider["attrs"]
    app: dict[str, Any] = blueprint.application["attrs"]
    findings: list[Finding] = []

    def error(code: str, message: str, hint: str | None = None) -> None:
        findings.append(Finding(Level.ERROR, code, message, hint))

    if not str(attrs.get("name", "")):
        error("authentik-name", "the provider's name is empty", "pass --client-name")
    client_id = str(attrs.get("client_id", ""))
    if not 1 <= len(client_id) <= 255:
        error("authentik-client-id", "client_id must be 1 to 255 characters", "pass --client-id")
    secret = attrs.get("client_secret")
    if isinstance(secret, str) and len(secret) > 255:
        error(
            "authentik-client-secret",
            "client_secret is longer than 255 characters, authentik's limit",
            "use a shorter secret (oidcsetup secret generate makes 72 characters)",
        )
    if isinstance(secret, Env) and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", secret.name):
        error("authentik-secret-env", f"{secret.name!r} is no environment variable name")
    if attrs.get("client_type") not in CLIENT_TYPES:
        error("authentik-client-type", f"client_type must be one of {', '.join(CLIENT_TYPES)}")
    if attrs.get("sub_mode") not in SUB_MODES or attrs.get("issuer_mode") not in ISSUER_MODES:
        error("authentik-mode", "sub_mode or issuer_mode is not one authentik knows")
    uris = attrs.get("redirect_uris") or []
    if not uris:
        error("authentik-no-redirect-uri", "the provider has no redirect URI", "pass --matomo-url")
    for item in uris:
        if item.get("matching_mode") not in MATCHING_MODES or not item.get("url"):
            error(
                "authentik-redirect-uri",
                f"redirect URI {item!r} needs matching_mode (strict or regex) and a url",
            )
        elif "#" in item["url"]:
            error("authentik-redirect-uri", f"redirect URI {item['url']!r} has a fragment")
    slug = str(app.get("slug", ""))
    if not re.fullmatch(SLUG_PATTERN, slug) or len(slug) > SLUG_MAX:
        error(
            "authentik-slug",
            f"slug {slug!r}: Enter a valid “slug” consisting of letters, numbers, underscores or "
            f"hyphens (at most {SLUG_MAX} characters)",
            "pass --slug",
        )
    for scope in blueprint.unmapped_scopes:
        findings.append(
            Finding(
                Level.WARNING,
                "authentik-scope-mapping",
                f"scope {scope!r} has no default scope mapping in authentik: the blueprint maps "
                "only openid, email and profile",
                f"add the property mapping for {scope!r} to the provider in authentik",
            )
        )
    return findings
