"""The production files, checked by reading (there is no Docker engine here).

docker-compose.yml must name its services with health checks and the right start order (a one-shot
``migrate`` first, then any number of web, ws and worker processes),
and every variable it gives the web and worker processes must be one config/settings.py reads;
rendered with a sample .env, those variables must load the settings. The Dockerfile must install
from uv.lock without dev dependencies, compile translations, collect static files and run as an
unprivileged user.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
APP_SERVICES = ("web", "ws", "worker")
#: Services that run once and exit (no health check: they are waited for with service_completed_successfully).
ONE_SHOT = ("migrate",)

#: What an operator puts in .env (docker-compose.yml's header says so).
SAMPLE_DOTENV = {
    "LABSHARE_DOMAIN": "labshare.example.edu.vn",
    "SECRET_KEY": "k" * 50,
    "POSTGRES_PASSWORD": "Sup3rSecretPw",
}

_INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} (enough for this file)."""

    def replace(match: re.Match) -> str:
        if match.group() == "$$":
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name)
        # With a colon, an empty value counts as unset.
        missing = current is None or (current == "" and op is not None and op.startswith(":"))
        if op in (":-", "-"):
            return arg if missing else current
        if op in (":?", "?"):
            if missing:
                raise LookupError(f"{name}: {arg}")
            return current
        return current or ""

    return _INTERPOLATION.sub(replace, value)


def environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def rendered_environment(service: str, dotenv: dict[str, str] | None = None) -> dict[str, str]:
    dotenv = SAMPLE_DOTENV if dotenv is None else dotenv
    return {key: interpolate(value, dotenv) for key, value in environment(service).items()}


