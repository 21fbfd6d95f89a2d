"""Secure by default: Django's deployment checks pass in production, every answer carries the policy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.api.live import database_url

ROOT = Path(__file__).resolve().parents[2]

#: What an operator sets in production (docker-compose.yml gives the same).
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "pQ7-vXr2_kLm9Tz4Wc8Ny1Hb6Ds3Fg0Jq5Ua2Ze7Io4Pl9Kx1Mv8Bn3Yt6Rc0Se5Wd",
    "ALLOWED_HOSTS": "labshare.example.edu.vn,127.0.0.1",
    "CSRF_TRUSTED_ORIGINS": "https://labshare.example.edu.vn",
    "PUBLIC_URL": "https://labshare.example.edu.vn",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    base.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )


@pytest.mark.django_db
def test_check_deploy_passes_with_the_production_variables(settings):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DATABASE_URL=database_url(settings.DATABASES["default"]),
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_check_deploy_fails_on_a_plain_http_configuration(settings):
    # The guard works: the same check fails when the HTTPS defaults are switched off.
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DATABASE_URL=database_url(settings.DATABASES["default"]),
        LABSHARE_PLAIN_HTTP="1",
        **PRODUCTION,
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # no HSTS


def test_production_defaults_are_https_and_each_can_be_set():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_PROXY_SSL_HEADER)"
    )

    def settings_with(**env):
        base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
        base.update(DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL="postgres://u:p@h/d", **PRODUCTION, **env)
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert settings_with() == "True 31536000 True True ('HTTP_X_FORWARDED_PROTO', 'https')"
    assert settings_with(SECURE_HSTS_SECONDS="600", SECURE_PROXY_SSL_HEADER="X-Forwarded-Scheme") == (
        "True 600 True True ('HTTP_X_FORWARDED_SCHEME', 'https')"
    )
    assert settings_with(SECURE_PROXY_SSL_HEADER="", SECURE_SSL_REDIRECT="0") == "False 31536000 True True None"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/api/labs/", "/api/docs/", "/healthz"])
def test_every_answer_carries_the_content_security_policy(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


@pytest.mark.django_db
def test_no_page_template_has_an_inline_script_or_style_element_or_handler():
    import re

    offenders = []
    for template in (ROOT / "frontend" / "templates").rglob("*.html"):
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\son[a-z]+=", text):
            offenders.append(str(template.relative_to(ROOT)))
    assert offenders == []


@pytest.mark.django_db
def test_the_api_answers_with_its_security_headers():
    response = APIClient().get("/api/labs/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
