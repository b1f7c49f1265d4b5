"""Issue 10 item 2: ``apply --db`` without ``--prune`` removes or changes nothing its plan did
not show, whatever rows the table already holds. Property-based (hypothesis) over random
existing ``plugin_setting`` rows on the real test MariaDB (utf8mb4_general_ci, as Matomo's
installer creates it): case variants and trailing spaces of our names (which that collation
calls equal), duplicates, json rows, other plugins, per-user rows."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from oidcsetup.apps.matomo.database import MatomoDatabase
from oidcsetup.apps.matomo.database.dsn import DbSettings
from oidcsetup.apps.matomo.plan import Action
from oidcsetup.errors import ApplyError
from tests.support.mariadb import MariaDB

pytestmark = pytest.mark.mariadb

NAMES = ["clientId", "clientSecret", "scope", "userinfoId", "allowSignup"]
VARIANTS = [
    variant
    for name in NAMES
    for variant in (name, name.lower(), name.upper(), name + " ", name[0].upper() + name[1:])
] + ["obsoleteSetting", "clıentId", "clientİd"]
PLUGINS = ["LoginOIDC", "LoginOIDC", "loginoidc", "LOGINOIDC", "Other", "LoginOIDCx"]
USERS = ["", "", "", "bob", " "]
VALUES = ["matomo", "secret", "openid email", "sub", "0", "1", '"matomo"', "[1,2]", ""]

Row = tuple[str, str, str, int, str]  # plugin_name, setting_name, setting_value, json, user

rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(PLUGINS),
        st.sampled_from(VARIANTS),
        st.sampled_from(VALUES),
        st.sampled_from([0, 0, 1]),
        st.sampled_from(USERS),
    ),
    max_size=14,
)
desired_strategy = st.dictionaries(
    st.sampled_from(NAMES), st.sampled_from(["matomo", "secret", "openid email", "sub", "1"])
)
ISSUE_ROWS: list[Row] = [
    ("LoginOIDC", "clientsecret", "typed by hand", 0, ""),
    ("LoginOIDC", "ClientId", "typed by hand", 0, ""),
]


class Root:
    """One root connection for the whole module (a connection per step made the property test
    slow): ``execute`` as ``MariaDB.execute``, in the test database."""

    def __init__(self, mariadb: MariaDB, database: str) -> None:
        self.connection = mariadb.root(database)

    def execute(
        self, sql: str, args: Any = None, database: str | None = None
    ) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall())


@pytest.fixture(scope="module")
def database(mariadb: MariaDB) -> Iterator[tuple[Root, DbSettings]]:
    name = "rows_" + uuid.uuid4().hex[:10]
    mariadb.create_matomo(name, "matomo_")
    root = Root(mariadb, name)
    yield root, mariadb.app_settings(name, "matomo_")
    root.connection.close()
    mariadb.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(scope="module")
def app_db(database: tuple[Root, DbSettings]) -> Iterator[MatomoDatabase]:
    with MatomoDatabase.connect(database[1]) as db:
        yield db


def reset(root: Root, rows: list[Row]) -> None:
    root.execute("DELETE FROM matomo_plugin_setting")  # TRUNCATE rebuilds the table: slow
    if rows:
        with root.connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO matomo_plugin_setting (plugin_name, setting_name, "
                "setting_value, json_encoded, user_login) VALUES (%s, %s, %s, %s, %s)",
                rows,
            )


def table(root: Root) -> dict[int, Row]:
    return {
        int(r[0]): tuple(r[1:])  # type: ignore[misc]
        for r in root.execute(
            "SELECT idplugin_setting, plugin_name, setting_name, setting_value, json_encoded, "
            "user_login FROM matomo_plugin_setting"
        )
    }


def matomo_reads(root: Root) -> list[tuple[Any, ...]]:
    """PluginSettingsTable::load's own query (the table's collation decides what matches)."""
    return root.execute(
        "SELECT idplugin_setting, setting_name, setting_value, json_encoded "
        "FROM matomo_plugin_setting WHERE plugin_name = %s and user_login = %s",
        ("LoginOIDC", ""),
    )


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(rows=ISSUE_ROWS, desired={"clientId": "matomo", "clientSecret": "secret"})
@given(rows=rows_strategy, desired=desired_strategy)
def test_apply_without_prune_changes_only_what_the_plan_shows(
    database: tuple[Root, DbSettings],
    app_db: MatomoDatabase,
    rows: list[Row],
    desired: dict[str, str],
) -> None:
    root, _ = database
    reset(root, rows)
    before = table(root)
    read_by_matomo = {int(r[0]) for r in matomo_reads(root)}
    plan = app_db.plan(desired)
    result = app_db.apply(desired, expected=plan)
    after = table(root)
    pending = {c.setting: c for c in plan.pending}
    assert all(c.action is not Action.REMOVE for c in plan.changes)
    # the rows the plan is about: Matomo reads them (its WHERE) and their exact name is shown
    in_scope = {rid for rid, row in before.items() if rid in read_by_matomo and row[1] in pending}
    for rid, row in before.items():
        if rid not in in_scope:
            assert after.get(rid) == row, f"row {row} was changed or removed; plan: {plan}"
    new = [row for rid, row in after.items() if rid not in before]
    assert Counter(new) == Counter(
        ("LoginOIDC", name, c.new, 0, "") for name, c in pending.items() if c.new is not None
    )
    assert result.written == bool(pending)
    # and Matomo now reads exactly the desired values for those names
    for name, value in desired.items():
        assert [r[2] for r in matomo_reads(root) if r[1] == name] == [value]


def test_the_issue_rows_survive(database: tuple[Root, DbSettings]) -> None:
    """The report: hand-typed `clientsecret` and `ClientId` vanished after "17 added"."""
    root, s = database
    reset(root, ISSUE_ROWS)
    with MatomoDatabase.connect(s) as db:
        plan = db.plan({"clientId": "matomo", "clientSecret": "secret"})
        assert {c.action for c in plan.changes} == {Action.ADD}
        db.apply({"clientId": "matomo", "clientSecret": "secret"}, expected=plan)
    names = sorted(r[1] for r in table(root).values())
    assert names == ["ClientId", "clientId", "clientSecret", "clientsecret"]


def test_a_plan_that_changed_under_the_lock_writes_nothing(
    database: tuple[Root, DbSettings],
) -> None:
    root, s = database
    reset(root, [("LoginOIDC", "clientId", "old", 0, "")])
    with MatomoDatabase.connect(s) as db:
        plan = db.plan({"clientId": "new"})
        # someone else writes between the plan shown and the write
        root.execute("UPDATE matomo_plugin_setting SET setting_value = 'other'")
        with pytest.raises(ApplyError, match="changed since the plan") as info:
            db.apply({"clientId": "new"}, expected=plan)
    assert "run the command again" in (info.value.hint or "")
    assert [r[1:3] for r in table(root).values()] == [("clientId", "other")]


@pytest.mark.parametrize("legacy", [True])
def test_tables_without_a_key_delete_exact_names(mariadb: MariaDB, legacy: bool) -> None:
    """Before Matomo 3.6 there is no idplugin_setting: names are compared as bytes."""
    name = "rows_" + uuid.uuid4().hex[:10]
    mariadb.create_matomo(name, "piwik_", legacy=legacy)
    try:
        mariadb.execute(
            "INSERT INTO piwik_plugin_setting (plugin_name, setting_name, setting_value, "
            "user_login) VALUES ('LoginOIDC','clientsecret','x',''), "
            "('LoginOIDC','clientSecret ','y',''), ('LoginOIDC','clientSecret','old','')",
            database=name,
        )
        s = mariadb.app_settings(name, "piwik_")
        with MatomoDatabase.connect(s) as db:
            db.apply({"clientSecret": "new"})
        rows = sorted(
            mariadb.execute(
                "SELECT setting_name, setting_value FROM piwik_plugin_setting", database=name
            )
        )
        assert rows == [("clientSecret", "new"), ("clientSecret ", "y"), ("clientsecret", "x")]
    finally:
        mariadb.execute(f"DROP DATABASE IF EXISTS `{name}`")
