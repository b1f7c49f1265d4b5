"""Kanidm as the OpenID provider: the ``kanidm system oauth2`` commands registering Matomo, and
their validation. Kanidm generates the client secret itself; nothing here handles one."""

from __future__ import annotations

from oidcsetup.providers.kanidm.commands import KanidmClient, build_client, default_group
from oidcsetup.providers.kanidm.validate import validate_client

__all__ = ["KanidmClient", "build_client", "default_group", "validate_client"]
