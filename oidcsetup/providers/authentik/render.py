"""The blueprint as YAML, authentik's custom tags (``!Find``, ``!KeyOf``, ``!Env``) included."""

from __future__ import annotations

from typing import Any

from oidcsetup.providers.authentik.blueprint import Blueprint, Env, Find, KeyOf
from oidcsetup.providers.yamlroundtrip import dump


def to_nodes(value: Any) -> Any:
    """Plain values and our tag markers as ruamel round-trip nodes."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar

    if isinstance(value, Find):
        inner = CommentedSeq([value.field, value.value])
        inner.fa.set_flow_style()
        outer = CommentedSeq([value.model, inner])
        outer.fa.set_flow_style()
        outer.yaml_set_ctag(_tag("!Find"))
        return outer
    if isinstance(value, KeyOf):
        return TaggedScalar(value.entry_id, tag="!KeyOf")
    if isinstance(value, Env):
        return TaggedScalar(value.name, tag="!Env")
    if isinstance(value, dict):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = to_nodes(item)
        return node
    if isinstance(value, list):
        return CommentedSeq([to_nodes(item) for item in value])
    return value


def _tag(name: str) -> Any:
    from ruamel.yaml.tag import Tag

    return Tag(suffix=name)


def render_blueprint(blueprint: Blueprint) -> str:
    header = (
        "# yaml-language-server: $schema=https://goauthentik.io/blueprints/schema.json\n"
        f"# Written by oidcsetup: Matomo's {blueprint.plugin_title} as an OAuth2 provider and "
        "application.\n"
    )
    return header + dump(to_nodes(blueprint.document()))
