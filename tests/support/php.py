"""Read ini text the way Matomo does, with the real PHP: parse_ini_string + html_entity_decode.

Every helper runs one ``php -r`` process for a whole batch (start-up costs ~20 ms); tests call
``require_php()`` first, which skips them with a reason when php-cli is missing.
Strings cross the process boundary base64-encoded, so any byte survives.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

# Matomo: IniReader::readString (parse_ini_string, sections on) then
# IniFileChain::decodeValues (html_entity_decode(v, ENT_COMPAT, 'UTF-8') on every string).
_PHP_PRELUDE = r"""
function oidc_b64($v) {
    if (is_array($v)) { $o = []; foreach ($v as $k => $x) { $o[$k] = oidc_b64($x); } return $o; }
    if (is_string($v)) { return ['__b64__' => base64_encode($v)]; }
    return ['__val__' => $v];
}
function oidc_decode($v) {
    if (is_array($v)) { foreach ($v as $k => $x) { $v[$k] = oidc_decode($x); } return $v; }
    return is_string($v) ? html_entity_decode($v, ENT_COMPAT, 'UTF-8') : $v;
}
function oidc_read($text) {
    $r = @parse_ini_string($text, true);
    if ($r === false) { $e = error_get_last(); return ['error' => $e ? $e['message'] : 'error']; }
    return ['ok' => oidc_b64(oidc_decode($r))];
}
$in = json_decode(stream_get_contents(STDIN), true);
$out = [];
"""

_PHP_MODES = {
    "read": "foreach ($in as $t) { $out[] = oidc_read(base64_decode($t)); }",
    "encode": (
        "foreach ($in as $t) { $out[] = base64_encode(str_replace('$', '&#36;', "
        "htmlentities(base64_decode($t), ENT_COMPAT, 'UTF-8'))); }"
    ),
    "decode": (
        "foreach ($in as $t) { $out[] = base64_encode("
        "html_entity_decode(base64_decode($t), ENT_COMPAT, 'UTF-8')); }"
    ),
}


class PhpIniError(Exception):
    """PHP could not parse the ini text."""


def php_binary() -> str | None:
    return shutil.which("php")


def require_php() -> str:
    binary = php_binary()
    if binary is None:
        pytest.skip("php-cli is not installed (apt-get install php-cli); CI has it")
    return binary


def _run(mode: str, items: Sequence[str], env: Mapping[str, str] | None = None) -> list[Any]:
    binary = require_php()
    payload = json.dumps([base64.b64encode(i.encode("utf-8")).decode() for i in items])
    result = subprocess.run(
        [
            binary,
            "-d",
            "display_errors=stderr",
            "-r",
            _PHP_PRELUDE + _PHP_MODES[mode] + "echo json_encode($out);",
        ],
        input=payload,
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else {"PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"php failed: {result.stderr}")
    out: list[Any] = json.loads(result.stdout)
    return out


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"__b64__"}:
        return base64.b64decode(value["__b64__"]).decode("utf-8")
    if isinstance(value, dict) and set(value) == {"__val__"}:
        return value["__val__"]
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def php_read_many(texts: Sequence[str], env: Mapping[str, str] | None = None) -> list[Any]:
    """Each ini text as Matomo reads it: a dict, or a PhpIniError instance when PHP refuses it."""
    results = []
    for item in _run("read", texts, env):
        if "error" in item:
            results.append(PhpIniError(item["error"]))
        else:
            results.append(_unwrap(item["ok"]))
    return results


def php_read_ini(text: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One ini text as Matomo reads it (sections -> keys -> decoded values); raises PhpIniError."""
    (result,) = php_read_many([text], env)
    if isinstance(result, PhpIniError):
        raise result
    assert isinstance(result, dict)
    return result


def php_read_values(
    literals: Sequence[str], env: Mapping[str, str] | None = None
) -> list[str | PhpIniError]:
    """Each right-hand side (``"..."``, ``1``) read as ``[s] k = <literal>``, decoded."""
    texts = [f"[s]\nk = {literal}\n" for literal in literals]
    out: list[str | PhpIniError] = []
    for result in php_read_many(texts, env):
        out.append(result if isinstance(result, PhpIniError) else result["s"]["k"])
    return out


def php_matomo_encode(values: Sequence[str]) -> list[str]:
    """``str_replace('$', '&#36;', htmlentities(v, ENT_COMPAT, 'UTF-8'))``, as IniFileChain does."""
    return [base64.b64decode(v).decode("utf-8") for v in _run("encode", values)]


def php_html_entity_decode(values: Sequence[str]) -> list[str]:
    return [base64.b64decode(v).decode("utf-8") for v in _run("decode", values)]
