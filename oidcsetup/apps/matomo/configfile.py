"""The config-file target: Matomo's ``config/config.ini.php``, edited in place.

What is changed: the ``[LoginOIDC]`` section's keys (added, updated, with ``prune`` removed) and,
with ``activate``, one ``Plugins[] = "LoginOIDC"`` line (never ``PluginsInstalled[]``: see
``_activate``).
Every other byte (the ``; <?php exit; ?>`` first line, comments, blank lines, order, line
endings, the way other values are quoted) stays as it was. Values are encoded as Matomo encodes
them (inifile.py), so PHP + html_entity_decode reads back exactly the desired value.

A config-file value overrides the database in Matomo (``SystemSetting``): the plugin then hides
that setting in its UI.

Plugin activation and global.ini.php: Matomo merges ``config.ini.php`` over ``global.ini.php``
section by section, and a key of the local file replaces the whole key of the global one
(``IniFileChain::mergeFileSettings``). So a ``Plugins[]`` list in config.ini.php must name every
active plugin. When the local file has the list (Matomo writes it there once any plugin is
(de)activated), LoginOIDC is appended to it. When it has none, the list of ``global.ini.php``
beside the file is copied and LoginOIDC appended; without a readable global.ini.php the tool
refuses rather than guess. Not considered: ``common.config.ini.php``, environment-specific
configs (``config/environment/*.php``) and plugins activated by other means. Activation in the
file does not create the plugin's table by itself: Matomo's next web request installs the plugin
(a ``./console`` command does not).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from oidcsetup.apps.matomo.inifile import (
    IniDocument,
    IniEntry,
    IniValue,
    encode_value,
    html_entity_decode_compat,
    parse_ini,
)
from oidcsetup.apps.matomo.plan import Action, Change, Plan, diff_settings
from oidcsetup.apps.matomo.plugins import LOGIN_OIDC, PLUGINS_BY_MODULE, MatomoPlugin
from oidcsetup.apps.matomo.render import encode_setting
from oidcsetup.apps.matomo.settings import (
    SECRET_SETTING,
    EnvRef,
    SettingValue,
    coerce_stored,
    stored_form,
)
from oidcsetup.errors import ApplyError, InputError
from oidcsetup.fileio import DEFAULT_KEEP_BACKUPS, TargetFile, open_target, resolve_target

HEADER_RE = re.compile(r"\A\ufeff?;\s*<\?php\s+exit;?\s*\?>")
HEADER_LINE = "; <?php exit; ?> DO NOT REMOVE THIS LINE"
_MATOMO_SECTIONS = {"database", "General", "Plugins", "PluginsInstalled", "mail", "Tracker"}


# --- the [database] section (for the database target) ---------------------------------------


@dataclass(frozen=True)
class DatabaseConfig:
    """Matomo's ``[database]`` section; ``port = /path`` means a unix socket (core/Db/Adapter.php)."""

    host: str = ""
    port: int = 3306
    unix_socket: str | None = None
    username: str = ""
    password: str = ""
    dbname: str = ""
    tables_prefix: str = ""
    charset: str | None = None
    collation: str | None = None
    adapter: str | None = None
    enable_ssl: bool = False
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    ssl_ca_path: str | None = None
    ssl_cipher: str | None = None
    ssl_no_verify: bool = False
    # ${NAME} references found in the section, expanded from the environment as PHP does.
    env_refs: tuple[str, ...] = ()

    def to_json(self, show_secrets: bool = False) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items()}
        data["env_refs"] = list(self.env_refs)
        if not show_secrets:
            data["password"] = "********" if self.password else ""
        return data


@dataclass(frozen=True)
class PluginState:
    """The plugin's activation as the config files say (the table is the database's business)."""

    plugins: tuple[str, ...] | None  # the local Plugins[] list, None when absent
    installed: tuple[str, ...] | None  # the local PluginsInstalled[] list
    effective_plugins: tuple[str, ...] | None  # local list, else global.ini.php's
    effective_installed: tuple[str, ...] | None
    module: str = LOGIN_OIDC.module  # the plugin this state is about

    @property
    def activated(self) -> bool:
        return self.module in (self.effective_plugins or ())

    @property
    def installed_flag(self) -> bool:
        return self.module in (self.effective_installed or ())

    def to_json(self) -> dict[str, Any]:
        return {
            "activated": self.activated,
            "installed": self.installed_flag,
            "plugins_list_in_config": self.plugins is not None,
            "plugins_installed_list_in_config": self.installed is not None,
        }


