"""Opening a connection to Matomo's database without handing the password to the wrong server.

Two things PyMySQL does not do for us, so this module does them:

- **TLS that checks the host name.** Given only ``ssl={...}`` without a CA file, PyMySQL
  verifies the chain against the system CAs but sets ``check_hostname = False``, so any publicly
  trusted certificate for any name is accepted (a man in the middle with a certificate for his
  own domain passes). :func:`tls_context` builds the ``ssl.SSLContext`` itself: system CAs (or
  the CA file/folder given), ``CERT_REQUIRED`` and ``check_hostname = True``; checks are off
  only when the user says so (``ssl_verify=0`` / ``ssl_no_verify = 1``).
- **No password to an unverified server.** During the handshake a server may switch the
  client to another authentication plugin (an AuthSwitchRequest). PyMySQL answers a switch to
  ``mysql_clear_password`` or ``dialog`` with the password in clear, and for
  ``sha256_password`` / ``caching_sha2_password`` "full authentication" on a plain connection
  it asks the *server* for the RSA key to encrypt the password with: a rogue server (or one in
  the middle) sends its own key and decrypts. :func:`guarded_auth_plugins` is PyMySQL's
  documented ``auth_plugin_map`` hook: our handlers run for those four plugins and only let the
  password go when the transport is verified TLS or a unix socket (see
  :func:`password_may_be_sent`); otherwise the connection ends with :class:`PasswordWithheld`
  before a byte of it is written. The challenge-response plugins (``mysql_native_password``,
  ``client_ed25519``, the fast path of ``caching_sha2_password``) never reveal the password and
  are left as they are.

Everything here is imported only when a connection is opened (PyMySQL and ssl are heavy).
"""

from __future__ import annotations

import os
import socket
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oidcsetup.errors import InputError

if TYPE_CHECKING:
    import ssl

# The plugins whose answer reveals the password (MySQL/MariaDB client plugin names).
CLEAR_PASSWORD = "mysql_clear_password"
DIALOG = "dialog"  # MariaDB's PAM plugin asks "Password: " through it
SHA256 = "sha256_password"
CACHING_SHA2 = "caching_sha2_password"


@dataclass(frozen=True)
class TlsOptions:
    """TLS to the database: Matomo's ``[database] enable_ssl``/``ssl_*`` or the DSN's ``ssl*``."""

    ca: str | None = None
    capath: str | None = None
    cert: str | None = None
    key: str | None = None
    cipher: str | None = None
    verify: bool = True  # certificate chain AND host name

    def to_json(self) -> dict[str, Any]:
        return {
            "ca": self.ca,
            "capath": self.capath,
            "client_cert": bool(self.cert),
            "verify": self.verify,
        }


def tls_context(options: TlsOptions) -> ssl.SSLContext:
    """The context PyMySQL wraps the socket with (it uses an SSLContext as given)."""
    import ssl

    where = options.ca or options.capath
    try:
        # With a CA file/folder only that CA is trusted; without, the system's CAs.
        context = ssl.create_default_context(cafile=options.ca, capath=options.capath)
        if options.cert:
            context.load_cert_chain(options.cert, options.key)
        if options.cipher:
            context.set_ciphers(options.cipher)
    except FileNotFoundError as exc:
        raise InputError(
            f"database TLS file {exc.filename or where} does not exist",
            hint="check ssl_ca / ssl_cert / ssl_key (DSN parameters or Matomo's [database])",
        ) from None
    except (OSError, ssl.SSLError) as exc:
        raise InputError(
            f"cannot use the database TLS files: {getattr(exc, 'reason', None) or exc}",
            hint="ssl_ca must be a PEM CA certificate, ssl_cert/ssl_key a matching PEM pair",
        ) from None
    if options.verify:
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def password_may_be_sent(connection: Any) -> bool:
    """True when the password may be revealed to the peer of ``connection`` (PyMySQL's).

    - TLS whose certificate chain and host name were verified (``CERT_REQUIRED`` and
      ``check_hostname``): the peer is the server the user named.
    - A unix socket: the peer is a process on this machine, reached through a path the user
      (or Matomo's config) named; MySQL and MariaDB treat it as a secure transport too, and
      MySQL 8's default ``caching_sha2_password`` needs it for its first login after a
      restart. (A socket in a folder anyone may write is not picked up by default:
      ``trusted_default_socket``.)

    Anything else (plain TCP, TLS with ``ssl_verify=0``) is not.
    """
    import ssl

    sock = getattr(connection, "_sock", None)
    if isinstance(sock, ssl.SSLSocket):
        context = sock.context
        return context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    return sock is not None and sock.family == socket.AF_UNIX


class PasswordWithheld(InputError):
    """The server asked for the password in a form it could read, over an unverified link."""


def _withhold(connection: Any, plugin: str, how: str) -> PasswordWithheld:
    place = getattr(connection, "unix_socket", None) or (f"{connection.host}:{connection.port}")
    return PasswordWithheld(
        f"the database server at {place} asked for the password {how} ({plugin}) over a "
        "connection whose server is not verified: the password was not sent",
        hint="connect with verified TLS (DSN ?ssl=1&ssl_ca=CA.pem, or [database] enable_ssl = 1 "
        "and ssl_ca) or through the server's unix socket; a server you did not set up this way "
        "may not be yours",
    )


