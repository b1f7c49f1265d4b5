"""The layers' import rules (docs/architecture.md), read off every module's imports: at the top,
inside functions and under ``TYPE_CHECKING`` alike.

- The two sides meet only in the Integration: no provider module (``providers/``, ``register/``)
  imports an app module (``apps/``), and no app module a provider module.
- The library never steps back into the CLI layer: nothing outside ``cli/`` imports ``cli/``.
- No command module imports another command's module: what commands share lives in the
  shared CLI modules below.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import oidcsetup

PACKAGE = Path(oidcsetup.__file__).resolve().parent
# cli/ modules that hold what several commands share (options, prompts, the context, the
# inputs of each side) or only register commands by name (lazily): any cli module may import them.
SHARED_CLI = {"__init__", "appside", "context", "lazy", "options", "prompts", "providerside"}
PROVIDER_SIDE = ("oidcsetup.providers", "oidcsetup.register")
APP_SIDE = ("oidcsetup.apps",)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield module_name(path), path


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, wherever the import statement is."""
    names: set[str] = set()
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                anchor = (package or module_name(path)).split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(rule: str) -> list[str]:
    found = []
    for name, path in modules():
        for target in sorted(imported(path)):
            if not target.startswith("oidcsetup"):
                continue
            if rule == "sides":
                if under(name, PROVIDER_SIDE) and under(target, APP_SIDE):
                    found.append(f"provider module {name} imports app module {target}")
                if under(name, APP_SIDE) and under(target, PROVIDER_SIDE):
                    found.append(f"app module {name} imports provider module {target}")
            elif rule == "library":
                outside = not under(name, ("oidcsetup.cli",)) and name != "oidcsetup.__main__"
                if outside and under(target, ("oidcsetup.cli",)):
                    found.append(f"library module {name} imports {target}")
            elif rule == "commands" and under(name, ("oidcsetup.cli",)):
                parts = target.split(".")
                if len(parts) >= 3 and parts[:2] == ["oidcsetup", "cli"]:
                    other = parts[2]
                    if other not in SHARED_CLI and other != name.split(".")[-1]:
                        found.append(f"command module {name} imports command module {target}")
    return found


@pytest.mark.parametrize("rule", ["sides", "library", "commands"])
def test_import_rule(rule: str) -> None:
    assert violations(rule) == []


def test_the_walk_sees_imports_inside_functions() -> None:
    """The rules above are only as good as the walk: it must see a lazy import (the Integration
    asks the app side for its redirect URIs inside a property) and a TYPE_CHECKING one."""
    assert "oidcsetup.apps.matomo.redirect" in imported(PACKAGE / "integration.py")
    assert "oidcsetup.apps.matomo.database" in imported(PACKAGE / "apps/matomo/safety.py")


def test_a_provider_importing_an_app_module_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule fails on the import it forbids (a copy of the package with one bad line)."""
    import shutil

    copy = tmp_path / "oidcsetup"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    entry = copy / "providers" / "authelia" / "entry.py"
    entry.write_text(
        entry.read_text(encoding="utf-8")
        + "\n\ndef _uris(m):\n    from oidcsetup.apps.matomo.redirect import redirect_uris\n\n"
        "    return redirect_uris(m)\n",
        encoding="utf-8",
    )
    monkeypatch.setitem(globals(), "PACKAGE", copy)
    assert violations("sides") == [
        "provider module oidcsetup.providers.authelia.entry imports app module "
        "oidcsetup.apps.matomo.redirect",
        "provider module oidcsetup.providers.authelia.entry imports app module "
        "oidcsetup.apps.matomo.redirect.redirect_uris",
    ]


def test_the_registry_lists_every_app_and_provider_package_and_their_commands_load() -> None:
    """A package under apps/ or providers/ without its registry line (or a line whose command
    does not load) fails here: the registry is how the gen and apply groups find them."""
    import importlib

    import click

    from oidcsetup.registry import APPS, PROVIDERS, apply_commands, gen_commands

    for kind, listed in (("apps", APPS), ("providers", PROVIDERS)):
        packages = {p.name for p in (PACKAGE / kind).iterdir() if (p / "__init__.py").exists()}
        assert packages == {side.name for side in listed}, kind
        for side in listed:
            importlib.import_module(side.package)
    for target, _help in [*gen_commands().values(), *apply_commands().values()]:
        module, attribute = target.split(":")
        assert isinstance(getattr(importlib.import_module(module), attribute), click.Command)
