"""``oidcsetup login``: a real login, showing exactly the claims Matomo will receive."""

from __future__ import annotations

import sys
from typing import Any

import click

from oidcsetup.cli.check import SHARED
from oidcsetup.cli.context import AppContext
from oidcsetup.cli.options import overrides, shared_options
from oidcsetup.cli.secret import prompt_client_secret
from oidcsetup.errors import UsageError


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
--headless follows the provider's redirects itself and uses Matomo's redirect URI: it works
only when the provider logs in WITHOUT a form (a zero-click test provider); it never fills in
a login form.
""",
)
@shared_options(*SHARED)
@click.option("--no-browser", is_flag=True, help="Print the URL instead of opening a browser.")
@click.option(
    "--headless",
    is_flag=True,
    help="Follow the redirects without a browser (only for providers that log in without a form).",
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
    from oidcsetup.login import (
        LoginSettings,
        check_secret_given,
        login_endpoints,
        run_login,
    )
    from oidcsetup.secretref import resolve_secret

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
        from oidcsetup.apps.matomo.redirect import redirect_uris

        redirect_uri = redirect_uris(integration.matomo)[0]
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
    )
    if app.json_mode:
        app.output.json(result.to_json())
        return
    render(app, result)


def render(app: AppContext, result: Any) -> None:
    from oidcsetup.login import claim_rows

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
