"""``oidcsetup secret``: generate a client secret, digest it for Authelia, verify a digest."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import algorithm_option
from oidcsetup.cli.prompts import prompt_client_secret
from oidcsetup.constants import SECRET_ENV
from oidcsetup.errors import SecretError
from oidcsetup.secretref import secret_from_text


def read_secret(*, confirm: bool) -> tuple[str, str]:
    """The plaintext secret for ``hash``/``verify`` and where it came from.

    Piped stdin wins (an explicit pipe is the clearest intent); then $OIDCSETUP_CLIENT_SECRET;
    then a hidden prompt when stdin is a terminal. Stdin follows the rule of a secret file
    (``secret_from_text``): one trailing newline is removed, several lines are refused.
    """
    stdin = sys.stdin
    interactive = bool(stdin) and stdin.isatty()
    from_env = os.environ.get(SECRET_ENV)
    if not interactive and stdin is not None and (not from_env or _stdin_has_input(stdin)):
        data = stdin.read()
        if data:  # the rule of a secret file (secretref.secret_from_text): one line
            return secret_from_text(data, "stdin"), "stdin"
    if from_env:
        return from_env, f"env:{SECRET_ENV}"
    if interactive:
        value = prompt_client_secret(confirm)
        if value:
            return value, "prompt"
    raise SecretError(
        "no client secret given",
        hint=f'pipe it on stdin (printf %s "$SECRET" | oidcsetup secret ...), or set {SECRET_ENV}',
    )


def _stdin_has_input(stdin: Any, wait: float = 0.5) -> bool:
    """Whether stdin has data or end-of-file ready soon; False for an idle inherited pipe.

    With $OIDCSETUP_CLIENT_SECRET set, a CI runner's stdin that stays open and silent must not
    make the command wait forever: the variable is used instead.
    """
    import select

    try:
        readable, _, _ = select.select([stdin], [], [], wait)
    except (OSError, ValueError, TypeError):  # no real file descriptor (e.g. a test runner)
        return True
    return bool(readable)


@click.group(
    "secret",
    epilog="""\b
Examples:
  oidcsetup secret generate > matomo.secret && chmod 600 matomo.secret
  oidcsetup secret hash < matomo.secret
  oidcsetup secret hash --algorithm argon2id < matomo.secret
  oidcsetup secret verify '$pbkdf2-sha512$310000$...' < matomo.secret && echo match
""",
)
def secret_group() -> None:
    """Client secrets: generate one, digest it for Authelia, verify a digest."""


@secret_group.command(
    "generate",
    epilog="""\b
Examples:
  oidcsetup secret generate
  oidcsetup secret generate --length 96 > matomo.secret
""",
)
@click.option(
    "--length",
    type=click.IntRange(1, 4096),
    default=72,
    show_default=True,
    help="Number of characters (RFC 3986 unreserved: A-Z a-z 0-9 - . _ ~).",
)
@click.pass_obj
def generate_command(app: AppContext, length: int) -> None:
    """Print a new random client secret on stdout."""
    from oidcsetup.secrets import RECOMMENDED_MIN_LENGTH, generate_secret

    if length < RECOMMENDED_MIN_LENGTH:
        app.output.warn(
            f"a {length}-character secret is weak",
            hint=f"use at least {RECOMMENDED_MIN_LENGTH} characters (72 is Authelia's advice)",
            code="weak-secret",
        )
    value = generate_secret(length)
    if app.json_mode:
        app.output.json({"secret": value, "length": length})
    else:
        app.output.raw(value + "\n")


@secret_group.command(
    "hash",
    epilog="""\b
Examples:
  oidcsetup secret hash < matomo.secret
  printf %s "$SECRET" | oidcsetup secret hash --algorithm argon2id
  OIDCSETUP_CLIENT_SECRET=... oidcsetup secret hash

\b
The secret is read from stdin when it is piped, else from $OIDCSETUP_CLIENT_SECRET, else from
a hidden prompt. The digest goes on stdout; paste it as Authelia's client_secret.
""",
)
@algorithm_option("Digest format (Authelia's defaults for each).")
@click.pass_obj
def hash_command(app: AppContext, algorithm: str) -> None:
    """Print the Authelia digest of a client secret."""
    from oidcsetup.secrets import hash_secret

    secret, source = read_secret(confirm=True)
    digest = hash_secret(secret, algorithm)
    if app.json_mode:
        app.output.json({"algorithm": algorithm, "digest": digest, "source": source})
    else:
        app.output.raw(digest + "\n")


@secret_group.command(
    "verify",
    epilog="""\b
Examples:
  oidcsetup secret verify '$pbkdf2-sha512$310000$...' < matomo.secret
  printf %s "$SECRET" | oidcsetup secret verify "$(yq '.identity_providers.oidc.clients[0].client_secret' configuration.yml)"

\b
Exit status: 0 when the secret matches the digest, 1 when it does not (or the digest cannot
be checked: bcrypt, scrypt and sha2crypt digests are not supported).
""",
)
@click.argument("digest")
@click.pass_obj
def verify_command(app: AppContext, digest: str) -> None:
    """Check a client secret (stdin) against an Authelia digest."""
    from oidcsetup.secrets import digest_scheme, verify_secret

    digest = digest.strip()
    scheme = digest_scheme(digest)
    if not digest.startswith("$"):
        app.output.warn(
            "the digest does not start with '$': compared as a plaintext secret, as Authelia does",
            code="plaintext-digest",
        )
    secret, source = read_secret(confirm=False)
    match = verify_secret(secret, digest)
    if app.json_mode:
        app.output.json({"match": match, "scheme": scheme, "source": source})
    else:
        app.output.info(f"{'match' if match else 'no match'} ({scheme})")
    if not match:
        raise click.exceptions.Exit(1)