# --- reading ---------------------------------------------------------------------------------


@dataclass
class MatomoConfig:
    path: Path
    data: bytes
    text: str
    document: IniDocument
    resolved: Path | None = None  # where ``path`` resolved to when it was loaded
    # The login plugin whose section this file is read and written for (plugins.py).
    plugin: MatomoPlugin = LOGIN_OIDC

    @classmethod
    def parse(cls, data: bytes, path: Path | str = "config.ini.php") -> MatomoConfig:
        path = Path(path)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(
                f"{path} is not UTF-8 text, so it is not a Matomo config file",
                hint="point --config at Matomo's config/config.ini.php",
            ) from None
        if not HEADER_RE.match(text):
            raise InputError(
                f"{path} is not a Matomo config file: its first line is not '{HEADER_LINE}'",
                hint="point --config at Matomo's config/config.ini.php",
            )
        document = parse_ini(text, where=str(path))
        names = {s.name for s in document.sections}
        if not names & (_MATOMO_SECTIONS | set(PLUGINS_BY_MODULE)):
            raise InputError(
                f"{path} has the PHP guard line but none of Matomo's sections "
                "([database], [General], [Plugins])",
                hint="point --config at Matomo's config/config.ini.php",
            )
        return cls(path=path, data=data, text=text, document=document)

    @classmethod
    def load(cls, path: Path | str) -> MatomoConfig:
        """Read and parse the file; a symlink is resolved once (``resolved``), then not followed."""
        path = Path(path)
        if path.is_dir():
            raise InputError(f"{path} is a folder", hint="give the file config/config.ini.php")
        try:
            with open_target(path) as target:
                data = target.read()
                resolved = target.path
        except ApplyError as exc:  # a read error is a problem of the input, not of a write
            raise InputError(exc.message, exc.hint) from None
        if data is None:
            raise _missing(path)
        config = cls.parse(data, path)
        config.resolved = resolved
        return config

    # -- [LoginOIDC] / [RebelOIDC]

    def for_plugin(self, plugin: MatomoPlugin) -> MatomoConfig:
        """This file, read and written for ``plugin``'s section."""
        return replace(self, plugin=plugin)

    def login_oidc_values(self) -> dict[str, IniValue]:
        """The plugin's section (``[LoginOIDC]`` or ``[RebelOIDC]``) as PHP reads it."""
        return self.document.values(self.plugin.module)

    def current_settings(self) -> dict[str, str]:
        """The plugin's section as Matomo reads it, in stored form (bools "0"/"1"; ${NAME} kept)."""
        return {
            name: coerce_stored(name, value.decoded, self.plugin)
            for name, value in self.login_oidc_values().items()
        }

    # -- [database]

    def database(self, environ: Mapping[str, str] | None = None) -> DatabaseConfig:
        """The [database] section, decoded, ${NAME} expanded from ``environ`` (default os.environ).

        Keys absent from config.ini.php take global.ini.php's defaults (port 3306, no prefix).
        """
        env = os.environ if environ is None else environ
        values = self.document.values("database")
        if not values:
            raise InputError(
                f"{self.path} has no [database] section",
                hint="give the database with --dsn or OIDCSETUP_DB_* instead",
            )
        refs: list[str] = []

        def get(key: str) -> str | None:
            value = values.get(key)
            if value is None:
                return None
            refs.extend(value.env_refs)
            text = value.text
            for name in value.env_refs:
                text = text.replace("${" + name + "}", env.get(name, ""))
            return html_entity_decode_compat(text)

        def flag(key: str) -> bool:
            return (get(key) or "") not in ("", "0")

        port_text = (get("port") or "").strip()
        port = 3306
        socket: str | None = get("unix_socket") or None
        if port_text.startswith("/"):
            socket = port_text
        elif port_text:
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise InputError(
                    f"{self.path}: [database] port {port_text!r} is neither a port number nor "
                    "a socket path"
                )
            port = int(port_text)
        return DatabaseConfig(
            host=get("host") or "",
            port=port,
            unix_socket=socket,
            username=get("username") or "",
            password=get("password") or "",
            dbname=get("dbname") or "",
            tables_prefix=get("tables_prefix") or "",
            charset=get("charset"),
            collation=get("collation"),
            adapter=get("adapter"),
            enable_ssl=flag("enable_ssl"),
            ssl_ca=get("ssl_ca") or None,
            ssl_cert=get("ssl_cert") or None,
            ssl_key=get("ssl_key") or None,
            ssl_ca_path=get("ssl_ca_path") or None,
            ssl_cipher=get("ssl_cipher") or None,
            ssl_no_verify=flag("ssl_no_verify"),
            env_refs=tuple(dict.fromkeys(refs)),
        )

    # -- [Plugins] / [PluginsInstalled]

    def plugin_state(self, global_ini: Path | None = None) -> PluginState:
        plugins = self.document.array("Plugins", "Plugins")
        installed = self.document.array("PluginsInstalled", "PluginsInstalled")
        eff_plugins, eff_installed = plugins, installed
        if plugins is None or installed is None:
            global_doc = _read_global(global_ini or self.path.parent / "global.ini.php")
            if global_doc is not None:
                if eff_plugins is None:
                    eff_plugins = global_doc.array("Plugins", "Plugins")
                if eff_installed is None:
                    eff_installed = global_doc.array("PluginsInstalled", "PluginsInstalled")
        return PluginState(
            plugins=tuple(plugins) if plugins is not None else None,
            installed=tuple(installed) if installed is not None else None,
            effective_plugins=tuple(eff_plugins) if eff_plugins is not None else None,
            effective_installed=tuple(eff_installed) if eff_installed is not None else None,
            module=self.plugin.module,
        )


