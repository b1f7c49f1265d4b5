"""Probes of Matomo's side: its Login OIDC settings against the Integration, the redirect URI
it sends, the plugin's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oidcsetup.http import NetworkOptions
from oidcsetup.integration import Integration
from oidcsetup.verify.expected import MatomoCurrent, Target, is_env_reference
from oidcsetup.verify.result import ProbeResult, failed, passed, skipped

if TYPE_CHECKING:
    pass

# Login OIDC refuses to start a login unless all of these are non-empty (isPluginSetup).
REQUIRED_MATOMO_SETTINGS = (
    "authorizeUrl",
    "tokenUrl",
    "userinfoUrl",
    "clientId",
    "clientSecret",
    "userinfoId",
)


def probe_matomo_settings(current: MatomoCurrent | None, want: Target) -> ProbeResult:
    """Every setting the login needs is set, and agrees with the profile."""
    name = "matomo-settings"
    if current is None:
        return skipped(
            name, "no-matomo", "Matomo's settings were not read", "pass --config PATH or --db"
        )
    missing = [
        n
        for n in REQUIRED_MATOMO_SETTINGS
        if not current.get(n).strip() and n not in current.hidden
    ]
    if missing:
        return failed(
            name,
            "matomo-setting-missing",
            f"{current.source}: Login OIDC stays disabled while {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} empty",
            "run `oidcsetup apply matomo`",
            missing=missing,
        )
    differs: list[str] = []
    if current.get("clientId") != want.client_id:
        differs.append(
            f"clientId is {current.get('clientId')!r}, the profile says {want.client_id!r}"
        )
    if current.get("userinfoId") != want.userinfo_id:
        differs.append(
            f"userinfoId is {current.get('userinfoId')!r}, the profile says {want.userinfo_id!r}"
        )
    if current.get("scope").split() != list(want.scopes):
        differs.append(
            f"scope is {current.get('scope')!r}, the profile says {' '.join(want.scopes)!r}"
        )
    secret = current.get("clientSecret")
    hidden = "clientSecret" in current.hidden
    if want.secret and not hidden and not is_env_reference(secret) and secret != want.secret:
        differs.append("clientSecret differs from the profile's secret")
    if differs:
        return failed(
            name,
            "matomo-setting-differs",
            f"{current.source}: " + "; ".join(differs),
            "run `oidcsetup apply matomo` to write the profile's values",
            differences=differs,
        )
    note = " (clientSecret from the environment of PHP)" if is_env_reference(secret) else ""
    if hidden:
        note = (
            " (clientSecret is set but Matomo's API does not show it: not compared; the client "
            "authentication probe uses yours)"
        )
    return passed(
        name, "matomo-settings-complete", f"{current.source}: every needed setting is set{note}"
    )


def probe_matomo_redirect(
    current: MatomoCurrent | None,
    integration: Integration,
    expected: str | None,
    *,
    network: NetworkOptions | None = None,
    authorization_endpoint: str | None = None,
) -> ProbeResult:
    """The redirect URI Matomo sends (asked live; offline rule when Matomo is not reached)
    equals the one the profile registers, and the provider accepts it (apps/matomo/live.py)."""
    from oidcsetup.apps.matomo.live import redirect_probe

    return redirect_probe(
        current,
        integration,
        expected,
        network=network,
        authorization_endpoint=authorization_endpoint,
        general=current.general if current else None,
    )


def probe_matomo_state(current: MatomoCurrent | None) -> ProbeResult | None:
    """The plugin is installed (its table exists), and a wanted ${NAME} secret is still one.

    None (no probe) when neither was looked at: that needs ``--db`` or ``--secret-as-env``.
    """
    name = "matomo-state"
    if current is None or not (current.checked or current.findings):
        return None
    if current.findings:
        first = current.findings[0]
        return failed(
            name,
            first.code,
            " ; ".join(f.message for f in current.findings),
            first.hint,
            findings=[f.to_json() for f in current.findings],
        )
    return passed(name, "matomo-state-ok", f"{current.source}: " + "; ".join(current.checked))
