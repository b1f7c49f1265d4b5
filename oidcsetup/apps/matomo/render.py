"""Render the login plugin's settings (Login OIDC or RebelOIDC): a table to type into the UI, an ini block, console commands, JSON.

Secrets: the plaintext appears only with ``show_secrets``; otherwise the table and JSON show it
masked and the ini block and console commands carry :data:`SECRET_PLACEHOLDER` (the caller warns).
An environment reference (``${NAME}``) is not secret and is always shown.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from oidcsetup.apps.matomo.inifile import encode_bool, encode_env_reference, encode_value
from oidcsetup.apps.matomo.plugins import LOGIN_OIDC, MatomoPlugin
from oidcsetup.apps.matomo.settings import (
    SECRET_SETTING,
    EnvRef,
    SettingValue,
    stored_form,
)
from oidcsetup.errors import UsageError
from oidcsetup.secretref import mask

SECRET_PLACEHOLDER = "REPLACE_WITH_THE_CLIENT_SECRET"


def secret_hidden(values: Mapping[str, SettingValue], show_secrets: bool) -> bool:
    """True when a plaintext secret is present but must not be printed."""
    value = values.get(SECRET_SETTING)
    return isinstance(value, str) and bool(value) and not show_secrets


def encode_setting(value: SettingValue) -> str:
    """The right-hand side of ``key = ...`` in config.ini.php, as Matomo writes it."""
    if isinstance(value, bool):
        return encode_bool(value)
    if isinstance(value, EnvRef):
        return encode_env_reference(value.name)
    return encode_value(value)


def _printable(
    name: str, value: SettingValue, show_secrets: bool, placeholder: str
) -> SettingValue:
    if name == SECRET_SETTING and isinstance(value, str) and value and not show_secrets:
        return placeholder
    return value


def ini_block(
    values: Mapping[str, SettingValue],
    show_secrets: bool = False,
    plugin: MatomoPlugin = LOGIN_OIDC,
) -> str:
    """The ``[LoginOIDC]`` (``[RebelOIDC]``) section to paste into config/config.ini.php."""
    lines = [f"[{plugin.module}]"]
    for name, value in values.items():
        shown = _printable(name, value, show_secrets, SECRET_PLACEHOLDER)
        lines.append(f"{name} = {encode_setting(shown)}")
    return "\n".join(lines) + "\n"


def console_commands(
    values: Mapping[str, SettingValue],
    show_secrets: bool = False,
    plugin: MatomoPlugin = LOGIN_OIDC,
) -> str:
    """``./console config:set`` commands (run in Matomo's folder), one per setting.

    ``--value`` is taken as a plain string (not JSON) and Matomo encodes it itself on save,
    so the commands carry the decoded value; bools as 1/0.
    """
    if any(isinstance(v, EnvRef) for v in values.values()):
        raise UsageError(
            "./console config:set cannot write an environment reference: Matomo stores the $ "
            "literally",
            hint="use --format ini (or apply matomo --config) for --secret-as-env",
        )
    commands = []
    for name, value in values.items():
        shown = _printable(name, value, show_secrets, SECRET_PLACEHOLDER)
        commands.append(
            "./console config:set --section="
            + plugin.module
            + " --key="
            + name
            + " --value="
            + shlex.quote(stored_form(shown))
        )
    return "\n".join(commands) + "\n"


def table_rows(
    values: Mapping[str, SettingValue],
    show_secrets: bool = False,
    plugin: MatomoPlugin = LOGIN_OIDC,
) -> list[list[str]]:
    """[UI field title, setting name, value] rows; bools as "on"/"off" (the UI's checkboxes)."""
    rows = []
    specs = plugin.specs
    for name, value in values.items():
        spec = specs[name]
        if isinstance(value, bool):
            shown = "on" if value else "off"
        elif name == SECRET_SETTING and isinstance(value, str) and not show_secrets:
            shown = mask(value)
        elif value == "":
            shown = "(empty)"
        else:
            shown = str(value).replace("\n", " | ")
        rows.append([spec.title, name, shown])
    return rows


def settings_json(values: Mapping[str, SettingValue], show_secrets: bool = False) -> dict[str, Any]:
    """Typed values (bools as JSON booleans); a hidden secret as its mask, an env ref as ${NAME}."""
    result: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, EnvRef):
            result[name] = str(value)
        elif name == SECRET_SETTING and isinstance(value, str) and not show_secrets:
            result[name] = mask(value)
        else:
            result[name] = value
    return result
