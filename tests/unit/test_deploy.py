"""The multi-machine layout (deploy/compose.yml, docs/scaling.md) agrees with the settings of
`make run` (.env.example) and with the code: every setting it names exists, the addresses it gives
each process point at the services that serve them, the processes are the launcher's roles, and
its nginx configuration is the one bot/cluster.py writes for `make run`'s workers. (No Docker
daemon is needed: nothing here starts a container.)"""

from __future__ import annotations

import re
import subprocess
from urllib.parse import urlsplit

import yaml
from dotenv import dotenv_values

from bot import cluster, launcher, settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yml").read_text())
EXAMPLE = dotenv_values(ROOT / ".env.example")
APP_SERVICES = ("rasa", "actions", "deadlines", "migrate")
# Variables of the images of PostgreSQL and Redis (not ours).
IMAGE_SETTINGS = {"postgres": {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}}


def referenced_variables(text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))


def app_environment() -> dict[str, str]:
    return COMPOSE["services"]["rasa"]["environment"]


def test_every_variable_the_layout_uses_is_a_setting_of_env_example():
    used = referenced_variables((DEPLOY / "compose.yml").read_text())
    assert used, "the layout takes its settings from the environment"
    assert sorted(used - set(EXAMPLE)) == []


def test_every_setting_a_service_is_given_exists():
    for name, service in COMPOSE["services"].items():
        given = set(service.get("environment") or {})
        assert sorted(given - set(EXAMPLE) - IMAGE_SETTINGS.get(name, set())) == [], name


def test_app_services_read_the_project_settings_and_share_one_environment():
    for name in APP_SERVICES:
        service = COMPOSE["services"][name]
        assert service["env_file"] == "../.env", name  # the secrets every server must share
        assert service["environment"] == app_environment(), name
        assert service["image"] == COMPOSE["services"]["rasa"]["image"], name


def test_processes_are_the_launchers_roles_and_the_workers_are_single():
    for name in ("rasa", "actions", "deadlines"):
        command = COMPOSE["services"][name]["command"]
        assert command[0] == "--only" and command[1] in launcher.ROLES and command[1] == name
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "-m", "bot.launcher"]' in dockerfile
    assert "-r requirements/base.lock" in dockerfile and "npm ci" in dockerfile  # as `make setup` installs
    assert COMPOSE["services"]["migrate"]["entrypoint"] == ["python", "-m", "actions.orders", "migrate"]
    assert app_environment()["RASA_WORKERS"] == "1"  # the replicas are the workers
    assert COMPOSE["services"]["deadlines"]["deploy"]["replicas"] == 1  # each deadline approved once


def test_addresses_point_at_the_services_that_serve_them():
    env = {key: re.sub(r"\$\{[^}]*\}", "secret", value) for key, value in app_environment().items()}
    services = COMPOSE["services"]
    action = urlsplit(env["ACTION_ENDPOINT_URL"])
    assert (action.hostname, str(action.port), action.path) == ("actions", env["ACTION_PORT"], "/webhook")
    for key, database in (("DATABASE_URL", "orders"), ("TRACKER_STORE_URL", "rasa")):
        url = urlsplit(env[key])
        assert (url.hostname, url.port, url.username) == ("postgres", 5432, services["postgres"]["environment"]["POSTGRES_USER"])
        assert url.path == f"/{database}", key
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "orders"
    assert "CREATE DATABASE rasa " in (DEPLOY / "postgres-init.sql").read_text()
    assert urlsplit(env["REDIS_URL"]).hostname == "redis" and "redis" in services
    assert env["RASA_HOST"] == env["ACTION_HOST"] == "0.0.0.0"  # reachable from the other containers


def test_proxy_configuration_is_the_one_make_run_uses_for_its_workers():
    env = app_environment()
    size = int(EXAMPLE["RASA_REQUEST_MAX_SIZE"])
    expected = cluster.compose_proxy(int(env["RASA_PORT"]), size).config()
    assert (DEPLOY / "nginx.conf").read_text() == expected, "regenerate: python -m bot.cluster > deploy/nginx.conf"
    proxy = COMPOSE["services"]["proxy"]
    assert proxy["ports"] == ["${RASA_PORT:-5005}:80"]  # the public port is RASA_PORT, as with make run
    assert COMPOSE["services"]["rasa"]["deploy"]["endpoint_mode"] == "dnsrr"  # nginx sees every worker


def test_generated_secrets_must_be_set_for_the_layout():
    """The launcher refuses to serve a role with a secret it would generate (each container would
    have its own); the layout's header says to set them."""
    header = (DEPLOY / "compose.yml").read_text().split("\n\n")[0]
    for key in settings.GENERATED:
        assert key in header


def test_nginx_accepts_the_layout_configuration(nginx, tmp_path):
    """nginx itself parses deploy/nginx.conf (the service name replaced by a local address)."""
    text = (DEPLOY / "nginx.conf").read_text().replace("rasa:", "127.0.0.1:").replace("/var/cache/nginx", str(tmp_path))
    (tmp_path / "nginx.conf").write_text(text)
    checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-e", "stderr", "-c", str(tmp_path / "nginx.conf")],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
