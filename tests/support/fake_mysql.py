"""A hostile MySQL server on loopback: it stands for a rogue server (or a man in the middle)
at the configured database host, which no real server can be made to play faithfully.

It speaks just enough of the MySQL client/server protocol (protocol 10 handshake, optional TLS,
AuthSwitchRequest, caching_sha2/sha256 "send me the password" exchanges) to get a client to
reveal the password, and records what the client sent (after TLS, the decrypted stream):

- ``switch_to="mysql_clear_password"`` / ``"dialog"``: the AuthSwitchRequest a real MariaDB
  with the PAM plugin sends (``tests/test_db_security.py`` shows the real one too);
- ``plugin="caching_sha2_password", full_auth=True``: MySQL 8's "perform full authentication"
  (0x01 0x04); a client that asks for the public key (0x02) gets ours, and what it encrypts
  with it is decrypted into ``recovered``;
- ``plugin="sha256_password"``: the same with sha256_password's key request (0x01).

The server answers each attempt with an ERR packet (1045 access denied) and closes: the client
never gets further than authentication. One connection per ``FakeMySQL``; ``stop()`` ends it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

LONG_PASSWORD = 1
CONNECT_WITH_DB = 8
PROTOCOL_41 = 512
CLIENT_SSL = 2048
TRANSACTIONS = 8192
SECURE_CONNECTION = 1 << 15
PLUGIN_AUTH = 1 << 19
PLUGIN_AUTH_LENENC = 1 << 21


def _xor(data: bytes, salt: bytes) -> bytes:
    return bytes(b ^ salt[i % len(salt)] for i, b in enumerate(data))


@dataclass
class FakeMySQL:
    plugin: str = "mysql_native_password"  # named in the greeting
    switch_to: str | None = None  # AuthSwitchRequest after the handshake response
    switch_data: bytes = b""
    full_auth: bool = False  # caching_sha2_password: demand full authentication
    tls: ssl.SSLContext | None = None  # offer TLS with this server context
    received: list[bytes] = field(default_factory=list)  # every client packet, decrypted
    recovered: bytes | None = None  # a password decrypted from an RSA exchange
    tls_used: bool = False
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.salt = os.urandom(20).replace(b"\0", b"\1")
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self._listener.settimeout(20)
        self.port = int(self._listener.getsockname()[1])
        self._key: Any = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    # --- packets ------------------------------------------------------------------------

    def _read_exact(self, conn: Any, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _read(self, conn: Any) -> bytes:
        header = self._read_exact(conn, 4)
        length = header[0] | header[1] << 8 | header[2] << 16
        self._seq = header[3] + 1
        payload = self._read_exact(conn, length)
        self.received.append(payload)
        return payload

    def _send(self, conn: Any, payload: bytes) -> None:
        conn.sendall(struct.pack("<I", len(payload))[:3] + bytes([self._seq & 0xFF]) + payload)
        self._seq += 1

    def _public_key_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return bytes(
            self._key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def _rsa_exchange(self, conn: Any, salt: bytes) -> None:
        """Send our public key; decrypt the password the client encrypts with it."""
        self._send(conn, b"\x01" + self._public_key_pem())
        self._decrypt(self._read(conn), salt)

    def _decrypt(self, data: bytes, salt: bytes) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        plain = self._key.decrypt(
            data,
            padding.OAEP(
                mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None
            ),
        )
        self.recovered = _xor(plain, salt).rstrip(b"\0")

    # --- the conversation ---------------------------------------------------------------

    def _greeting(self) -> bytes:
        caps = (
            LONG_PASSWORD
            | CONNECT_WITH_DB
            | PROTOCOL_41
            | TRANSACTIONS
            | SECURE_CONNECTION
            | PLUGIN_AUTH
            | PLUGIN_AUTH_LENENC
            | (CLIENT_SSL if self.tls else 0)
        )
        return (
            b"\x0a5.7.99-fake\0"
            + struct.pack("<I", 7)
            + self.salt[:8]
            + b"\0"
            + struct.pack("<H", caps & 0xFFFF)
            + bytes([45])  # utf8mb4_general_ci
            + struct.pack("<H", 2)
            + struct.pack("<H", caps >> 16)
            + bytes([21])
            + b"\0" * 10
            + self.salt[8:]
            + b"\0"
            + self.plugin.encode()
            + b"\0"
        )

    def _serve(self) -> None:
        conn: Any = None
        try:
            conn, _ = self._listener.accept()
            conn.settimeout(10)
            self._seq = 0
            self._send(conn, self._greeting())
            packet = self._read(conn)
            flags = struct.unpack("<I", packet[:4])[0]
            if len(packet) == 32 and flags & CLIENT_SSL and self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
                self.tls_used = True
                self._read(conn)  # the handshake response, now encrypted on the wire
            response = self.received[-1]
            salt, plugin = self.salt, self.plugin
            if self.switch_to:
                plugin, salt = self.switch_to, self.switch_data.rstrip(b"\0") or self.salt
                self._send(conn, b"\xfe" + plugin.encode() + b"\0" + self.switch_data)
                reply = self._read(conn)
                if plugin == "sha256_password" and reply == b"\x01":
                    self._rsa_exchange(conn, salt)
            elif plugin == "sha256_password" and b"sha256_password\0" not in response:
                # The client answered the greeting with another plugin: insist, as MySQL does.
                self._send(conn, b"\xfesha256_password\0" + self.salt + b"\0")
                if self._read(conn) == b"\x01":
                    self._rsa_exchange(conn, salt)
            elif plugin == "sha256_password" and not self.tls_used:
                self._rsa_exchange(conn, salt)  # its first answer asked for our key
            if plugin == "caching_sha2_password" and self.full_auth:
                self._send(conn, b"\x01\x04")  # perform full authentication
                if self._read(conn) == b"\x02":  # the client asks for our public key
                    self._rsa_exchange(conn, salt)
            self._send(conn, b"\xff" + struct.pack("<H", 1045) + b"#28000Access denied (fake)")
            self._read(conn)  # until the client closes
        except (EOFError, OSError):
            pass
        except BaseException as exc:  # pragma: no cover - shown by the test that uses it
            self.error = exc
        finally:
            if conn is not None:
                conn.close()

    def stop(self) -> None:
        self._listener.close()
        self._thread.join(15)

    def __enter__(self) -> FakeMySQL:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def saw(self, secret: bytes) -> bool:
        """True when ``secret`` arrived in clear in any packet, or was decrypted from one."""
        return any(secret in packet for packet in self.received) or self.recovered == secret


class RecordingRelay:
    """A man in the middle on loopback in front of a real server: records what the client
    sends (the bytes that would cross a network). Like a real attacker it removes the TLS
    capability from the server's greeting, so a client that merely *prefers* TLS talks in
    clear (PyMySQL's default) and the recording shows what it says."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.stripped_tls = False
        self.sent = bytearray()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(4)
        self._listener.settimeout(20)
        self.port = int(self._listener.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _strip_tls(self, chunk: bytes) -> bytes:
        """Clear CLIENT_SSL in a protocol-10 greeting (header, version, id, salt, filler)."""
        at = chunk.index(b"\0", 5) + 1 + 4 + 8 + 1
        caps = struct.unpack("<H", chunk[at : at + 2])[0]
        self.stripped_tls = bool(caps & CLIENT_SSL)
        return chunk[:at] + struct.pack("<H", caps & ~CLIENT_SSL) + chunk[at + 2 :]

    def _pump(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        first = not record
        try:
            while chunk := source.recv(65536):
                if record:
                    self.sent += chunk
                if first:
                    chunk, first = self._strip_tls(chunk), False
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _serve(self) -> None:
        try:
            while True:
                client, _ = self._listener.accept()
                server = socket.create_connection(("127.0.0.1", self.target), timeout=10)
                for args in ((client, server, True), (server, client, False)):
                    thread = threading.Thread(target=self._pump, args=args, daemon=True)
                    thread.start()
                    self._threads.append(thread)
        except OSError:
            pass

    def stop(self) -> None:
        self._listener.close()
        self._accept.join(5)
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> RecordingRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