def _missing(path: Path) -> InputError:
    return InputError(
        f"Matomo config file {path} does not exist",
        hint="give the path of config/config.ini.php inside Matomo's folder",
    )


def _read_target(target: TargetFile, path: Path) -> bytes:
    """The file's bytes under the writer's lock (remembered for the check before the rename)."""
    target.requested = path
    data = target.read()
    if data is None:
        raise _missing(path)
    return data


def _read_global(path: Path) -> IniDocument | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        return parse_ini(text, where=str(path))
    except InputError:
        return None


# --- planning -----------------------------------------------------------------------------------


def _desired_stored(desired: Mapping[str, SettingValue]) -> dict[str, str]:
    return {name: stored_form(value) for name, value in desired.items()}


def plan_config(
    config: MatomoConfig,
    desired: Mapping[str, SettingValue],
    *,
    prune: bool = False,
) -> Plan:
    """Each desired setting as added/changed/unchanged; with ``prune`` the others as removed.

    A value is unchanged when Matomo would read the same thing, whatever its spelling in the file
    (``1`` or ``"1"``, quoting, entities). An environment reference and a literal value that
    happen to read alike (``${X}`` vs ``&#36;{X}``) differ. ``prune`` never removes clientSecret
    when no secret is desired (it is then unmanaged, not unwanted).
    """
    current_values = config.login_oidc_values()
    current = config.current_settings()
    if prune and SECRET_SETTING not in desired:
        current = {k: v for k, v in current.items() if k != SECRET_SETTING}
    plan = diff_settings(
        current, _desired_stored(desired), prune=prune, target=f"config:{config.path}"
    )
    changes: list[Change] = []
    for change in plan.changes:
        if change.action is Action.UNCHANGED:
            want_ref = isinstance(desired.get(change.setting), EnvRef)
            have = current_values.get(change.setting)
            have_ref = have is not None and have.is_env_reference
            if want_ref != have_ref:
                change = replace(change, action=Action.CHANGE)
        changes.append(change)
    return Plan(target=plan.target, changes=tuple(changes))


