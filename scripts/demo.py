"""The whole story, end to end, with no input: what `bash scripts/demo` runs.

1. start a throwaway real OpenID provider (oidc-provider on 127.0.0.1) with a Matomo client
   registered exactly as `oidcsetup gen redirect-uris` says;
2. `init` a profile, `discover --save` the provider into it;
3. `gen authelia --merge` (the provider side, for an Authelia user) and `gen matomo`;
4. `apply matomo --config` into a sample Matomo config.ini.php (plan, write, then in sync);
5. `check --config ... --login` and a headless `login`, printing the claims Matomo receives.

Every step runs the real `oidcsetup` command and prints it first. Files go to demo-output/.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.provider import matomo_client, start_provider  # noqa: E402

MATOMO_URL = "http://localhost:8080/"

SAMPLE_MATOMO_CONFIG = """; <?php exit; ?> DO NOT REMOVE THIS LINE
; file automatically generated or modified by Matomo; you can manually override the default values in global.ini.php by redefining them in this file.
[database]
host = "127.0.0.1"
username = "matomo"
password = "change-me"
dbname = "matomo"
tables_prefix = "matomo_"
charset = "utf8mb4"

[General]
salt = "0123456789abcdef0123456789abcdef"
trusted_hosts[] = "localhost:8080"

[Plugins]
Plugins[] = "CorePluginsAdmin"
Plugins[] = "CoreAdminHome"
Plugins[] = "CoreHome"
Plugins[] = "Login"
Plugins[] = "UsersManager"

[PluginsInstalled]
PluginsInstalled[] = "CorePluginsAdmin"
PluginsInstalled[] = "CoreAdminHome"
PluginsInstalled[] = "CoreHome"
PluginsInstalled[] = "Login"
PluginsInstalled[] = "UsersManager"
"""

SAMPLE_AUTHELIA_CONFIG = """---
# Authelia configuration (excerpt)
server:
  address: 'tcp://:9091'

identity_providers:
  oidc:
    clients:
      - client_id: 'grafana'
        client_name: 'Grafana'
        client_secret: '$pbkdf2-sha512$310000$c8p78n7pUMln0jzvd4aK4Q$JNRBzwAo0ek5qKn50cFzzvE9RXV88h1wJn5KGiHrD0YKtZaR/nCb2CJPOsKaPK0hjf.9yHxzQGZziziccp6Yng'
        redirect_uris:
          - 'https://grafana.example.com/login/generic_oauth'
"""


class Story:
    def __init__(self, workdir: Path, env: dict[str, str], quiet: bool = False) -> None:
        self.workdir = workdir
        self.env = env
        self.quiet = quiet

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"\n== {text}", flush=True)

    def run(
        self, args: Sequence[str], *, expect: int = 0, show: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a real oidcsetup command; ``show=False`` for the JSON runs the story reads."""
        argv = [sys.executable, "-m", "oidcsetup", *args]
        show = show and not self.quiet
        if show:
            print("$ oidcsetup " + shlex.join(args), flush=True)
        done = subprocess.run(
            argv, cwd=self.workdir, env=self.env, capture_output=True, text=True, check=False
        )
        if show:
            sys.stdout.write(done.stdout)
            sys.stdout.write(done.stderr)
        if done.returncode != expect:
            sys.stderr.write(done.stderr)
            raise SystemExit(
                f"demo: `oidcsetup {shlex.join(args)}` exited {done.returncode}, expected {expect}"
            )
        return done


def run_story(workdir: Path, quiet: bool = False) -> dict[str, object]:
    """Run every step; returns what the steps produced (for the end-to-end test)."""
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "matomo" / "config").mkdir(parents=True)
    (workdir / "authelia").mkdir()
    config = workdir / "matomo" / "config" / "config.ini.php"
    config.write_text(SAMPLE_MATOMO_CONFIG)
    authelia_config = workdir / "authelia" / "configuration.yml"
    authelia_config.write_text(SAMPLE_AUTHELIA_CONFIG)

    env = {k: v for k, v in os.environ.items() if not k.startswith("OIDCSETUP_")}
    env["NO_COLOR"] = "1"
    story = Story(workdir, env, quiet)

    story.say(
        "A client secret, in the 0600 file the starter profile references (file:matomo.secret)"
    )
    if not quiet:
        print("$ oidcsetup secret generate > matomo.secret   # (not shown: it is a secret)")
    secret = story.run(["secret", "generate"], show=False).stdout.strip()
    secret_file = workdir / "matomo.secret"
    secret_file.touch(mode=0o600)
    secret_file.write_text(secret + "\n")

    story.say("The redirect URI both sides must register")
    story.run(["gen", "redirect-uris", "--matomo-url", MATOMO_URL])
    redirect_json = story.run(
        ["--json", "gen", "redirect-uris", "--matomo-url", MATOMO_URL], show=False
    )
    redirect = json.loads(redirect_json.stdout)["redirect_uris"][0]

    story.say("A throwaway OpenID provider on loopback, with the Matomo client registered")
    provider = start_provider(
        [matomo_client(redirect_uri=redirect, client_secret=secret)],
        workdir=workdir / "provider",
    )
    try:
        if not quiet:
            print(f"provider: {provider.issuer} (oidc-provider, pid {provider.pid})")
        story.run(["init", "--issuer", provider.issuer, "--matomo-url", MATOMO_URL])

        story.say("Discover and validate the provider, save its endpoints into the profile")
        story.run(["discover", "--save"])

        story.say("The provider side: an Authelia client entry with the secret's digest")
        story.run(["gen", "authelia", "--merge", str(authelia_config)])
        story.run(["gen", "authelia", "--merge", str(authelia_config)])  # in sync the second time

        story.say("The app side: what to type into Matomo's Login OIDC screen")
        story.run(["gen", "matomo"])

        story.say("Apply to Matomo's config.ini.php: plan, write, then nothing left to do")
        story.run(["apply", "matomo", "--config", str(config), "--activate", "--dry-run"])
        story.run(["apply", "matomo", "--config", str(config), "--activate"])
        story.run(["apply", "matomo", "--config", str(config), "--activate", "--check"])

        story.say("Prove the wiring against the live provider, with Matomo's settings in place")
        story.run(["check", "--config", str(config), "--login"])
        check_json = story.run(["--json", "check", "--config", str(config), "--login"], show=False)
        check = json.loads(check_json.stdout)

        story.say("Log in as Matomo will, and show the claims it receives")
        story.run(["login", "--headless"])
        login = json.loads(story.run(["--json", "login", "--headless"], show=False).stdout)
    finally:
        provider.stop()
    story.say(f"Done. Files are in {workdir}")
    return {"redirect_uri": redirect, "check": check, "login": login, "config": config}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=REPO / "demo-output")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    run_story(args.workdir.resolve(), quiet=args.quiet)


if __name__ == "__main__":
    main()
