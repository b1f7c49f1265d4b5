"""Whether the plugin was activated (its provider table exists), and links between Matomo
users and provider subjects in ``<prefix>loginoidc_provider`` (LoginOIDC ``LoginOIDC.php::install``;
``provider`` is always ``'oidc'``)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from oidcsetup.apps.matomo.database.connection import DatabaseConnection
from oidcsetup.errors import InputError, UsageError

PROVIDER = "oidc"


@dataclass(frozen=True)
class PluginState:
    provider_table: bool  # <prefix>loginoidc_provider exists: the plugin was activated once
    settings_rows: int
    linked_users: int

    def to_json(self) -> dict[str, Any]:
        return {
            "provider_table": self.provider_table,
            "settings_rows": self.settings_rows,
            "linked_users": self.linked_users,
        }


@dataclass(frozen=True)
class LinkResult:
    login: str
    subject: str
    action: str  # "added" | "changed" | "unchanged"
    previous_subject: str | None = None
    superuser: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "subject": self.subject,
            "provider": PROVIDER,
            "action": self.action,
            "previous_subject": self.previous_subject,
            "superuser": self.superuser,
        }


class AccountLinks(DatabaseConnection):
    """The plugin's state and its account links."""

    def plugin_state(self) -> PluginState:
        schema = self.schema()
        linked = 0
        if schema.has_provider_table:
            rows = self._query(
                f"SELECT (SELECT COUNT(*) FROM {self.settings.table('plugin_setting')} "
                "WHERE `plugin_name` = %s AND `user_login` = ''), "
                f"(SELECT COUNT(*) FROM {self.settings.table(self.plugin.provider_table)} WHERE `provider` = %s)",
                (self.plugin.module, PROVIDER),
            )
            count, linked = int(rows[0][0]), int(rows[0][1])
        else:
            rows = self._query(
                f"SELECT COUNT(*) FROM {self.settings.table('plugin_setting')} "
                "WHERE `plugin_name` = %s AND `user_login` = ''",
                (self.plugin.module,),
            )
            count = int(rows[0][0])
        return PluginState(
            provider_table=schema.has_provider_table, settings_rows=count, linked_users=linked
        )

    def _require_link_tables(self) -> None:
        schema = self.schema()
        if not schema.has_user_table:
            raise InputError(
                f"table {self.settings.prefix}user does not exist in database {self.settings.database}",
                hint="check the table prefix and the database name",
            )
        if not schema.has_provider_table:
            raise InputError(
                f"table {self.settings.prefix}{self.plugin.provider_table} does not exist: the "
                f"{self.plugin.module} plugin was never activated",
                hint=f"activate it first: ./console plugin:activate {self.plugin.module}",
            )

    def copy_links(
        self, source: str, *, dry_run: bool = False
    ) -> tuple[list[tuple[str, str]], int, list[str]]:
        """Carry the links of link table ``source`` (unprefixed, another plugin's) into this
        plugin's table, in one transaction: (copied or to copy, already there, conflicts).

        A login or subject linked differently here is left alone and named (a conflict)."""
        self._require_link_tables()
        table = self.settings.table(self.plugin.provider_table)
        other = self.settings.table(source)

        def work() -> tuple[list[tuple[str, str]], int, list[str]]:
            ctx = contextlib.nullcontext() if dry_run else self._transaction()
            with ctx:
                lock = "" if dry_run else " FOR UPDATE"
                wanted = [
                    (str(u), str(p))
                    for u, p in self._query(
                        f"SELECT `user`, `provider_user` FROM {other} WHERE `provider` = %s "
                        "ORDER BY `user`",
                        (PROVIDER,),
                    )
                ]
                held = [
                    (str(u), str(p))
                    for u, p in self._query(
                        f"SELECT `user`, `provider_user` FROM {table} WHERE `provider` = %s{lock}",
                        (PROVIDER,),
                    )
                ]
                users = {u for u, _ in held}
                subjects = {p for _, p in held}
                copy = [
                    (u, p)
                    for u, p in wanted
                    if (u, p) not in held and u not in users and p not in subjects
                ]
                conflicts = [
                    u for u, p in wanted if (u, p) not in held and (u in users or p in subjects)
                ]
                if copy and not dry_run:
                    marks = ", ".join(["(%s, %s, %s, CURRENT_TIMESTAMP)"] * len(copy))
                    self._query(
                        f"INSERT INTO {table} (`user`, `provider_user`, `provider`, "
                        f"`date_connected`) VALUES {marks}",
                        [v for u, p in copy for v in (u, p, PROVIDER)],
                    )
                return copy, len(wanted) - len(copy) - len(conflicts), conflicts

        return self._retrying(work)

    def site_ids(self) -> set[int]:
        """The ids of Matomo's sites (``<prefix>site``): RebelOIDC's initialIdSite must be one."""
        rows = self._query(f"SELECT `idsite` FROM {self.settings.table('site')}")
        return {int(row[0]) for row in rows}

    def user_info(self, login: str) -> tuple[bool, bool]:
        """(exists, is super user) for a Matomo login."""
        self._require_link_tables()
        rows = self._query(
            f"SELECT `superuser_access` FROM {self.settings.table('user')} WHERE `login` = %s",
            (login,),
        )
        return (bool(rows), bool(rows and int(rows[0][0]) == 1))

    def link(
        self, login: str, subject: str, *, dry_run: bool = False, force: bool = False
    ) -> LinkResult:
        """Link Matomo user ``login`` to provider subject ``subject`` (what "Link account" does).

        The subject is the userinfo claim named by userinfoId. A subject already linked to a
        different user is refused unless ``force`` (then that link moves to ``login``).
        """
        if not login or not subject:
            raise UsageError("--link needs LOGIN=SUBJECT, both non-empty")
        self._require_link_tables()
        table = self.settings.table(self.plugin.provider_table)

        def work() -> LinkResult:
            ctx = contextlib.nullcontext() if dry_run else self._transaction()
            with ctx:
                lock = "" if dry_run else " FOR UPDATE"
                rows = self._query(
                    f"SELECT u.`login`, u.`superuser_access`, p.`user`, p.`provider_user` "
                    f"FROM {self.settings.table('user')} u LEFT JOIN {table} p "
                    "ON p.`provider` = %s AND (p.`user` = u.`login` OR p.`provider_user` = %s) "
                    f"WHERE u.`login` = %s{lock}",
                    (PROVIDER, subject, login),
                )
                if not rows:
                    raise InputError(
                        f"Matomo user {login!r} does not exist",
                        hint="create the user in Matomo first (or check the spelling; logins are case-sensitive)",
                    )
                superuser = int(rows[0][1] or 0) == 1
                links = [(str(r[2]), str(r[3])) for r in rows if r[2] is not None]
                others = sorted({u for u, s in links if s == subject and u != login})
                if others and not force:
                    raise InputError(
                        f"subject {subject!r} is already linked to Matomo user {others[0]!r}",
                        hint="unlink it in Matomo, or pass --force to move the link",
                    )
                mine = [s for u, s in links if u == login]
                if mine == [subject] and not others:
                    return LinkResult(login, subject, "unchanged", subject, superuser)
                action = "changed" if mine else "added"
                result = LinkResult(login, subject, action, mine[0] if mine else None, superuser)
                if dry_run:
                    return result
                self._query(
                    f"DELETE FROM {table} WHERE `provider` = %s AND (`user` = %s OR `provider_user` = %s)",
                    (PROVIDER, login, subject),
                )
                self._query(
                    f"INSERT INTO {table} (`user`, `provider_user`, `provider`, `date_connected`) "
                    "VALUES (%s, %s, %s, CURRENT_TIMESTAMP)",
                    (login, subject, PROVIDER),
                )
                return result

        return self._retrying(work)