@dataclass(frozen=True)
class Activation:
    """What ``activate`` does to the plugin lists, for the report."""

    already_active: bool
    added_to: tuple[str, ...] = ()  # "Plugins" (PluginsInstalled is Matomo's own record)
    copied_from_global: tuple[str, ...] = ()
    note: str = (
        "Matomo installs LoginOIDC (creates its loginoidc_provider table) on its next web "
        "request: open any Matomo page once before the first OIDC login"
    )

    def to_json(self) -> dict[str, Any]:
        return {
            "already_active": self.already_active,
            "added_to": list(self.added_to),
            "copied_from_global": list(self.copied_from_global),
            "note": self.note,
        }


# --- rendering the new file ---------------------------------------------------------------------


def _eol(lines: list[str]) -> str:
    crlf = sum(1 for line in lines if line.endswith("\r\n"))
    lf = sum(1 for line in lines if line.endswith("\n") and not line.endswith("\r\n"))
    return "\r\n" if crlf > lf else "\n"


@dataclass
class _Edit:
    replace: dict[int, str] = field(default_factory=dict)  # first line of an entry -> new text
    delete: set[int] = field(default_factory=set)
    after: dict[int, list[str]] = field(default_factory=dict)  # insert after line index
    tail: list[str] = field(default_factory=list)

    def drop(self, entry: IniEntry) -> None:
        self.delete.update(range(entry.start, entry.end + 1))

    def substitute(self, entry: IniEntry, text: str) -> None:
        self.drop(entry)
        self.delete.discard(entry.start)
        self.replace[entry.start] = text

    def insert_after(self, index: int, text: str) -> None:
        self.after.setdefault(index, []).append(text)

    def apply(self, lines: list[str]) -> str:
        out: list[str] = []
        start: list[str] = self.after.get(-1, [])
        out.extend(start)
        for i, line in enumerate(lines):
            if i in self.replace:
                out.append(self.replace[i])
            elif i not in self.delete:
                out.append(line)
            out.extend(self.after.get(i, []))
        out.extend(self.tail)
        return "".join(out)


def _section_end(document: IniDocument, section_index: int) -> int:
    """Index of the last line belonging to a section's entries (or its header)."""
    section = document.sections[section_index]
    if section.entries:
        return section.entries[-1].end
    return section.header


def render_config(
    config: MatomoConfig,
    desired: Mapping[str, SettingValue],
    *,
    prune: bool = False,
    activate: bool = False,
    global_ini: Path | None = None,
) -> tuple[str, Activation | None]:
    """The new file text, and what activation did (None without ``activate``)."""
    document = config.document
    lines = list(document.lines)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += _eol(lines)  # only the final line may lack an ending; give it one
        document = replace(document, lines=lines)
    eol = _eol(lines)
    edit = _Edit()
    plan = plan_config(config, desired, prune=prune)
    pending = {c.setting: c for c in plan.pending}

    # Only the last [LoginOIDC] counts: PHP drops earlier ones whole (IniDocument.section).
    # Our keys in earlier, dead sections are removed so that nobody mistakes them for live.
    module = config.plugin.module
    oidc_indexes = [i for i, s in enumerate(document.sections) if s.name == module][-1:]
    live: dict[str, list[IniEntry]] = {}
    dead: dict[str, list[IniEntry]] = {}
    for section in document.sections_named(module):
        into = live if section is document.section(module) else dead
        for entry in section.entries:
            into.setdefault(entry.key, []).append(entry)

    new_lines: list[str] = []
    for name, change in pending.items():
        existing = live.get(name, [])
        for entry in dead.get(name, []):
            edit.drop(entry)
        if change.action is Action.REMOVE:
            for entry in existing:
                edit.drop(entry)
            continue
        line = f"{name} = {encode_setting(desired[name])}{eol}"
        if existing:
            # The last one is what PHP reads; earlier duplicates are dead and go away.
            for entry in existing[:-1]:
                edit.drop(entry)
            edit.substitute(existing[-1], line)
        else:
            new_lines.append(line)
    if new_lines:
        if oidc_indexes:
            at = _section_end(document, oidc_indexes[-1])
            for line in new_lines:
                edit.insert_after(at, line)
        else:
            block = []
            if lines and lines[-1].strip():
                block.append(eol)
            block.append(f"[{module}]{eol}")
            block.extend(new_lines)
            edit.tail.extend(block)

    activation: Activation | None = None
    if activate:
        activation = _activate(config, document, edit, eol, global_ini)
    if not (edit.replace or edit.delete or edit.after or edit.tail):
        return config.text, activation
    return edit.apply(lines), activation


