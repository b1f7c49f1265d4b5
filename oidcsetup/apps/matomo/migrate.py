"""Moving a Matomo from one login plugin to the other (Login OIDC <-> RebelOIDC).

The settings part is pure: :func:`translate_settings` gives the destination plugin's settings
that make it behave as the source plugin does now. Every source setting is carried over with
the value the source plugin *uses* (what is stored, else the source's default: Login OIDC's
``userinfoId`` defaults to "id", RebelOIDC's to "sub", so an unset one is written explicitly);
names follow the plugin descriptions (``userinfoUrl`` <-> ``userInfoUrl``); a
``redirectUriOverride`` pointing at the source's callback is pointed at the destination's.
Settings only the destination has take the Integration's values, else the destination's
defaults; settings only the source has are dropped and reported.

Each setting goes where the source's came from: one held in config.ini.php's section goes to the
destination's section of that file (the file wins over the database in Matomo), the others to the
database when there is one, else to the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from oidcsetup.apps.matomo.plugins import MatomoPlugin
from oidcsetup.apps.matomo.settings import SECRET_SETTING, EnvRef, SettingValue, stored_form


def _loginoidc_name(plugin: MatomoPlugin, name: str) -> str:
    """Login OIDC's name for ``plugin``'s setting ``name`` (the names both plugins share)."""
    for loginoidc, own in plugin.renamed.items():
        if own == name:
            return loginoidc
    return name


def counterpart(source: MatomoPlugin, dest: MatomoPlugin, name: str) -> str | None:
    """The destination's name for the source's setting ``name``; None when it has none."""
    candidate = dest.name_of(_loginoidc_name(source, name))
    return candidate if candidate in dest.specs else None


@dataclass(frozen=True)
class Translation:
    """The destination's settings, split by where they go, and what could not be carried."""

    to_config: dict[str, SettingValue] = field(default_factory=dict)
    to_database: dict[str, SettingValue] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()  # source settings the destination does not have (not default)
    notes: tuple[str, ...] = ()

    @property
    def values(self) -> dict[str, SettingValue]:
        return {**self.to_database, **self.to_config}


def _typed(plugin: MatomoPlugin, name: str, stored: str | SettingValue) -> SettingValue:
    if isinstance(stored, (bool, EnvRef)):
        return stored
    if plugin.specs[name].type == "bool":
        return stored not in ("", "0")
    return stored


def translate_settings(
    source: MatomoPlugin,
    dest: MatomoPlugin,
    *,
    in_config: Mapping[str, str | SettingValue],
    in_database: Mapping[str, str],
    extras: Mapping[str, SettingValue] | None = None,
    database_target: bool,
) -> Translation:
    """The destination's settings for a Matomo whose source plugin holds these values.

    ``in_config`` is the source's section of config.ini.php as Matomo reads it (a ``${NAME}``
    clientSecret as an :class:`EnvRef`), ``in_database`` its ``plugin_setting`` rows;
    ``extras`` the destination-only settings the Integration asks for (e.g. initialIdSite).
    """
    to_config: dict[str, SettingValue] = {}
    to_database: dict[str, SettingValue] = {}
    dropped: list[str] = []
    notes: list[str] = []
    for spec in source.settings:
        name = spec.name
        if name in in_config:
            value: str | SettingValue = in_config[name]
            into = to_config
        elif name in in_database:
            value = in_database[name]
            into = to_database if database_target else to_config
        else:
            if name == SECRET_SETTING:
                continue  # nothing to carry: the destination stays unconfigured, as the source
            value = spec.default
            into = to_database if database_target else to_config
        target = counterpart(source, dest, name)
        if target is None:
            if stored_form(_typed(source, name, value)) != stored_form(spec.default):
                dropped.append(name)
            continue
        typed = _typed(dest, target, value)
        if name == "redirectUriOverride" and isinstance(typed, str):
            if source.callback_query in typed:
                typed = typed.replace(source.callback_query, dest.callback_query)
                notes.append(
                    f"redirectUriOverride now ends in {dest.callback_query} (the "
                    f"{dest.module} callback); register it at the provider"
                )
            elif typed:
                notes.append(
                    f"redirectUriOverride {typed} is rewritten by the web server: point its "
                    f"rewrite at index.php?{dest.callback_query}"
                )
        into[target] = typed
    for name, value in (extras or {}).items():
        if name in dest.specs:
            (to_database if database_target and name not in to_config else to_config)[name] = value
    for spec in dest.settings:
        if spec.name not in to_config and spec.name not in to_database:
            if spec.name == SECRET_SETTING:
                continue
            (to_database if database_target else to_config)[spec.name] = spec.default
    order = list(dest.setting_names)
    return Translation(
        to_config={n: to_config[n] for n in order if n in to_config},
        to_database={n: to_database[n] for n in order if n in to_database},
        dropped=tuple(dropped),
        notes=tuple(notes),
    )
