"""Settings come from environment variables through helpers that accept good values and refuse bad ones loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_database, env_email, env_int, env_list, env_str, env_timezone

ROOT = Path(__file__).resolve().parents[2]
VAR = "LABSHARE_TEST_VARIABLE"


@pytest.fixture
def setenv(monkeypatch):
    def set_(value: str | None):
        if value is None:
            monkeypatch.delenv(VAR, raising=False)
        else:
            monkeypatch.setenv(VAR, value)

    return set_


def refused(helper, *args, **kwargs) -> str:
    """The message of the ImproperlyConfigured ``helper`` raises; it must name the variable."""
    with pytest.raises(ImproperlyConfigured) as exc:
        helper(VAR, *args, **kwargs)
    message = str(exc.value)
    assert VAR in message
    return message


# --- env_str ---------------------------------------------------------------------------------------


def test_string_is_read_and_defaults_when_unset(setenv):
    setenv(None)
    assert env_str(VAR, "fallback") == "fallback"
    assert env_str(VAR) is None
    setenv("value")
    assert env_str(VAR, "fallback") == "value"


# --- env_bool --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", "true", "True", "YES", "on", " yes "])
def test_true_spellings_are_true(setenv, value):
    setenv(value)
    assert env_bool(VAR, False) is True


@pytest.mark.parametrize("value", ["0", "false", "FALSE", "no", "off", ""])
def test_false_spellings_are_false(setenv, value):
    setenv(value)
    assert env_bool(VAR, True) is False


def test_unset_boolean_takes_the_default(setenv):
    setenv(None)
    assert env_bool(VAR, True) is True
    assert env_bool(VAR, False) is False


@pytest.mark.parametrize("value", ["maybe", "2", "-1", "y", "enabled", "tru"])
def test_bad_boolean_is_refused_with_the_accepted_spellings(setenv, value):
    setenv(value)
    message = refused(env_bool, False)
    assert repr(value) in message
    assert "true/false" in message


# --- env_int ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [("5", 5), (" 42 ", 42), ("0", 0), ("3000", 3000)])
def test_integer_is_read(setenv, value, expected):
    setenv(value)
    assert env_int(VAR, 1, minimum=0) == expected


def test_unset_integer_takes_the_default(setenv):
    setenv(None)
    assert env_int(VAR, 7) == 7


@pytest.mark.parametrize("value", ["1.5", "ten", "", "0x10", "5s"])
def test_bad_integer_is_refused(setenv, value):
    setenv(value)
    assert "is not an integer" in refused(env_int, 1)


def test_integer_below_its_minimum_is_refused(setenv):
    setenv("0")
    assert "must be at least 1" in refused(env_int, 5, minimum=1)


# --- env_list --------------------------------------------------------------------------------------


def test_list_is_split_on_commas_and_blanks_are_dropped(setenv):
    setenv(" labshare.example , www.labshare.example,, ")
    assert env_list(VAR, []) == ["labshare.example", "www.labshare.example"]


def test_unset_list_takes_a_copy_of_the_default(setenv):
    setenv(None)
    default = ["127.0.0.1"]
    value = env_list(VAR, default)
    assert value == default and value is not default


def test_empty_list_variable_means_an_empty_list(setenv):
    setenv("")
    assert env_list(VAR, ["x"]) == []


# --- env_timezone ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["Asia/Ho_Chi_Minh", "Asia/Singapore", "UTC", "Europe/Berlin"])
def test_known_time_zone_is_accepted(setenv, value):
    setenv(value)
    assert env_timezone(VAR, "UTC") == value


def test_unset_time_zone_takes_the_default(setenv):
    setenv(None)
    assert env_timezone(VAR, "Asia/Ho_Chi_Minh") == "Asia/Ho_Chi_Minh"


@pytest.mark.parametrize(
    "value", ["Asia/Saigon City", "Mars/Olympus_Mons", "", "../../etc/passwd", "/etc/localtime", "GMT+7 "]
)
def test_unknown_time_zone_is_refused_with_an_example(setenv, value):
    setenv(value)
    assert "Asia/Ho_Chi_Minh" in refused(env_timezone, "UTC")


# --- env_database ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "pgsql"])
def test_postgresql_url_is_parsed(setenv, scheme):
    setenv(f"{scheme}://labshare:s3cret@db.internal:5433/labshare_prod")
    config = env_database(VAR, None)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"], config["HOST"], config["PORT"]) == (
        "labshare_prod",
        "labshare",
        "s3cret",
        "db.internal",
        5433,
    )


def test_postgresql_url_options_are_kept(setenv):
    setenv("postgres://u:p@h/d?sslmode=require")
    assert env_database(VAR, None)["OPTIONS"]["sslmode"] == "require"


def test_unset_database_url_falls_back_to_the_local_cluster_url(setenv):
    setenv(None)
    assert env_database(VAR, "postgres://labshare:pw@127.0.0.1:54330/labshare")["PORT"] == 54330


def test_unset_database_url_without_a_local_cluster_says_how_to_get_one(setenv):
    setenv(None)
    message = refused(env_database, None)
    assert "make db" in message and "postgres://" in message


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///db.sqlite3", "sqlite:////tmp/labshare.db", "mysql://u:p@h/d", "oracle://u:p@h/d"]
)
def test_other_engines_are_refused_because_they_lack_exclusion_constraints(setenv, url):
    setenv(url)
    message = refused(env_database, None)
    assert "PostgreSQL" in message and "exclusion" in message


@pytest.mark.parametrize(
    "url", ["not a url", "http://example.com/db", "postgres://u@h:port/d", "postgres://", "postgres://host"]
)
def test_malformed_database_url_is_refused(setenv, url):
    setenv(url)
    refused(env_database, None)


# --- env_email -------------------------------------------------------------------------------------


def test_console_is_the_default_mail_backend(setenv):
    setenv(None)
    assert env_email(VAR, "console://")["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_smtp_url_is_parsed(setenv):
    setenv("smtp://mailer:app%20pass@smtp.example.vn:587/?tls=True")
    config = env_email(VAR, "console://")
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (config["EMAIL_HOST"], config["EMAIL_PORT"], config["EMAIL_HOST_USER"], config["EMAIL_HOST_PASSWORD"]) == (
        "smtp.example.vn",
        587,
        "mailer",
        "app pass",
    )
    assert config["EMAIL_USE_TLS"] is True


def test_submission_url_uses_starttls_on_587(setenv):
    setenv("submission://u:p@smtp.example.vn")
    config = env_email(VAR, "console://")
    assert config["EMAIL_PORT"] == 587 and config["EMAIL_USE_TLS"] is True


@pytest.mark.parametrize("url", ["bogus://x", "smtp+tls://u:p@h:587", "not a url"])
def test_unknown_mail_scheme_is_refused(setenv, url):
    setenv(url)
    assert "unknown scheme" in refused(env_email, "console://")


def test_bad_mail_port_is_refused(setenv):
    setenv("smtp://mailer@smtp.example.vn:abc")
    refused(env_email, "console://")


def test_mail_password_is_not_repeated_in_the_error(setenv):
    setenv("smtp://mailer:topsecret@smtp.example.vn:abc")
    message = refused(env_email, "console://")
    assert "topsecret" not in message
    assert "mailer:***@" in message


# --- The settings module as a whole ----------------------------------------------------------------


def _import_settings(**env: str) -> subprocess.CompletedProcess:
    """Import config.settings in a fresh interpreter with ``env`` on top of a minimal environment."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    base.update(DJANGO_SETTINGS_MODULE="config.settings", LABSHARE_DATA_DIR=str(ROOT / ".no-such-data-dir"))
    base.update(SECRET_KEY="s" * 50)
    base.update(env)
    code = "import django; django.setup(); from django.conf import settings; print(settings.TIME_ZONE, settings.DEBUG)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)