def _activate(
    config: MatomoConfig,
    document: IniDocument,
    edit: _Edit,
    eol: str,
    global_ini: Path | None,
) -> Activation:
    """Add LoginOIDC to ``[Plugins] Plugins[]`` only, never to ``[PluginsInstalled]``.

    ``PluginsInstalled[]`` is Matomo's record that a plugin's install step (which creates
    ``loginoidc_provider``) has run. Written by hand it makes Matomo skip that step forever
    (tried on Matomo 5.1.2: the table is never created and ``./console plugin:activate``
    answers "already activated"). With the ``Plugins[]`` line alone, Matomo installs the
    plugin on its next web request and records it there itself.
    """
    plugin = config.plugin
    state = config.plugin_state(global_ini)
    if state.effective_plugins is not None and plugin.module in state.effective_plugins:
        return Activation(already_active=True, note=_install_note(plugin))
    section_name = "Plugins"
    line = f"{section_name}[] = {encode_value(plugin.module)}{eol}"
    if state.plugins is not None:
        last = None
        for section in document.sections_named(section_name):
            for entry in section.entries:
                if entry.key == section_name and entry.array:
                    last = entry
        assert last is not None
        edit.insert_after(last.end, line)
        return Activation(
            already_active=False, added_to=(section_name,), note=_install_note(plugin)
        )
    if state.effective_plugins is None:
        where = global_ini or config.path.parent / "global.ini.php"
        raise ApplyError(
            f"{config.path} has no {section_name}[] list and {where} cannot be read, "
            "so a complete list cannot be written (a partial list would deactivate "
            "every other plugin)",
            hint=f"run ./console plugin:activate {plugin.module} in Matomo's folder instead, "
            "or apply without --activate",
        )
    # The local key replaces global.ini.php's whole list: write all of it, LoginOIDC last.
    body = [
        f"{section_name}[] = {encode_value(name)}{eol}"
        for name in (*state.effective_plugins, plugin.module)
    ]
    sections = document.sections_named(section_name)
    if sections:
        at = _section_end(document, document.sections.index(sections[-1]))
        for text in body:
            edit.insert_after(at, text)
    else:
        if edit.tail or (document.lines and document.lines[-1].strip()):
            edit.tail.append(eol)
        edit.tail.append(f"[{section_name}]{eol}")
        edit.tail.extend(body)
    return Activation(
        already_active=False,
        added_to=(section_name,),
        copied_from_global=(section_name,),
        note=_install_note(plugin),
    )


def _install_note(plugin: MatomoPlugin) -> str:
    return (
        f"Matomo installs {plugin.module} (creates its {plugin.provider_table} table) on its next "
        "web request: open any Matomo page once before the first OIDC login"
    )


# --- applying -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigApplyResult:
    plan: Plan
    written: bool
    backup: Path | None
    activation: Activation | None
    path: Path
    # ${NAME} references of the file kept over the plain value asked for (keep_env_references)
    kept_references: tuple[str, ...] = ()

    def to_json(self, show_secrets: bool = False) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "plan": self.plan.to_json(show_secrets),
            "written": self.written,
            "backup": str(self.backup) if self.backup else None,
            "activation": self.activation.to_json() if self.activation else None,
            "kept_references": list(self.kept_references),
        }


