"""The per-invocation state every command receives (``click.pass_obj``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oidcsetup.constants import DEFAULT_PROFILE, PROFILE_ENV
from oidcsetup.http import NetworkOptions
from oidcsetup.output import Output

if TYPE_CHECKING:
    from oidcsetup.integration import Integration


@dataclass
class AppContext:
    profile: Path
    profile_given: bool = False
    json_mode: bool = False
    debug: bool = False
    network: NetworkOptions = field(default_factory=NetworkOptions)
    output: Output = field(default_factory=Output)

    def profile_values(self) -> dict[str, Any]:
        """The profile's values; a missing default profile is empty, a missing named one an error."""
        from oidcsetup.profile import load_profile

        return load_profile(self.profile, required=self.profile_given)

    def integration(self, overrides: Mapping[str, Any] | None = None) -> Integration:
        """The Integration: overrides (flags, environment) over the profile.

        When the overrides name another provider (issuer or preset) than the profile's, the
        endpoints saved in the profile are left out, with a note on stderr.
        """
        from oidcsetup.integration import build_integration, drop_stale_endpoints

        values, moved = drop_stale_endpoints(self.profile_values(), overrides or {})
        self.note_stale_endpoints(moved)
        return build_integration(values, overrides)

    def note_stale_endpoints(self, moved: str | None) -> None:
        """Say on stderr that the profile's endpoints were left out (see drop_stale_endpoints)."""
        if moved:
            self.output.info(
                f"note: {moved.removeprefix('provider.')} differs from the profile's, so the "
                "endpoints saved in the profile are not used"
            )


def make_context(
    profile: str | None,
    json_mode: bool,
    debug: bool,
    ca_bundle: str | None,
    insecure: bool,
) -> AppContext:
    return AppContext(
        profile=Path(profile or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE),
        profile_given=bool(profile),
        json_mode=json_mode,
        debug=debug,
        network=NetworkOptions(ca_bundle=ca_bundle, insecure=insecure),
        output=Output(json_mode=json_mode),
    )
