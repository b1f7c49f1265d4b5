"""Read-only checks of a Matomo's database that keep an apply from breaking logins.

Two questions, each answered from facts seen on a real Matomo 5.1.2 (reference
matomo-loginoidc.md sections 5, 7 and 8):

- **Is an active OIDC plugin installed?** Its link table ``<prefix>loginoidc_provider``
  (RebelOIDC: ``<prefix>rebeloidc_provider``) is created by the plugin's install step, which
  Matomo runs on a web request for a plugin listed in ``Plugins[]`` but not yet in
  ``PluginsInstalled[]``. A ``PluginsInstalled[]`` line written by hand makes Matomo skip the
  install forever: the table never comes, ``./console plugin:activate`` answers "already
  activated", every OIDC login dies on the missing table. Repair (tried): delete that line
  from config.ini.php, then open any Matomo page (a console command does not install).
- **Who would disableSuperuser lock out?** The setting refuses the OIDC login of super users
  ("OAuth login disabled for superusers."); their password login keeps working. A super user
  created by the plugin's signup has the unusable password "(disallow password login)"
  (LoginOIDC ``Controller.php`` signupUser, stored as ``password_hash()`` of exactly that text:
  Matomo ``UserRepository`` hashes a pre-hashed password once more, no md5 step), so with the
  setting on such a user cannot log in at all.

The queries go through ``MatomoDatabase._query`` (this package's connection, its error
mapping and statement count). ``bcrypt`` is imported only when a super user's hash is checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oidcsetup.apps.matomo.plugins import PLUGINS
from oidcsetup.apps.matomo.settings import SettingWarning

if TYPE_CHECKING:
    from oidcsetup.apps.matomo.configfile import PluginState
    from oidcsetup.apps.matomo.database import MatomoDatabase

# Plugin -> its link table (without prefix), created by the plugin's install step.
PLUGIN_TABLES: dict[str, str] = {p.module: p.provider_table for p in PLUGINS.values()}
# The password Login OIDC's signup gives new users, "pre-hashed" so that it never matches.
SIGNUP_PASSWORD = "(disallow password login)"


# --- plugin installation ---------------------------------------------------------------------


@dataclass(frozen=True)
class PluginInstall:
    """One OIDC plugin's installation as config.ini.php and the database say."""

    plugin: str
    table: str  # prefixed table name
    table_exists: bool
    active: bool | None  # in the effective Plugins[] list; None: no config file was read
    recorded_installed: bool | None  # in the effective PluginsInstalled[] list
    config_path: Path | None = None
    configured: bool = True  # the plugin this run configures (its table is needed)

    @property
    def problem(self) -> str | None:
        """ "not-installed" (broken for good), "install-pending", "table-missing" or None."""
        if self.table_exists:
            return None
        if self.active is None:
            return "table-missing" if self.configured else None
        if not self.active:
            return None
        return "not-installed" if self.recorded_installed else "install-pending"

    def finding(self) -> SettingWarning | None:
        config = str(self.config_path) if self.config_path else "config/config.ini.php"
        line = f'PluginsInstalled[] = "{self.plugin}"'
        repair = (
            f"delete the line {line} from {config}, then open any Matomo page: Matomo then "
            f"installs {self.plugin} and creates the table (./console plugin:activate alone "
            "does not repair this)"
        )
        problem = self.problem
        if problem == "not-installed":
            return SettingWarning(
                "plugin-active-not-installed",
                f"{self.plugin} is active and recorded as installed, but table {self.table} "
                "does not exist: Matomo never runs its install step again, and every OIDC "
                f"login fails with \"Table '{self.table}' doesn't exist\"",
                repair,
            )
        if problem == "install-pending":
            return SettingWarning(
                "plugin-install-pending",
                f"{self.plugin} is active but not installed yet (table {self.table} does not "
                "exist): Matomo installs it on its next web request",
                "open any Matomo page once before the first OIDC login",
            )
        if problem == "table-missing":
            return SettingWarning(
                "plugin-table-missing",
                f"table {self.table} does not exist: {self.plugin} is not installed in this "
                "Matomo (never activated, or its install step was skipped)",
                f"activate it (./console plugin:activate {self.plugin}); if Matomo answers "
                f'"already activated", {repair}',
            )
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin,
            "table": self.table,
            "table_exists": self.table_exists,
            "active": self.active,
            "recorded_installed": self.recorded_installed,
            "problem": self.problem,
        }


def existing_tables(db: MatomoDatabase, names: Iterable[str]) -> set[str]:
    """Which of these (prefixed) tables exist in Matomo's database: one query."""
    wanted = list(names)
    if not wanted:
        return set()
    marks = ", ".join(["%s"] * len(wanted))
    rows = db._query(
        "SELECT TABLE_NAME FROM information_schema.TABLES "
        f"WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ({marks})",
        wanted,
    )
    return {str(row[0]) for row in rows}