def _check_writable(target: TargetFile) -> None:
    """Refuse, naming the cause, when the file cannot be replaced (before any backup is made)."""
    path = target.requested
    st = target.stat()
    if st is None:
        raise ApplyError(f"{path} disappeared while it was being updated; nothing was written")
    flags = _inode_flags(target)
    if flags & (_FS_IMMUTABLE_FL | _FS_APPEND_FL):
        kind = "immutable" if flags & _FS_IMMUTABLE_FL else "append-only"
        letter = "i" if flags & _FS_IMMUTABLE_FL else "a"
        raise ApplyError(
            f"{path} is marked {kind} (chattr +{letter}); nothing was changed",
            hint=f"if it should be changed, run chattr -{letter} {path} as root first",
        )
    if os.fstatvfs(target.dir_fd).f_flag & os.ST_RDONLY:
        raise ApplyError(
            f"{path} is on a read-only file system; nothing was changed",
            hint="apply where the file is writable (a read-only copy is enough for --check)",
        )
    mode = st.st_mode
    if not mode & 0o222 or not os.access(target.name, os.W_OK, dir_fd=target.dir_fd):
        raise ApplyError(
            f"{path} is read-only (mode {mode & 0o777:04o}); nothing was changed",
            hint="make it writable for this user (e.g. chmod u+w), or run as the file's owner",
        )


# linux/fs.h: FS_IOC_GETFLAGS and the inode flags chattr sets (+i, +a).
_FS_IOC_GETFLAGS = 0x80086601
_FS_IMMUTABLE_FL = 0x00000010
_FS_APPEND_FL = 0x00000020


def _inode_flags(target: TargetFile) -> int:
    """The file's chattr flags (0 where the file system has none, e.g. tmpfs before Linux 6.0)."""
    import array
    import fcntl

    try:
        fd = os.open(target.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=target.dir_fd)
    except OSError:
        return 0
    try:
        buf = array.array("i", [0])  # the kernel reads and writes an int here
        fcntl.ioctl(fd, _FS_IOC_GETFLAGS, buf, True)
        return int(buf[0])
    except OSError:
        return 0
    finally:
        os.close(fd)


def _refuse_global_ini(path: Path, resolved: Path) -> None:
    if resolved.name == "global.ini.php" or path.name == "global.ini.php":
        raise InputError(
            f"{path} is Matomo's global.ini.php, which Matomo replaces on every upgrade",
            hint="give config/config.ini.php (in the same folder) instead",
        )


def apply_config(
    path: Path | str,
    desired: Mapping[str, SettingValue],
    *,
    prune: bool = False,
    activate: bool = False,
    dry_run: bool = False,
    global_ini: Path | None = None,
    lock_timeout: float = 10.0,
    current: MatomoConfig | None = None,
    keep_backups: int | None = DEFAULT_KEEP_BACKUPS,
    plugin: MatomoPlugin | None = None,
) -> ConfigApplyResult:
    """Read, plan and (unless ``dry_run`` or in sync) write config.ini.php, under a lock.

    The write is atomic (temp file, fsync, rename) with the file's mode and owner and a
    timestamped backup of the old content (the newest ``keep_backups`` are kept). A symlinked
    config is resolved once, before it is read; then nothing is followed (fileio.py).
    Nothing is written, and no backup made, when nothing would change. ``dry_run`` needs
    read access only: no lock is taken and nothing is created.

    ``current`` is the file as the caller already read it (``MatomoConfig.load(path)``): it is
    planned from instead of parsing the file again. The file is read again under the lock and
    checked once more right before the rename: the write refuses when anyone changed it since.

    A ``clientSecret = "${NAME}"`` already in the file is kept when a plain secret is desired
    (the reference is the user's choice): see ``ConfigApplyResult.kept_references``.
    ``plugin`` is the login plugin whose section is written (default: ``current``'s, else
    Login OIDC).
    """
    path = Path(path)
    plugin = plugin or (current.plugin if current is not None else LOGIN_OIDC)
    resolved = current.resolved if current is not None and current.resolved else None
    resolved = resolved or resolve_target(path)
    _refuse_global_ini(path, resolved)
    if dry_run:
        config = replace(
            current if current is not None else MatomoConfig.load(resolved),
            path=path,
            plugin=plugin,
        )
        wanted, kept = keep_env_references(config, desired)
        plan = plan_config(config, wanted, prune=prune)
        _, activation = render_config(
            config, wanted, prune=prune, activate=activate, global_ini=global_ini
        )
        return ConfigApplyResult(plan, False, None, activation, path, kept)
    with open_target(resolved, lock=True, timeout=lock_timeout) as target:
        data_now = _read_target(target, path)
        if current is not None and data_now != current.data:
            raise ApplyError(
                f"{path} changed while it was being updated; nothing was written",
                hint="run the command again",
            )
        config = replace(
            current if current is not None else MatomoConfig.parse(data_now, path),
            path=path,
            plugin=plugin,
        )
        wanted, kept = keep_env_references(config, desired)
        plan = plan_config(config, wanted, prune=prune)
        text, activation = render_config(
            config, wanted, prune=prune, activate=activate, global_ini=global_ini
        )
        data = text.encode("utf-8")
        if data == config.data:
            return ConfigApplyResult(plan, False, None, activation, path, kept)
        # What we wrote must read back as planned, or we do not write it.
        check = MatomoConfig.parse(data, path).for_plugin(plugin)
        after = plan_config(check, wanted, prune=prune)
        if not after.in_sync:  # pragma: no cover - a bug guard
            raise ApplyError(
                f"internal check failed: the new {path} would not read back as planned",
                hint="nothing was written; report this with --debug output",
            )
        _check_writable(target)
        backup = target.replace(data, backup=True, keep_backups=keep_backups)
        return ConfigApplyResult(plan, True, backup, activation, path, kept)