def settings_variables() -> set[str]:
    """Every variable name config/settings.py reads through an env_* helper (found in its syntax tree)."""
    tree = ast.parse((ROOT / "config" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.startswith("env_")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def command_text(service: str) -> str:
    command = SERVICES[service].get("command") or ""
    return " ".join(command) if isinstance(command, list) else command


def healthcheck_text(service: str) -> str:
    test = SERVICES[service]["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else test


# --- Services, health checks, start order ----------------------------------------------------------


def test_the_services_exist():
    assert {"postgres", "redis", "migrate", "web", "ws", "worker", "proxy"} <= set(SERVICES)


@pytest.mark.parametrize("service", sorted(set(SERVICES) - set(ONE_SHOT)))
def test_every_long_running_service_has_a_health_check(service):
    healthcheck = SERVICES[service].get("healthcheck")
    assert healthcheck and not healthcheck.get("disable")
    test = healthcheck["test"]
    assert (isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1) or (
        isinstance(test, str) and test
    )


@pytest.mark.parametrize(
    "service, probe",
    [
        ("postgres", "pg_isready"),
        ("redis", "redis-cli ping"),
        ("web", "/healthz"),
        ("ws", "/healthz"),
        ("worker", "procrastinate healthchecks"),
    ],
)
def test_health_checks_probe_what_matters(service, probe):
    assert probe in healthcheck_text(service)


def test_web_health_check_asks_the_web_process_itself_on_its_port():
    assert "http://127.0.0.1:8000/healthz" in healthcheck_text("web")
    # Its Host header (127.0.0.1) must be allowed, or Django answers 400 and the check fails.
    assert "127.0.0.1" in rendered_environment("web")["ALLOWED_HOSTS"].split(",")


@pytest.mark.parametrize("service", APP_SERVICES)
@pytest.mark.parametrize("dependency", ["postgres", "redis"])
def test_web_and_worker_wait_for_healthy_postgres_and_redis(service, dependency):
    depends_on = SERVICES[service]["depends_on"]
    assert isinstance(depends_on, dict), "the long form is needed to wait for health"
    assert depends_on[dependency]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_web_ws_and_worker_start_after_the_migrations_succeeded(service):
    assert SERVICES[service]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_migrations_run_once_in_a_one_shot_service():
    migrate = SERVICES["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["healthcheck"]["disable"] is True
    assert "manage.py migrate --no-input" in command_text("migrate")
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for service in APP_SERVICES:
        assert "migrate" not in command_text(service).replace("migrate:", ""), f"{service} must not migrate"


def test_postgres_is_the_official_image_which_has_btree_gist():
    image = SERVICES["postgres"]["image"]
    assert image.split(":")[0] == "postgres"
    assert int(image.split(":")[1].split(".")[0].split("-")[0]) >= 15


def test_database_and_redis_are_not_published_to_the_host():
    assert "ports" not in SERVICES["postgres"]
    assert "ports" not in SERVICES["redis"]
    assert "ports" not in SERVICES["web"], "the web process is reached through the front proxy"


def test_web_serves_http_with_gunicorn_workers_per_core():
    command = command_text("web")
    assert "gunicorn -c config/gunicorn.py" in command and "config.wsgi:application" in command
    assert "--workers ${WEB_WORKERS:-2}" in command
    assert "replicas" in SERVICES["web"]["deploy"]


def test_websockets_are_served_by_daphne_on_port_8001():
    command = command_text("ws")
    assert "daphne" in command and "config.asgi:application" in command
    assert re.search(r"-b\s+0\.0\.0\.0\b", command) and re.search(r"-p\s+8001\b", command)


def test_the_front_sends_websockets_to_ws_and_the_rest_to_web_and_hides_the_metrics():
    caddyfile = COMPOSE["configs"]["caddyfile"]["content"]
    assert "handle /ws/*" in caddyfile and "dynamic a ws 8001" in caddyfile
    assert "dynamic a web 8000" in caddyfile
    assert "respond /metrics 404" in caddyfile


@pytest.mark.parametrize("service", ["web", "ws", "worker"])
def test_the_number_of_processes_is_the_operators(service):
    assert re.fullmatch(r"\$\{[A-Z_]+_REPLICAS:-\d+\}", str(SERVICES[service]["deploy"]["replicas"]))


def test_worker_runs_the_procrastinate_worker():
    # labshare's command: procrastinate's worker, started again by itself after a database outage.
    assert command_text("worker") == "python manage.py worker"


def test_web_and_worker_run_the_same_image():
    assert SERVICES["web"].get("image") == SERVICES["worker"].get("image")
    assert SERVICES["web"].get("build") == SERVICES["worker"].get("build") == "."


def test_static_files_collected_by_migrate_are_what_the_front_serves():
    assert "collectstatic --no-input" in command_text("migrate")
    migrate_volumes = dict(v.split(":", 1) for v in SERVICES["migrate"]["volumes"])
    assert migrate_volumes["static"] == "/app/staticfiles"  # STATIC_ROOT = BASE_DIR / "staticfiles", WORKDIR /app
    web_volumes = dict(v.split(":", 1) for v in SERVICES["web"]["volumes"])
    assert web_volumes["media"] == rendered_environment("web")["MEDIA_ROOT"]
    proxy_volumes = [v.split(":") for v in SERVICES["proxy"]["volumes"]]
    assert ["static", "/srv/static", "ro"] in proxy_volumes and ["media", "/srv/media", "ro"] in proxy_volumes
    caddyfile = COMPOSE["configs"]["caddyfile"]["content"]
    assert "root * /srv/static" in caddyfile and "reverse_proxy" in caddyfile


# --- Environment ----------------------------------------------------------------------------------


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_variable_given_to_web_and_worker_is_read_by_the_settings(service):
    unknown = set(environment(service)) - settings_variables()
    assert not unknown, f"{service} sets variables config/settings.py never reads: {sorted(unknown)}"


def test_the_settings_parser_really_finds_the_settings_variables():
    # Guard for the test above: an empty set would make it pass vacuously.
    assert {
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "EMAIL_URL",
        "TIME_ZONE",
    } <= settings_variables()


@pytest.mark.parametrize("service", APP_SERVICES)
def test_web_and_worker_get_every_variable_of_the_design(service):
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "EMAIL_URL", "TIME_ZONE"} <= set(
        environment(service)
    )


@pytest.mark.parametrize("service", APP_SERVICES)
def test_production_runs_without_debug_and_insists_on_a_secret_key(service):
    env = rendered_environment(service)
    assert env["DEBUG"] == "0"
    assert env["SECRET_KEY"]  # with DEBUG off the settings refuse to start without one (tests/config/test_settings.py)


@pytest.mark.parametrize(
    "variable, services", [("SECRET_KEY", APP_SERVICES), ("POSTGRES_PASSWORD", ("postgres", *APP_SERVICES))]
)
@pytest.mark.parametrize("value", [None, ""])
def test_secrets_come_from_the_operator_and_are_required(variable, services, value):
    dotenv = {k: v for k, v in SAMPLE_DOTENV.items() if k != variable}
    if value is not None:
        dotenv[variable] = value
    for service in services:
        with pytest.raises(LookupError):
            rendered_environment(service, dotenv)
    assert SAMPLE_DOTENV[variable] not in (ROOT / "docker-compose.yml").read_text()


def test_database_and_redis_urls_point_at_their_services():
    env = rendered_environment("web")
    database = urlsplit(env["DATABASE_URL"])
    assert database.scheme == "postgres" and database.hostname == "postgres" and database.port == 5432
    postgres = rendered_environment("postgres")
    assert (database.username, database.password, database.path.lstrip("/")) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"


def test_the_rendered_environment_loads_the_settings():
    """What compose would hand to web, fed to a fresh interpreter: every value passes the env helpers."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(rendered_environment("web"))
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.DATABASES['default']['HOST'], s.CHANNEL_LAYERS['default']['BACKEND'].split('.')[0], s.TIME_ZONE, "
        "s.EMAIL_BACKEND.rsplit('.', 2)[-2], ','.join(s.ALLOWED_HOSTS), ','.join(s.CSRF_TRUSTED_ORIGINS))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "postgres",
        "channels_redis",  # REDIS_URL set: the live screens share one channel layer across processes
        "Asia/Ho_Chi_Minh",
        "console",
        "labshare.example.edu.vn,localhost,127.0.0.1",
        "https://labshare.example.edu.vn",
    ]


# --- Dockerfile and build context --------------------------------------------------------------------


def _final_stage() -> str:
    return DOCKERFILE.split("\nFROM ")[-1]


def test_dockerfile_installs_from_the_lock_file_without_dev_dependencies():
    assert re.search(r"uv sync --frozen --no-dev(\s|$)", DOCKERFILE)
    assert "pip install" not in DOCKERFILE


def test_dockerfile_uses_python_3_11_like_the_project():
    assert "python:3.11" in DOCKERFILE
    assert 'requires-python = ">=3.11,<3.12"' in (ROOT / "pyproject.toml").read_text()


def test_dockerfile_compiles_messages_and_collects_static_files():
    assert "manage.py compilemessages" in DOCKERFILE
    assert "manage.py collectstatic --no-input" in DOCKERFILE


def test_dockerfile_installs_browser_assets_from_the_npm_lock_file():
    assert "npm ci" in DOCKERFILE and "package-lock.json" in DOCKERFILE


def test_image_runs_as_an_unprivileged_user():
    users = re.findall(r"^USER\s+(\S+)", _final_stage(), flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0", "0:0")


def test_image_default_command_is_the_web_process():
    cmd = re.search(r"^CMD\s+(\[.*\])\s*$", _final_stage(), flags=re.MULTILINE)
    assert cmd and "gunicorn" in cmd.group(1) and "0.0.0.0" in cmd.group(1)


def test_build_values_for_settings_do_not_stay_in_the_image():
    # The dummy database URL and key exist only inside one RUN shell of the build stage.
    assert "SECRET_KEY" not in "".join(line for line in DOCKERFILE.splitlines() if line.startswith("ENV"))
    assert "SECRET_KEY" not in _final_stage()


@pytest.mark.parametrize("pattern", [".data/", ".venv/", ".env", ".git/", "node_modules/", "staticfiles/"])
def test_build_context_leaves_out_local_state_and_secrets(pattern):
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    assert pattern in ignored


def test_the_interpolation_used_here_follows_compose():
    env = {"SET": "value", "EMPTY": ""}
    assert interpolate("${SET}/${UNSET}", env) == "value/"
    assert interpolate("${UNSET:-fallback} ${EMPTY:-fallback} ${EMPTY-kept}", env) == "fallback fallback "
    assert interpolate("$${NOT_A_VARIABLE}", env) == "${NOT_A_VARIABLE}"
    with pytest.raises(LookupError):
        interpolate("${EMPTY:?must be set}", env)
    assert interpolate("${EMPTY?only unset fails}", env) == ""


# --- docker compose itself, where it is installed ------------------------------------------------------


def test_docker_compose_accepts_the_file_and_names_a_one_shot_migrate_service(tmp_path):
    """``docker compose config`` when the CLI is here (it needs no engine); else the YAML as read above."""
    docker = shutil.which("docker")
    has_compose = docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    if not has_compose:
        rendered = COMPOSE  # no Docker CLI on this machine: the file as parsed at the top of this module
    else:
        env_file = tmp_path / ".env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in SAMPLE_DOTENV.items()))
        result = subprocess.run(
            [docker, "compose", "-f", str(ROOT / "docker-compose.yml"), "--env-file", str(env_file), "config"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        rendered = yaml.safe_load(result.stdout)
    migrate = rendered["services"]["migrate"]
    assert migrate["restart"] == "no"
    for service in APP_SERVICES:
        assert rendered["services"][service]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
