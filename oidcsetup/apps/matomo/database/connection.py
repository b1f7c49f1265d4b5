"""One connection to Matomo's database: open it (TLS and authentication by ``guard.py``),
send statements (counted), map server errors to ours, one locked transaction, retries.

Round trips are constant, whatever the number of settings: one schema query, one SELECT to
read; a write is GET_LOCK, BEGIN, SELECT ... FOR UPDATE, one ``DELETE ... IN`` (by primary key:
exactly the rows the plan replaces), one multi-row INSERT, COMMIT, RELEASE_LOCK.
``statements`` counts them. PyMySQL is imported only when a connection is opened.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Self, TypeVar

from oidcsetup.apps.matomo.database.dsn import DbSettings
from oidcsetup.apps.matomo.database.schema import SchemaInfo, probe_schema
from oidcsetup.apps.matomo.plugins import LOGIN_OIDC, MatomoPlugin
from oidcsetup.errors import ApplyError, InputError, UnreachableError

if TYPE_CHECKING:
    import pymysql.connections

T = TypeVar("T")

# MySQL/MariaDB client and server error numbers (mysqld_error.h, errmsg.h).
_UNREACHABLE = {1927, 2002, 2003, 2005, 2006, 2013, 2055, 4031}
_ACCESS_DENIED = {1044, 1045, 1142, 1143, 1227, 1698}
_UNKNOWN_DB = 1049
_NO_SUCH_TABLE = 1146
_BAD_FIELD = 1054
LOCK_RETRY = {1205, 1213}  # lock wait timeout, deadlock: the transaction was rolled back


def error_number(exc: BaseException) -> int:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else 0


def error_text(exc: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    return str(args[1]) if len(args) > 1 else str(exc)


class DatabaseConnection:
    """One connection to Matomo's database. Use as a context manager, or call ``close``."""

    def __init__(
        self, settings: DbSettings, connection: pymysql.connections.Connection[Any]
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.statements = 0  # SQL round trips after the handshake (see the module docstring)
        self._schema: SchemaInfo | None = None
        # The login plugin whose rows and link table this connection reads and writes.
        self.plugin: MatomoPlugin = LOGIN_OIDC

    def for_plugin(self, plugin: MatomoPlugin) -> Self:
        """Read and write ``plugin``'s settings rows and link table from now on."""
        if plugin is not self.plugin:
            self.plugin = plugin
            self._schema = None  # the provider table probed is the plugin's
        return self

    # --- connection -------------------------------------------------------------------------

    @classmethod
    def connect(cls, settings: DbSettings) -> Self:
        """Open the connection: TLS verified as ``guard.tls_context`` builds it, and an
        authentication that never hands the password to an unverified server
        (``guard.guarded_auth_plugins``)."""
        import pymysql

        from oidcsetup.apps.matomo.database.guard import (
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
            raise connect_error(exc, settings) from None
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

    def __enter__(self) -> Self:
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
        code = error_number(exc)
        table = self.settings.table("plugin_setting").strip("`")
        if code in _UNREACHABLE:
            return UnreachableError(
                f"lost the connection to the database at {self.settings.where}: {error_text(exc)}",
                hint="check the server; a transaction in progress was rolled back by the server",
            )
        if code == _NO_SUCH_TABLE:
            return InputError(
                f"a Matomo table is missing in database {self.settings.database}: {error_text(exc)}",
                hint=f"check the table prefix ({self.settings.prefix!r}) and that Matomo is installed",
            )
        if code in _ACCESS_DENIED:
            return InputError(
                f"the database user {self.settings.user} may not do this on {table}: {error_text(exc)}",
                hint="grant SELECT, INSERT, DELETE on Matomo's tables to that user",
            )
        return ApplyError(f"database error {code}: {error_text(exc)}")

    # --- schema ---------------------------------------------------------------------------

    def schema(self) -> SchemaInfo:
        """One query over information_schema (the first time); InputError when plugin_setting
        is missing."""
        if self._schema is None:
            self._schema = probe_schema(self)
        return self._schema

    # --- transactions -----------------------------------------------------------------------

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

    def _retrying(self, work: Callable[[], T], attempts: int = 3) -> T:
        for attempt in range(attempts):
            try:
                return work()
            except ApplyError as exc:
                cause = exc.__cause__
                if (
                    cause is None
                    or error_number(cause) not in LOCK_RETRY
                    or attempt == attempts - 1
                ):
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")


def connect_error(exc: BaseException, settings: DbSettings) -> Exception:
    import ssl

    code = error_number(exc)
    text = error_text(exc)
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
