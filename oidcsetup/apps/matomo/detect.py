"""Which login plugin a Matomo runs, when the profile does not say (``app.matomo.plugin`` unset).

Matomo keeps the list of activated plugins in config.ini.php (``[Plugins] Plugins[]``, else
global.ini.php's list); the database only says which plugins were installed once (their link
tables ``<prefix>loginoidc_provider`` / ``<prefix>rebeloidc_provider`` exist). So the config
file decides when a command has one (``--config``, ``--from-config``); with only a database, the
link tables do. Both plugins active (or both tables) is ambiguous: the user chooses.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oidcsetup.apps.matomo.plugins import DEFAULT_PLUGIN, PLUGINS, MatomoPlugin, plugin_named

if TYPE_CHECKING:
    from oidcsetup.apps.matomo.configfile import MatomoConfig
    from oidcsetup.apps.matomo.database import MatomoDatabase


@dataclass(frozen=True)
class PluginChoice:
    """The plugin a command configures, and how it was chosen (for the note on stderr)."""

    plugin: MatomoPlugin
    how: str  # "profile" (profile, flag or env), "detected" or "default"
    reason: str = ""

    @property
    def note(self) -> str | None:
        """What to tell the user when the tool chose (None when the user did)."""
        if self.how == "profile":
            return None
        return (
            f"note: configuring {self.plugin.title} ({self.reason}); set app.matomo.plugin "
            "(--plugin) to choose"
        )

    def to_json(self) -> dict[str, str]:
        return {"plugin": self.plugin.key, "module": self.plugin.module, "how": self.how}


def from_active_plugins(
    active: Collection[str] | None, where: str, configured: Collection[str] = ()
) -> PluginChoice | None:
    """The plugin named in Matomo's ``Plugins[]`` list (``active``); None when neither is.

    Both active (a switch in progress, or a test install): the one whose section the config
    file holds (``configured``), when only one has one; else the user chooses."""
    found = [p for p in PLUGINS.values() if p.module in (active or ())]
    if len(found) > 1:
        holding = [p for p in found if p.module in configured]
        if len(holding) == 1:
            plugin = holding[0]
            return PluginChoice(
                plugin,
                "detected",
                f"both plugins are active in {where}, only [{plugin.module}] has settings there",
            )
        # Neither (or both) configured there: Login OIDC, as before RebelOIDC was known.
        return PluginChoice(
            DEFAULT_PLUGIN, "default", f"both plugins are active in {where}: the default"
        )
    if found:
        return PluginChoice(found[0], "detected", f"{found[0].module} is active in {where}")
    return None


def from_link_tables(tables: Collection[str], prefix: str) -> PluginChoice | None:
    """The plugin whose link table exists (``tables``: the database's table names)."""
    found = [p for p in PLUGINS.values() if prefix + p.provider_table in tables]
    if len(found) > 1:
        return None  # both installed once: the default (said)
    if found:
        plugin = found[0]
        return PluginChoice(plugin, "detected", f"the database has {prefix}{plugin.provider_table}")
    return None


def choose_plugin(
    said: str | None,
    *,
    active: Collection[str] | None = None,
    active_where: str = "config.ini.php",
    configured: Collection[str] = (),
    tables: Collection[str] | None = None,
    prefix: str = "",
) -> PluginChoice:
    """The plugin to configure: what the profile/flag/env said, else what the target runs.

    ``active`` is the config file's effective Plugins[] list (None: no config file read);
    ``tables`` the database's table names (None: no database). Login OIDC when nothing tells.
    """
    if said is not None:
        return PluginChoice(plugin_named(said), "profile")
    choice = None
    if active is not None:
        choice = from_active_plugins(active, active_where, configured)
    if choice is None and tables is not None and active is None:
        choice = from_link_tables(tables, prefix)
    if choice is not None:
        return choice
    if active is None and tables is None:
        return PluginChoice(DEFAULT_PLUGIN, "default", "no target to look at: the default")
    return PluginChoice(
        DEFAULT_PLUGIN,
        "default",
        "neither Login OIDC nor RebelOIDC is active in the target: the default",
    )


def choose_for_targets(
    said: str | None, config: MatomoConfig | None, db: MatomoDatabase | None
) -> PluginChoice:
    """:func:`choose_plugin` with what the targets hold: the config file's effective Plugins[]
    list (config.ini.php, else global.ini.php's), else the database's link tables."""
    if said is not None:
        return choose_plugin(said)
    active = None
    where = "config.ini.php"
    configured: list[str] = []
    if config is not None:
        active = config.plugin_state().effective_plugins or ()
        where = str(config.path)
        configured = [p.module for p in PLUGINS.values() if config.document.values(p.module)]
    tables = None
    prefix = ""
    if db is not None and config is None:
        from oidcsetup.apps.matomo.safety import existing_tables

        prefix = db.settings.prefix
        tables = existing_tables(db, [prefix + p.provider_table for p in PLUGINS.values()])
    return choose_plugin(
        None,
        active=active,
        active_where=where,
        configured=configured,
        tables=tables,
        prefix=prefix,
    )
