"""Where Matomo's database is: ``DbSettings`` from a DSN, ``OIDCSETUP_DB_*`` or Matomo's own
``config.ini.php`` ``[database]`` section, by the precedence of ``resolve_db_settings``."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from oidcsetup.apps.matomo.database.guard import TlsOptions
from oidcsetup.errors import InputError, UsageError

DEFAULT_PORT = 3306
DEFAULT_PREFIX = "matomo_"  # the Matomo installer's default [database] tables_prefix
PREFIX_RE = re.compile(r"^[A-Za-z0-9_]*$")
ENV_PREFIX = "OIDCSETUP_DB_"
PASSWORD_ENV = "OIDCSETUP_DB_PASSWORD"
# Names of variables a config.ini.php [database] ${NAME} may be filled from (comma-separated).
CONFIG_ENV_ALLOW = "OIDCSETUP_DB_CONFIG_ENV"
# Where libmysqlclient/PDO look for the server's socket when the host is "localhost".
DEFAULT_SOCKETS = ("/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock")


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
    (one nobody else could have planted: ``guard.trusted_default_socket``)."""
    from oidcsetup.apps.matomo.database.guard import trusted_default_socket

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
