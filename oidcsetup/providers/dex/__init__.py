"""Dex as the OpenID provider: a ``staticClients`` entry for Matomo (``secretEnv``, never a
plaintext secret), its validation, and the merge into the Dex config the user keeps."""

from __future__ import annotations

from oidcsetup.providers.dex.client import DexClient, build_client, default_secret_env
from oidcsetup.providers.dex.merge import DexMerge, plan_dex_merge, write_dex_merge
from oidcsetup.providers.dex.render import render_entry
from oidcsetup.providers.dex.validate import validate_client

__all__ = [
    "DexClient",
    "DexMerge",
    "build_client",
    "default_secret_env",
    "plan_dex_merge",
    "render_entry",
    "validate_client",
    "write_dex_merge",
]