def guarded_auth_plugins() -> dict[str, type]:
    """PyMySQL ``auth_plugin_map``: handlers for the plugins that would reveal the password.

    PyMySQL constructs ``handler(connection)`` and calls ``handler.authenticate(packet)`` both
    for an AuthSwitchRequest to that plugin and for "extra auth data" of the plugin the
    server greeted with (``connections.py`` ``_request_authentication``/``_process_auth``). When
    the transport may carry the password, each handler hands the packet back to PyMySQL's own
    code (``_process_auth`` without a handler, or ``_auth``), so behaviour is unchanged there.
    """
    from pymysql import _auth

    class Cleartext:
        """mysql_clear_password and dialog: the answer IS the password."""

        plugin = CLEAR_PASSWORD

        def __init__(self, connection: Any) -> None:
            self.connection = connection

        def authenticate(self, packet: Any) -> Any:
            if not password_may_be_sent(self.connection):
                raise _withhold(self.connection, self.plugin, "in cleartext")
            return self.connection._process_auth(self.plugin.encode(), packet)

    class Dialog(Cleartext):
        plugin = DIALOG

    class Sha256(Cleartext):
        """sha256_password: cleartext on a secure link, else RSA with the key the server sends."""

        plugin = SHA256

        def authenticate(self, packet: Any) -> Any:
            if not password_may_be_sent(self.connection) and self.connection.password:
                raise _withhold(self.connection, self.plugin, "encrypted to a key it chose")
            return _auth.sha256_password_auth(self.connection, packet)

    class CachingSha2(Cleartext):
        """caching_sha2_password: the fast path is a challenge-response (safe); the "full
        authentication" the server may demand sends the password in clear on a secure link, or
        RSA-encrypted to a key the server sends on a plain one: refused there."""

        plugin = CACHING_SHA2

        def authenticate(self, packet: Any) -> Any:
            conn = self.connection
            if password_may_be_sent(conn) or not conn.password:
                return _auth.caching_sha2_password_auth(conn, packet)
            if packet.is_auth_switch_request():
                # The fast path after a switch: scramble with the new nonce (as _auth does).
                salt = packet.read_all()
                conn.salt = salt[:-1] if salt.endswith(b"\0") else salt
                conn.write_packet(_auth.scramble_caching_sha2(conn.password, conn.salt))
                packet = conn._read_packet()
                packet.check_error()
            # Extra auth data: byte 1 is 3 (fast auth succeeded) or 4 (perform full auth).
            if packet.is_extra_auth_data() and packet.get_bytes(1, 1) == b"\x04":
                raise _withhold(conn, self.plugin, "for full authentication")
            return _auth.caching_sha2_password_auth(conn, packet)

    return {
        CLEAR_PASSWORD: Cleartext,
        DIALOG: Dialog,
        SHA256: Sha256,
        CACHING_SHA2: CachingSha2,
    }


def guarded_connection_class() -> type:
    """PyMySQL's Connection, except for one step no ``auth_plugin_map`` handler reaches.

    A server that greets with ``sha256_password`` gets the password in clear inside the very
    first answer whenever TLS is on (``_request_authentication``), before any handler runs,
    and "TLS on" includes PyMySQL's unverified "preferred" TLS and ``ssl_verify=0``. Unless
    the TLS is required and verified (or the link is a unix socket), the greeting's plugin is
    read as ``mysql_native_password``: the first answer is then a challenge-response, and a
    server that insists switches to ``sha256_password``, which the guarded handler refuses.
    """
    import ssl

    from pymysql.connections import Connection

    class GuardedConnection(Connection):
        def _get_server_information(self) -> None:
            super()._get_server_information()  # type: ignore[misc]
            state: Any = self  # PyMySQL's private attributes (typeshed does not list them)
            if state._auth_plugin_name != SHA256 or state.unix_socket:
                return
            context = getattr(state, "ctx", None) if state._ssl_required else None
            if not (
                context is not None
                and context.verify_mode == ssl.CERT_REQUIRED
                and context.check_hostname
            ):
                state._auth_plugin_name = "mysql_native_password"

    return GuardedConnection


def trusted_default_socket(path: str) -> bool:
    """A default socket path (``localhost`` without a port) is used only when nobody but its
    owner could have put it there: a socket in a folder others may write (``/tmp``) must be
    owned by root, by us, or by the ``mysql`` user, else any local user could plant a fake
    server that receives the settings we write (the client secret among them)."""
    try:
        info = os.lstat(path)
        folder = os.stat(os.path.dirname(path) or ".")
    except OSError:
        return False
    if not stat.S_ISSOCK(info.st_mode):
        return False
    if not folder.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return True
    trusted = {0, os.geteuid()}
    try:
        import pwd

        trusted.add(pwd.getpwnam("mysql").pw_uid)
    except (ImportError, KeyError):
        pass
    return info.st_uid in trusted
