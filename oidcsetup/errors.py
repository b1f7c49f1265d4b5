"""One exception hierarchy for every user-facing failure.

Each error carries a one-line ``message`` (what is wrong), an optional ``hint`` (how to fix it)
and the process ``exit_code`` the CLI maps it to. A user mistake is always one of these, so the
CLI never shows a traceback for it (``--debug`` shows one anyway).
"""

from __future__ import annotations

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

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(OidcSetupError):
    """Options that contradict each other or are missing (exit 2)."""

    exit_code = ExitCode.USAGE


class InputError(OidcSetupError):
    """Invalid input: a bad value, file or profile (exit 1)."""


class ProfileError(InputError):
    """The integration profile (oidcsetup.toml) is unreadable or invalid."""


class SecretError(InputError):
    """A client secret could not be resolved or is unusable."""


class ValidationError(InputError):
    """Generated or given data breaks a rule of the target system (exit 1)."""


class ApplyError(OidcSetupError):
    """Writing to a target failed; nothing was changed (exit 1)."""


class FindingsError(OidcSetupError):
    """Findings at error level, or drift detected by ``--check`` (exit 3)."""

    exit_code = ExitCode.FINDINGS


class UnreachableError(OidcSetupError):
    """The provider or the database could not be reached (exit 4)."""

    exit_code = ExitCode.UNREACHABLE
