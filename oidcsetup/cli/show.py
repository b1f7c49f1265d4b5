"""``oidcsetup show``: the resolved integration, each value with where it came from."""

from __future__ import annotations

import os
from typing import Any

import click
from click.core import ParameterSource

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import overrides, shared_options
from oidcsetup.constants import SECRET_ENV
from oidcsetup.profile import KEY_KINDS
from oidcsetup.secretref import mask

# gen authelia's options that have a profile key (their OIDCSETUP_* variables are global).
AUTHELIA_KEYS = {
    "authelia_version": "provider.authelia.version",
    "authorization_policy": "provider.authelia.authorization_policy",
    "consent_mode": "provider.authelia.consent_mode",
    "consent_duration": "provider.authelia.pre_configured_consent_duration",
}


def resolved_values(
    profile_values: dict[str, Any], flag_values: dict[str, Any], env_values: dict[str, Any]
) -> tuple[list[tuple[str, Any, str]], str | None]:
    """(key, value, source) for every profile key, by precedence flag > env > profile > default,
    and the provider key that made the profile's saved endpoints stale (None if none did)."""
    from oidcsetup.integration import build_integration, drop_stale_endpoints

    profile_values, moved = drop_stale_endpoints(profile_values, {**env_values, **flag_values})
    defaults = _defaults()
    build_integration(profile_values, {**env_values, **flag_values})  # validates the mix
    rows: list[tuple[str, Any, str]] = []
    for key in KEY_KINDS:
        if key in flag_values:
            rows.append((key, flag_values[key], "flag"))
        elif key in env_values:
            rows.append((key, env_values[key], "env"))
        elif key in profile_values:
            rows.append((key, profile_values[key], "profile"))
        elif defaults.get(key) not in (None, (), ""):
            rows.append((key, defaults[key], "default"))
    return rows, moved


def _defaults() -> dict[str, Any]:
    from dataclasses import asdict

    from oidcsetup.integration import PROFILE_LAYOUT, Integration

    integration = asdict(Integration())
    result: dict[str, Any] = {}
    for table, (attr, mapping) in PROFILE_LAYOUT.items():
        for key, field_name in mapping.items():
            result[f"{table}.{key}"] = integration[attr][field_name]
    return result


@click.command(
    "show",
    epilog="""\b
Examples:
  oidcsetup show
  OIDCSETUP_CLIENT_ID=matomo-ci oidcsetup --json show
  oidcsetup show --matomo-url https://matomo.example.com
""",
)
@shared_options(
    "issuer",
    "preset",
    "client_id",
    "client_name",
    "scopes",
    "matomo_url",
    "userinfo_id",
    "redirect_uri_override",
    "plugin",
)
@click.option(
    "--authelia-version",
    envvar="OIDCSETUP_AUTHELIA_VERSION",
    show_envvar=True,
    default=None,
    help="As `gen authelia --authelia-version`.",
)
@click.option(
    "--authorization-policy",
    envvar="OIDCSETUP_AUTHORIZATION_POLICY",
    default=None,
    help="As `gen authelia --authorization-policy`.",
)
@click.option(
    "--consent-mode",
    envvar="OIDCSETUP_CONSENT_MODE",
    default=None,
    help="As `gen authelia --consent-mode`.",
)
@click.option(
    "--pre-configured-consent-duration",
    "consent_duration",
    envvar="OIDCSETUP_PRE_CONFIGURED_CONSENT_DURATION",
    default=None,
    help="As `gen authelia --pre-configured-consent-duration`.",
)
@click.pass_context
def show_command(ctx: click.Context, **kwargs: Any) -> None:
    """Show the resolved integration and where each value comes from (flag, env, profile, default).

    Precedence: a flag wins over its OIDCSETUP_* variable, which wins over the profile, which wins
    over the built-in default. Secret references are shown, never the secrets themselves.
    """
    app: AppContext = ctx.obj
    profile_values = app.profile_values()
    flag_values: dict[str, Any] = {}
    env_values: dict[str, Any] = {}
    for name, value in kwargs.items():
        if value is None:
            continue
        source = ctx.get_parameter_source(name)
        bucket = flag_values if source is ParameterSource.COMMANDLINE else env_values
        if name in AUTHELIA_KEYS:
            bucket[AUTHELIA_KEYS[name]] = value
        else:
            bucket.update(overrides({name: value}))
    if os.environ.get(SECRET_ENV):
        # The variable beats the profile's client.secret reference (secretref.resolve_secret):
        # show it as the source, not the reference it overrides.
        env_values["client.secret"] = f"env:{SECRET_ENV}"
    rows, moved = resolved_values(profile_values, flag_values, env_values)
    app.note_stale_endpoints(moved)
    shown = [(k, _display(k, v), s) for k, v, s in rows]
    if app.json_mode:
        app.output.json(
            {
                "profile": str(app.profile),
                "profile_exists": app.profile.exists(),
                "values": {k: {"value": v, "source": s} for k, v, s in shown},
            }
        )
        return
    app.output.table(
        ["key", "value", "source"],
        [(k, " ".join(v) if isinstance(v, list | tuple) else str(v), s) for k, v, s in shown],
        title=f"profile: {app.profile}" + ("" if app.profile.exists() else " (not found)"),
    )


def _display(key: str, value: Any) -> Any:
    if key == "client.secret" and isinstance(value, str):
        if value.startswith(("env:", "file:")):
            return value
        return mask(value)
    if isinstance(value, tuple):
        return list(value)
    return value