def keep_env_references(
    config: MatomoConfig, desired: Mapping[str, SettingValue]
) -> tuple[dict[str, SettingValue], tuple[str, ...]]:
    """``desired`` with a ``${NAME}`` clientSecret of the file kept over a plain secret.

    The user chose to keep the secret out of the file; writing the plaintext over it would
    undo that silently. Returns the settings to write and the references kept (``${NAME}``).
    """
    wanted = dict(desired)
    kept: list[str] = []
    have = config.login_oidc_values().get(SECRET_SETTING)
    want = wanted.get(SECRET_SETTING)
    if have is not None and have.is_env_reference and isinstance(want, str):
        wanted[SECRET_SETTING] = EnvRef(have.env_refs[0])
        kept.append(f"{SECRET_SETTING} = ${{{have.env_refs[0]}}}")
    return wanted, tuple(kept)


# --- restoring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigRestoreResult:
    plan: Plan
    written: bool
    backup: Path | None  # the backup of what was there before the restore


def _load_backup(backup: Path) -> MatomoConfig:
    try:
        data = backup.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read backup {backup}: {exc.strerror}",
            hint="give the path of a backup an earlier apply printed (config.ini.php.bak-*)",
        ) from None
    if data.lstrip().startswith(b"{"):
        raise InputError(
            f"{backup} is a database backup, not a config.ini.php backup",
            hint="restore it with --db (and the database options), not --config",
        )
    try:
        return MatomoConfig.parse(data, backup)
    except InputError as exc:
        raise InputError(
            f"{backup} is not a backup of config.ini.php: {exc.message}",
            hint="give a config.ini.php.bak-* file an earlier apply --config printed",
        ) from None


