"""A real django-oidc-provider 0.9 (PyPI) on loopback, in a minimal Django project of our own.

Facts: ../shared/reference/real-providers.md. The project (settings, urls, a login template and
a userinfo function) is written to a temp dir, migrated into sqlite, given an RSA key
(``creatersakey``), the user ``dwho``/``dwho`` and the client ``matomo``, then served by
gunicorn on 127.0.0.1. Issuer: ``http://127.0.0.1:PORT/openid``.

django-oidc-provider has no per-client token endpoint auth method (it reads Basic or the posted
secret alike), so a Basic-only client cannot be expressed here.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from tests.support.realpeer import (
    REDIRECT_URI,
    PeerUnavailable,
    RealProvider,
    TestClient,
    free_port,
    http_ok,
    stop_process,
    wait_until,
)

SECRET = "django-matomo-secret"

SETTINGS = """\
SECRET_KEY = "oidcsetup-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "testsite.urls"
SITE_URL = "http://127.0.0.1:{port}"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oidc_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [{templates!r}],
    "APP_DIRS": True,
    "OPTIONS": {{"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]}},
}}]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {database!r}}}}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
LOGIN_URL = "/accounts/login/"
OIDC_USERINFO = "testsite.userinfo.userinfo"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {{"version": 1, "disable_existing_loggers": False}}
# Tables straight from the models (no migration history to replay): start-up in ~1 s, not ~5 s.
MIGRATION_MODULES = {{app: None for app in ("auth", "contenttypes", "sessions", "oidc_provider")}}
"""

URLS = """\
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
]
"""

WSGI = """\
from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
"""

USERINFO = """\
def userinfo(claims, user):
    claims["name"] = user.get_full_name()
    claims["given_name"] = user.first_name
    claims["family_name"] = user.last_name
    claims["preferred_username"] = user.username
    claims["email"] = user.email
    claims["email_verified"] = True
    return claims
"""

LOGIN_TEMPLATE = """\
<!doctype html>
<html><head><title>Sign in</title></head><body>
<h1>Sign in</h1>
{% if form.errors %}<p class="error">Wrong username or password.</p>{% endif %}
<form method="post" action="{% url 'login' %}">{% csrf_token %}
  <label>Username <input type="text" name="username" id="id_username"></label>
  <label>Password <input type="password" name="password" id="id_password"></label>
  <input type="hidden" name="next" value="{{ next }}">
  <button type="submit">Sign in</button>
</form></body></html>
"""

SETUP = """\
import django
django.setup()
from django.contrib.auth.models import User
from django.core.management import call_command
from oidc_provider.models import Client, ResponseType

call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
call_command("creatersakey", verbosity=0)
User.objects.create_user(
    "dwho", "dwho@example.com", "dwho", first_name="Doctor", last_name="Who"
)
client = Client.objects.create(
    name="matomo",
    client_type="confidential",
    client_id="matomo",
    client_secret={secret!r},
    jwt_alg="RS256",
    require_consent=False,
    _redirect_uris={redirect!r},
    _scope="openid email profile",
)
# Without migrations, the data migration that fills the response types did not run.
code, _ = ResponseType.objects.get_or_create(value="code", defaults={{"description": "code"}})
client.response_types.add(code)
"""


def django_missing_reason() -> str | None:
    for module, package in (
        ("django", "Django"),
        ("oidc_provider", "django-oidc-provider"),
        ("gunicorn", "gunicorn"),
    ):
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed (pip install -e '.[test]')"
    return None


def write_project(workdir: Path, port: int) -> dict[str, str]:
    """The project files under ``workdir``; returns the environment to run Django with."""
    site = workdir / "testsite"
    (site).mkdir(parents=True, exist_ok=True)
    templates = workdir / "templates"
    (templates / "registration").mkdir(parents=True, exist_ok=True)
    (site / "__init__.py").write_text("")
    (site / "settings.py").write_text(
        SETTINGS.format(port=port, templates=str(templates), database=str(workdir / "db.sqlite3"))
    )
    (site / "urls.py").write_text(URLS)
    (site / "userinfo.py").write_text(USERINFO)
    (site / "wsgi_app.py").write_text(WSGI)
    (templates / "registration" / "login.html").write_text(LOGIN_TEMPLATE)
    (workdir / "setup_site.py").write_text(SETUP.format(secret=SECRET, redirect=REDIRECT_URI))
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "testsite.settings",
        "PYTHONPATH": str(workdir),
    }


def start_django_op(workdir: Path, timeout: float = 30.0) -> RealProvider:
    """Set the project up, serve it with gunicorn on a free port; return once discovery answers."""
    reason = django_missing_reason()
    if reason:
        raise PeerUnavailable(reason)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = write_project(workdir, port)
    setup = subprocess.run(
        [sys.executable, str(workdir / "setup_site.py")],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if setup.returncode != 0:
        raise PeerUnavailable("django project setup failed: " + setup.stderr[-2000:])
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "8",
            "--timeout",
            "60",
            "testsite.wsgi_app:application",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=workdir,
        env=env,
    )
    log.close()
    provider = RealProvider(
        name="django-oidc-provider",
        issuer=f"http://127.0.0.1:{port}/openid",
        port=port,
        workdir=workdir,
        clients={"matomo": TestClient("matomo", SECRET)},
        username="dwho",
        password="dwho",
        process=process,
    )
    try:
        wait_until(
            http_ok(provider.discovery_url),
            process,
            provider.log_path,
            what="django-oidc-provider (gunicorn)",
            timeout=timeout,
        )
    except BaseException:
        stop_process(process)
        raise
    return provider
