"""``oidcsetup login``: a real login, showing exactly the claims Matomo will receive."""

from __future__ import annotations

import sys
from typing import Any

import click

from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import LOGIN_OPTIONS, overrides, shared_options
from oidcsetup.cli.prompts import prompt_client_secret
from oidcsetup.errors import ExitCode, UsageError


@click.command(
    "login",
    epilog="""\b
Examples:
  oidcsetup login --redirect-uri http://127.0.0.1:8765/callback
  oidcsetup login --no-browser --redirect-uri http://127.0.0.1:8765/callback
  oidcsetup --json login --headless
\b
The redirect URI must be registered for the client at the provider. By default a loopback
server listens on a free port (http://127.0.0.1:PORT/callback), which only providers that
allow any loopback port accept: register a fixed one and pass it with --redirect-uri. With a
non-loopback --redirect-uri (e.g. Matomo's own callback) paste the URL the browser ends on.
--headless uses Matomo's redirect URI. With a test user in OIDCSETUP_LOGIN_USERNAME and
OIDCSETUP_LOGIN_PASSWORD it logs that user in through the provider's login form in a headless
Chromium (for CI; needs chromium, chromium-driver and the `browser` extra); without them it
follows the provider's redirects itself, which only works when the provider logs in without a
form (a zero-click test provider).
\b
Exit codes: 0 the login worked and Matomo can read the user; 1 the login failed; 2 usage;
3 the login worked but Matomo could not use the answer (signed userinfo, missing claim);
4 the provider could not be reached.
""",
)
@shared_options(*LOGIN_OPTIONS)
@click.option("--no-browser", is_flag=True, help="Print the URL instead of opening a browser.")
@click.option(
    "--headless",
    is_flag=True,
    help="No person: a headless browser with the test user from $OIDCSETUP_LOGIN_USERNAME/"
    "$OIDCSETUP_LOGIN_PASSWORD, else follow the redirects (providers without a form).",
)
@click.option(
    "--redirect-uri",
    help="The redirect URI to use (default: a loopback server on a free port; Matomo's with "
    "--headless).",
)
@click.option(
    "--timeout",
    type=float,
    default=120.0,
    show_default=True,
    help="Seconds to wait for the whole login.",
)
@click.pass_obj
def login_command(
    app: AppContext,
    no_browser: bool,
    headless: bool,
    redirect_uri: str | None,
    timeout: float,
    **kwargs: Any,
) -> None:
    """Log in with the authorization code flow (PKCE, state, nonce) and show the claims.

    The code is exchanged with the client's authentication method, the id_token verified
    against the provider's JWKS (signature, iss, aud, exp, nonce) and userinfo fetched the
    way Login OIDC fetches it. Tokens and the client secret are never printed.
    """
    from oidcsetup.discovery.presets import client_settings_of
    from oidcsetup.secretref import resolve_secret
    from oidcsetup.verify.browser import test_user_from_env
    from oidcsetup.verify.login import LoginSettings, check_secret_given, login_endpoints, run_login

    if headless and no_browser:
        raise UsageError("--headless and --no-browser exclude each other")
    if timeout <= 0:
        raise UsageError("--timeout must be positive")
    integration = app.integration(overrides(kwargs))
    resolved = resolve_secret(
        integration.client.secret,
        base_dir=app.profile.parent,
        prompt=prompt_client_secret if sys.stdin.isatty() and not headless else None,
    )
    settings = LoginSettings(
        client_id=integration.client.client_id,
        secret=resolved.value if resolved else None,
        auth_method=integration.client.auth_method,
        scopes=integration.client.scopes,
        userinfo_id=integration.matomo.userinfo_id,
        allow_signup=bool(integration.matomo.allow_signup),
    )
    check_secret_given(settings)
    mode = "headless" if headless else "no-browser" if no_browser else "browser"
    if headless and not redirect_uri:
        redirect_uri = integration.redirect_uris[0]
    test_user = test_user_from_env() if headless else None
    endpoints = login_endpoints(integration, app.network)

    def announce(url: str) -> None:
        if mode == "browser":
            app.output.info("Opening the browser; if it does not open, visit this URL:")
        else:
            app.output.info("Open this URL in a browser to log in:")
        app.output.info("  " + url)
        app.output.info(f"Waiting up to {timeout:.0f} s for the login to complete...")

    def open_browser(url: str) -> bool:
        from oidcsetup.browser import open_browser, secret_env_name

        # The browser gets no OIDCSETUP_* variable, nor the one the secret was read from.
        source = secret_env_name(resolved.source if resolved else None)
        return open_browser(url, [source] if source else [])

    def paste() -> str:
        if not sys.stdin.isatty():
            raise UsageError(
                "a non-loopback --redirect-uri needs a terminal to paste the callback URL",
                hint="use a loopback --redirect-uri (http://127.0.0.1:PORT/callback)",
            )
        return str(click.prompt("Paste the URL the browser was redirected to", err=True))

    result = run_login(
        endpoints,
        settings,
        app.network,
        mode=mode,
        redirect_uri=redirect_uri,
        timeout=timeout,
        announce=announce,
        open_browser=open_browser,
        paste=paste,
        test_user=test_user,
        client_settings=client_settings_of(integration.provider.preset),
    )
    usable = not result.userinfo_signed and result.matomo_user not in (None, "")
    if app.json_mode:
        app.output.json(result.to_json())  # "ok" follows the exit code (root group)
    else:
        render(app, result)
    if not usable:
        # The login worked, but Matomo's Login OIDC could not use its answer: a finding.
        raise click.exceptions.Exit(int(ExitCode.FINDINGS))


def render(app: AppContext, result: Any) -> None:
    from oidcsetup.verify.login import claim_rows

    app.output.table(
        ("claim", "value", ""),
        claim_rows(result),
        title="userinfo: what Matomo's Login OIDC receives",
    )
    if result.id_token_claims:
        keep = ("iss", "aud", "sub", "email", "exp")
        rows = [
            (k, str(result.id_token_claims[k]), "") for k in keep if k in result.id_token_claims
        ]
        app.output.table(("claim", "value", ""), rows, title="id_token (signature verified)")
    if result.userinfo_signed:
        app.output.error(
            "userinfo answered a signed JWT: Login OIDC can only read plain JSON",
            hint="configure the client to answer userinfo unsigned",
        )
    elif result.matomo_user in (None, ""):
        app.output.error(
            f"userinfo has no {result.userinfo_id!r} claim: Matomo will not log this user in",
            hint='set --userinfo-id to a claim userinfo has (usually "sub")',
        )
    else:
        app.output.info(
            f"Matomo will identify this user as {result.userinfo_id}={result.matomo_user!r}"
            + (
                f"; email {result.email!r}"
                if result.email
                else "; no email claim (signup needs it)"
            )
        )