def _restored_text(current: MatomoConfig, saved: MatomoConfig) -> tuple[str, list[Change]]:
    """The current file with only what the backup says about the plugin (LoginOIDC) put back.

    That is the body of the [LoginOIDC] section PHP reads, and the ``Plugins[] = "LoginOIDC"`` /
    ``PluginsInstalled[] = "LoginOIDC"`` lines. Every other line stays as it is now: what Matomo
    or a person changed since the backup (a new salt, another plugin) is not reverted. Returns
    the text and the activation changes (plan rows).
    """
    module = current.plugin.module
    saved = saved.for_plugin(current.plugin)
    document = current.document
    lines = list(document.lines)
    eol = _eol(lines)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += eol
    edit = _Edit()
    ours = document.section(module)
    theirs = saved.document.section(module)
    body: list[str] = []
    if theirs is not None and theirs.entries:
        body = list(saved.document.lines[theirs.header + 1 : theirs.entries[-1].end + 1])
        body = [line if line.endswith(("\n", "\r")) else line + eol for line in body]
    if ours is not None:
        end = ours.entries[-1].end if ours.entries else ours.header
        if theirs is None:  # the backup had no [LoginOIDC]: the section goes (and the blank
            # line an apply put before it)
            start = ours.header
            if start > 0 and not lines[start - 1].strip():
                start -= 1
            edit.delete.update(range(start, end + 1))
        else:
            edit.delete.update(range(ours.header + 1, end + 1))
            for line in body:
                edit.insert_after(ours.header, line)
    elif theirs is not None:
        edit.tail.extend(([eol] if lines and lines[-1].strip() else []) + [f"[{module}]{eol}"])
        edit.tail.extend(body)
    changes: list[Change] = []
    now_state, then_state = current.plugin_state(), saved.plugin_state()
    for name, active_now, active_then in (
        ("Plugins", now_state.activated, then_state.activated),
        ("PluginsInstalled", now_state.installed_flag, then_state.installed_flag),
    ):
        section = document.section(name)
        ours_lines = [e for e in (section.entries if section else []) if e.key == name and e.array]
        if active_now and not active_then:
            mine = [e for e in ours_lines if e.value.decoded == module]
            for entry in mine:
                edit.drop(entry)
            if mine:
                changes.append(Change(f"{name}[]", Action.REMOVE, module, None))
        elif active_then and not active_now and ours_lines:
            edit.insert_after(ours_lines[-1].end, f"{name}[] = {encode_value(module)}{eol}")
            changes.append(Change(f"{name}[]", Action.ADD, None, module))
    if not (edit.delete or edit.after or edit.tail):
        return current.text, changes
    return edit.apply(lines), changes


def plan_restore(current: MatomoConfig, saved: MatomoConfig) -> Plan:
    """What a restore changes: [LoginOIDC] as PHP reads it now vs in the backup, activation."""
    plan = diff_settings(
        current.current_settings(),
        saved.current_settings(),
        prune=True,
        target=f"config:{current.path}",
    )
    _, activation = _restored_text(current, saved)
    return Plan(target=plan.target, changes=plan.changes + tuple(activation))


def restore_config(
    path: Path | str,
    backup: Path | str,
    *,
    lock_timeout: float = 10.0,
    dry_run: bool = False,
    keep_backups: int | None = DEFAULT_KEEP_BACKUPS,
    plugin: MatomoPlugin = LOGIN_OIDC,
) -> ConfigRestoreResult:
    """Put the backup's [LoginOIDC] ([RebelOIDC] for ``plugin``) settings back (only those),
    atomically under the lock.

    The rest of the file is left as it is now (see ``_restored_text``), so the plan
    (``plan_restore``) is exactly what changes. Returns the plan, whether it wrote, and the
    backup of what was there.
    """
    path, backup = Path(path), Path(backup)
    resolved = resolve_target(path)
    _refuse_global_ini(path, resolved)
    saved = _load_backup(backup).for_plugin(plugin)
    if dry_run:
        current = replace(MatomoConfig.load(resolved), path=path, plugin=plugin)
        return ConfigRestoreResult(plan_restore(current, saved), False, None)
    with open_target(resolved, lock=True, timeout=lock_timeout) as target:
        data_now = _read_target(target, path)
        current = MatomoConfig.parse(data_now, path).for_plugin(plugin)
        plan = plan_restore(current, saved)
        data = _restored_text(current, saved)[0].encode("utf-8")
        if data == data_now:
            return ConfigRestoreResult(plan, False, None)
        check = MatomoConfig.parse(data, path).for_plugin(plugin)
        if check.current_settings() != saved.current_settings():  # pragma: no cover - bug guard
            raise ApplyError(
                f"internal check failed: the restored {path} would not read back as the backup",
                hint="nothing was written; report this with --debug output",
            )
        _check_writable(target)
        previous = target.replace(data, backup=True, keep_backups=keep_backups)
        return ConfigRestoreResult(plan, True, previous)
