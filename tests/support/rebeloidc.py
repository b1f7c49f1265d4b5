"""The real plugins' PHP, unpacked from the Matomo peer (../shared/peers/matomo), for tests that
compare what oidcsetup says about a plugin with what the plugin's own code does.

``plugin_sources(dest)`` unpacks Matomo's ``core/`` and the two plugins (about 5 s: the whole
archive is decompressed once). ``call_decode_jwt`` runs RebelOIDC's own private ``decodeJwt``
(through PHP reflection, no Matomo install needed) on a batch of tokens in one ``php`` process.
Upstream code used as a peer: nothing of it is copied into the project.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.matomo import peer_tarball

MEMBERS = ("matomo/core/*", "matomo/plugins/LoginOIDC/*", "matomo/plugins/RebelOIDC/*")

# Loads only Matomo's core/ and plugins/ classes (no vendor autoloader: decodeJwt needs none),
# makes an instance without running the constructor, and calls the private method.
_DECODE_JWT = r"""
define('PIWIK_INCLUDE_PATH', $argv[1]);
spl_autoload_register(function ($class) {
    $plugins = 'Piwik\\Plugins\\';
    if (strpos($class, $plugins) === 0) {
        $file = PIWIK_INCLUDE_PATH . '/plugins/' . substr($class, strlen($plugins));
    } elseif (strpos($class, 'Piwik\\') === 0) {
        $file = PIWIK_INCLUDE_PATH . '/core/' . substr($class, 6);
    } else {
        return;
    }
    $file = str_replace('\\', '/', $file) . '.php';
    if (is_file($file)) { require $file; }
});
$class = new ReflectionClass('Piwik\Plugins\RebelOIDC\Controller');
$controller = $class->newInstanceWithoutConstructor();
$method = $class->getMethod('decodeJwt');
$method->setAccessible(true);
$out = [];
foreach (json_decode(stream_get_contents(STDIN), true) as $token) {
    try { $out[] = ['ok' => $method->invoke($controller, $token)]; }
    catch (Throwable $e) { $out[] = ['error' => $e->getMessage()]; }
}
echo json_encode($out, JSON_INVALID_UTF8_SUBSTITUTE);
"""


def plugin_sources(dest: Path) -> Path:
    """Unpack the peer's core/ and both plugins under ``dest``; returns the matomo/ folder."""
    tarball = peer_tarball()
    if tarball is None:
        pytest.skip("the real Matomo peer (../shared/peers/matomo) is absent")
    subprocess.run(
        ["tar", "-C", str(dest), "-xJf", str(tarball), "--wildcards", *MEMBERS],
        check=True,
        timeout=300,
    )
    return dest / "matomo"


def call_decode_jwt(matomo: Path, tokens: Sequence[str]) -> list[dict[str, Any]]:
    """RebelOIDC's ``decodeJwt`` on each token: ``{"ok": payload}`` or ``{"error": message}``."""
    if shutil.which("php") is None:
        pytest.skip("php is not installed (apt-get install php-cli)")
    run = subprocess.run(
        ["php", "-r", _DECODE_JWT, str(matomo)],
        input=json.dumps(list(tokens)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: list[dict[str, Any]] = json.loads(run.stdout)
    return result