def plugin_installs(
    db: MatomoDatabase,
    state: PluginState | None,
    config_path: Path | None = None,
    *,
    configured: str = "LoginOIDC",
) -> list[PluginInstall]:
    """The configured plugin's installation (and the other OIDC plugin's, when active).

    ``state`` is the config file's plugin lists (``MatomoConfig.plugin_state()``); without it
    only the configured plugin's table is looked at, since whether the other is active is
    unknown.
    """
    prefix = db.settings.prefix
    tables = {plugin: f"{prefix}{table}" for plugin, table in PLUGIN_TABLES.items()}
    found = existing_tables(db, tables.values())
    result = []
    for plugin, table in tables.items():
        active = recorded = None
        if state is not None:
            active = plugin in (state.effective_plugins or ())
            recorded = plugin in (state.effective_installed or ())
        if plugin != configured and not active:
            continue
        result.append(
            PluginInstall(
                plugin, table, table in found, active, recorded, config_path, plugin == configured
            )
        )
    return result


def install_findings(
    installs: Iterable[PluginInstall], *, pending: bool = True
) -> list[SettingWarning]:
    """The installation problems; ``pending=False`` leaves out "install-pending", which is no
    fault: Matomo's next web request (the login page itself) installs the plugin."""
    return [
        finding
        for install in installs
        if (finding := install.finding()) is not None
        and (pending or install.problem != "install-pending")
    ]


# --- the disableSuperuser rail -----------------------------------------------------------------


@dataclass(frozen=True)
class SuperUser:
    login: str
    linked: bool  # has a link in the configured plugin's table (loginoidc/rebeloidc_provider)
    password_usable: bool  # False: the signup's "(disallow password login)"


def has_signup_password(password_hash: str) -> bool:
    """True when ``password_hash`` is PHP ``password_hash("(disallow password login)")``.

    Matomo hashes with PASSWORD_DEFAULT (bcrypt, ``$2y$``) unless ``[General]
    password_hash_algorithm`` says argon2i/argon2id; both are checked. Any other value (empty,
    md5 of Matomo 3) is not the signup's password.
    """
    value = password_hash.strip()
    if value.startswith(("$2y$", "$2b$", "$2a$")):
        import bcrypt

        try:
            return bcrypt.checkpw(SIGNUP_PASSWORD.encode(), value.encode())
        except ValueError:
            return False
    if value.startswith("$argon2"):
        from argon2 import PasswordHasher
        from argon2.exceptions import Argon2Error, InvalidHashError

        try:
            return PasswordHasher().verify(value, SIGNUP_PASSWORD)
        except (Argon2Error, InvalidHashError):
            return False
    return False


def super_users(db: MatomoDatabase) -> list[SuperUser]:
    """Every super user, whether linked to an OIDC subject, whether its password is usable."""
    table_user = db.settings.table("user")
    link_table = f"{db.settings.prefix}{db.plugin.provider_table}"
    if link_table in existing_tables(db, [link_table]):
        sql = (
            f"SELECT u.`login`, u.`password`, COUNT(p.`user`) FROM {table_user} u "
            f"LEFT JOIN `{link_table}` p ON p.`user` = u.`login` AND p.`provider` = 'oidc' "
            "WHERE u.`superuser_access` = 1 GROUP BY u.`login`, u.`password` ORDER BY u.`login`"
        )
    else:
        sql = (
            f"SELECT `login`, `password`, 0 FROM {table_user} "
            "WHERE `superuser_access` = 1 ORDER BY `login`"
        )
    users = []
    for login, password, links in db._query(sql):
        text = password.decode() if isinstance(password, bytes | bytearray) else str(password or "")
        users.append(SuperUser(str(login), int(links or 0) > 0, not has_signup_password(text)))
    return users


@dataclass(frozen=True)
class SuperuserRail:
    """What turning disableSuperuser on does to this Matomo's super users."""

    checked: bool  # False: no database access, nothing is known
    oidc_only: tuple[str, ...] = ()  # no usable password: locked out with the setting on
    linked: tuple[str, ...] = ()  # OIDC login refused with the setting on; password still works

    def refusal(self) -> SettingWarning | None:
        if not self.oidc_only:
            return None
        names = ", ".join(self.oidc_only)
        return SettingWarning(
            "disable-superuser-lockout",
            f"refusing to turn on disableSuperuser: super user(s) {names} have no usable Matomo "
            "password (created by OIDC signup) and could then not log in at all",
            "give them a password first (Matomo > Administration > System > Users, as another "
            "super user), or pass --force",
        )

    def warnings(self) -> list[SettingWarning]:
        found = []
        if not self.checked:
            found.append(
                SettingWarning(
                    "disable-superuser-unchecked",
                    "disableSuperuser turns off OIDC login for super users; without database "
                    "access it could not be checked that every super user still has a Matomo "
                    "password (one created by OIDC signup has none and would be locked out)",
                    "run with --db (or --from-config PATH) to check",
                )
            )
        if self.linked:
            found.append(
                SettingWarning(
                    "disable-superuser-linked",
                    f"with disableSuperuser on, the OIDC login of linked super user(s) "
                    f'{", ".join(self.linked)} is refused ("OAuth login disabled for '
                    'superusers."): they need their Matomo password',
                )
            )
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "oidc_only": list(self.oidc_only),
            "linked": list(self.linked),
        }


def superuser_rail(db: MatomoDatabase | None, linked_now: Iterable[str] = ()) -> SuperuserRail:
    """The rail's facts; ``linked_now``: super users this same run links."""
    if db is None:
        return SuperuserRail(checked=False)
    users = super_users(db)
    extra = set(linked_now)
    return SuperuserRail(
        checked=True,
        oidc_only=tuple(u.login for u in users if not u.password_usable),
        linked=tuple(u.login for u in users if u.linked or u.login in extra),
    )
