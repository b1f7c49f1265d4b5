"""The ``staticClients`` entry as YAML to paste."""

from __future__ import annotations

from oidcsetup.providers.dex.client import DexClient
from oidcsetup.providers.yamlroundtrip import dump, plain_nodes


def render_entry(client: DexClient) -> str:
    return dump(plain_nodes({"staticClients": [client.entry]}))
