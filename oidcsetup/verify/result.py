"""What a probe returns: :class:`ProbeResult` with a stable ``code`` (documented in
docs/check.md, never renamed), and the helpers that build one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    pass


Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class ProbeResult:
    name: str
    status: Status
    code: str
    message: str
    hint: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    unreachable: bool = False  # a network failure: the command exits 4

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            # "_" keys are for the library (e.g. the discovery findings), not the document.
            "details": {k: v for k, v in self.details.items() if not k.startswith("_")},
            "unreachable": self.unreachable,
        }


def passed(name: str, code: str, message: str, **details: Any) -> ProbeResult:
    return ProbeResult(name, "pass", code, message, None, details)


def failed(
    name: str, code: str, message: str, hint: str | None = None, **details: Any
) -> ProbeResult:
    return ProbeResult(name, "fail", code, message, hint, details)


def skipped(name: str, code: str, message: str, hint: str | None = None) -> ProbeResult:
    return ProbeResult(name, "skip", code, message, hint)


def unreachable_result(name: str, url: str, exc: BaseException) -> ProbeResult:
    """A probe's request failed: unreachable (exit 4), or an answer far too large (exit 3)."""
    from oidcsetup.discovery.fetch import FetchInvalid, FetchUnreachable

    if isinstance(exc, FetchInvalid):
        return failed(name, exc.code, exc.message, exc.hint, url=url)
    if isinstance(exc, FetchUnreachable):
        message, hint, cause = exc.message, exc.hint, exc.code
    else:
        message, hint, cause = f"cannot reach {url}: {type(exc).__name__}: {exc}", None, None
    return ProbeResult(
        name,
        "fail",
        f"{name}-unreachable",
        message,
        hint or "check that the provider runs and the URL, network and TLS settings (--ca-bundle)",
        {"url": url, "cause": cause},
        unreachable=True,
    )