def test_settings_load_from_a_production_environment():
    result = _import_settings(
        DATABASE_URL="postgres://labshare:pw@db:5432/labshare",
        SECRET_KEY="x" * 50,
        DEBUG="0",
        ALLOWED_HOSTS="labshare.example",
        EMAIL_URL="smtp://mailer:pw@smtp.example.vn:587/?tls=True",
        TIME_ZONE="Asia/Ho_Chi_Minh",
        REDIS_URL="redis://redis:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Asia/Ho_Chi_Minh", "False"]


def test_settings_refuse_sqlite():
    result = _import_settings(DATABASE_URL="sqlite:///db.sqlite3")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "PostgreSQL" in result.stderr


def test_settings_refuse_a_bad_debug_value():
    result = _import_settings(DATABASE_URL="postgres://u:p@h/d", DEBUG="sometimes")
    assert result.returncode != 0
    assert "DEBUG='sometimes' is not a boolean" in result.stderr


def test_settings_refuse_production_without_a_secret_key():
    result = _import_settings(DATABASE_URL="postgres://u:p@h/d", DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY is not set and DEBUG is off" in result.stderr


def test_settings_without_a_secret_key_start_in_debug_with_the_development_key():
    result = _import_settings(DATABASE_URL="postgres://u:p@h/d", DEBUG="1", SECRET_KEY="")
    assert result.returncode == 0, result.stderr
