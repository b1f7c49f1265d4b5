"""Validate a ``--json`` document against its command's JSON Schema in docs/schemas/."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


@cache
def _validators() -> dict[str, Any]:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = {
        p.name.removesuffix(".schema.json"): json.loads(p.read_text())
        for p in SCHEMAS.glob("*.schema.json")
    }
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    validators = {}
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)
        validators[name] = Draft202012Validator(schema, registry=registry)
    # Before a command is known (`oidcsetup --json nosuch`): the shared error document.
    failure = {"$ref": schemas["common"]["$id"] + "#/$defs/failure"}
    validators["failure"] = Draft202012Validator(failure, registry=registry)
    return validators


def schema_names() -> list[str]:
    """The schema files (common, discover, ...), by name."""
    return sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json"))


def validate(document: Any, command: str) -> None:
    """Raise jsonschema's ValidationError unless ``document`` follows ``command``'s schema."""
    _validators()[command].validate(document)
