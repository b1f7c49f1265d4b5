"""One exception hierarchy for every user-facing failure.

Each error carries a one-line ``message`` (what is wrong), an optional ``hint`` (how to fix it),
a stable ``code`` for scripts (the ``--json`` error document's ``error.code``; a subclass or an
instance may be more precise) and the process ``exit_code`` the CLI maps it to. A user mistake is always one of these, so the
CLI never shows a traceback for it (``--debug`` shows one anyway).
"""

from __future__ import annotations

import signal
from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes (README, "Exit codes")."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    FINDINGS = 3
    UNREACHABLE = 4


class OidcSetupError(Exception):
    """Base class: a failure to report to the user as one line plus a hint."""

    exit_code: ExitCode = ExitCode.FAILURE
    code: str = "failure"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(OidcSetupError):
    """Options that contradict each other or are missing (exit 2)."""

    code = "usage"
    exit_code = ExitCode.USAGE


class InputError(OidcSetupError):
    """Invalid input: a bad value, file or profile (exit 1)."""

    code = "invalid-input"


class ProfileError(InputError):
    """The integration profile (oidcsetup.toml) is unreadable or invalid."""

    code = "invalid-profile"


class SecretError(InputError):
    """A client secret could not be resolved or is unusable."""

    code = "secret-unusable"


class ValidationError(InputError):
    """Generated or given data breaks a rule of the target system (exit 1)."""

    code = "invalid-value"


class ApplyError(OidcSetupError):
    """Writing to a target failed; nothing was changed (exit 1)."""

    code = "apply-failed"


class FindingsError(OidcSetupError):
    """Findings at error level, or drift detected by ``--check`` (exit 3)."""

    code = "findings"
    exit_code = ExitCode.FINDINGS


class UnreachableError(OidcSetupError):
    """The provider or the database could not be reached (exit 4)."""

    code = "unreachable"
    exit_code = ExitCode.UNREACHABLE


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT, SIGTERM): exit 128 + the signal's number.

    A KeyboardInterrupt, so that whatever cleans up after Ctrl-C (a rolled-back transaction, a
    removed temporary file) cleans up after a termination request the same way.
    """

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum
