"""The Dockerfile and docker-compose.yml stay consistent with the code (Docker cannot run here)."""

from __future__ import annotations

import tomllib
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer

from meta_agent.config import Settings, load_settings
from meta_agent.config.settings import CONFIG_ENV, DATA_DIR_ENV, ENV_PREFIX, ServiceSettings
from meta_agent.interfaces.cli import app as cli_app
from meta_agent.interfaces.http.routes_reads import router
from tests.config.deployment import (
    ROOT,
    compose,
    dockerfile_instructions,
    env_names,
    exec_form,
    interpolate,
    procfile,
)

SERVICE = "meta-agent"
DEFAULT_PORT = ServiceSettings().port
SAMPLE = {"POSTGRES_PASSWORD": "pw", "VAULT_ADDR": "https://vault.test", "VAULT_TOKEN": "vt"}


def _cli_commands() -> dict[str, Any]:
    group: Any = typer.main.get_command(cli_app)
    commands: dict[str, Any] = group.commands
    return commands


def _script_name() -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (name,) = pyproject["project"]["scripts"]
    return str(name)


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def _check_command(argv: list[str]) -> None:
    """argv runs the project's script with a registered command and that command's options."""
    assert argv[0] == _script_name()
    command = _cli_commands().get(argv[1])
    assert command is not None, (
        f"{argv[1]!r} is not a meta-agent command: {sorted(_cli_commands())}"
    )
    known = {opt for param in command.params for opt in param.opts}
    given = {arg for arg in argv[2:] if arg.startswith("--")}
    assert given <= known, f"unknown options {given - known} for {argv[1]}"


def _instruction(name: str) -> list[str]:
    return [args for keyword, args in dockerfile_instructions() if keyword == name]


def _service() -> dict[str, Any]:
    service: dict[str, Any] = compose()["services"][SERVICE]
    return service


def test_dockerfile_cmd_is_a_real_cli_command_on_the_default_port() -> None:
    """CMD is ``meta-agent serve`` with options serve accepts, on the service's default port."""
    (cmd,) = _instruction("CMD")
    argv = exec_form(cmd)
    _check_command(argv)
    assert argv[1] == "serve"
    assert _option(argv, "--host") == "0.0.0.0"  # noqa: S104 - inside a container, by design
    assert int(_option(argv, "--port")) == DEFAULT_PORT
    assert _instruction("EXPOSE") == [str(DEFAULT_PORT)]


def test_dockerfile_base_user_and_install() -> None:
    """python:3.11-slim, installs the project with pip, and runs as a non-root user."""
    assert all(image.startswith("python:3.11-slim") for image in _instruction("FROM"))
    assert any("pip install ." in run for run in _instruction("RUN"))
    user = _instruction("USER")[-1]
    assert user not in {"root", "0"}
    assert any("useradd" in run and user in run for run in _instruction("RUN"))


def test_dockerfile_copies_what_the_build_needs() -> None:
    """The build stage copies pyproject.toml, the readme it names, and src."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    copied = " ".join(_instruction("COPY"))
    for needed in ("pyproject.toml", pyproject["project"]["readme"], "src", "config"):
        assert needed in copied
        assert (ROOT / needed).exists()


def test_healthcheck_probes_healthz_with_valid_python() -> None:
    """HEALTHCHECK runs compilable Python that opens /healthz, a route the service serves."""
    (healthcheck,) = _instruction("HEALTHCHECK")
    argv = exec_form(healthcheck.split("CMD", 1)[1].strip())
    assert argv[:2] == ["python", "-c"]
    compile(argv[2], "<healthcheck>", "exec")
    assert f"http://127.0.0.1:{DEFAULT_PORT}/healthz" in argv[2]
    assert "/healthz" in {getattr(route, "path", None) for route in router.routes}


def test_compose_command_is_a_real_cli_command() -> None:
    """The service's command is a registered CLI command with options it accepts."""
    argv = _service()["command"]
    _check_command(argv)
    assert int(_option(argv, "--port")) == DEFAULT_PORT


def test_compose_publishes_the_port_the_service_listens_on() -> None:
    """The container side of the published port is the one the command listens on."""
    ports = [str(mapping).rsplit(":", 1)[-1] for mapping in _service()["ports"]]
    assert ports == [_option(_service()["command"], "--port")]


def test_every_meta_agent_variable_is_a_real_setting() -> None:
    """Each META_AGENT_* variable compose sets maps to a Settings field (or is a known one)."""
    known = env_names(Settings, ENV_PREFIX) | {CONFIG_ENV, DATA_DIR_ENV}
    ours = {name for name in _service()["environment"] if name.startswith(ENV_PREFIX)}
    assert ours, "compose sets no META_AGENT_* variable"
    assert ours <= known, f"not settings: {sorted(ours - known)}"


def test_compose_wires_redis_and_postgres() -> None:
    """The service uses the compose Redis and PostgreSQL, which it waits for."""
    environment = _service()["environment"]
    services = compose()["services"]
    assert environment["META_AGENT_CACHE__BACKEND"] == "redis"
    assert urlsplit(environment["META_AGENT_CACHE__URL"]).hostname == "redis"
    database = urlsplit(interpolate(environment["META_AGENT_DATABASE__URL"], SAMPLE))
    assert (database.scheme, database.hostname) == ("postgresql+psycopg", "postgres")
    assert {"redis", "postgres"} <= set(services)
    assert {"redis", "postgres"} <= set(_service()["depends_on"])


def test_compose_mounts_the_config_it_names_and_keeps_data_in_a_volume() -> None:
    """META_AGENT_CONFIG is inside the mounted config dir; the data dir is a named volume."""
    environment = _service()["environment"]
    mounts = dict(volume.split(":")[:2] for volume in _service()["volumes"])
    config_dir = mounts["./config"]
    config_file = environment[CONFIG_ENV]
    assert config_file.startswith(config_dir + "/")
    assert (ROOT / "config" / config_file.removeprefix(config_dir + "/")).is_file()
    data_volume = next(src for src, dest in mounts.items() if dest == environment[DATA_DIR_ENV])
    assert data_volume in compose()["volumes"]


def test_compose_environment_and_production_yaml_load_as_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With compose's environment, the mounted production.yaml loads and points at compose."""
    environment = _service()["environment"]
    for name, value in environment.items():
        monkeypatch.setenv(name, interpolate(str(value), SAMPLE))
    config_file = environment[CONFIG_ENV].replace("/app/config", str(ROOT / "config"))
    monkeypatch.setenv(CONFIG_ENV, config_file)
    settings = load_settings()
    assert settings.journal_url == "postgresql+psycopg://meta_agent:pw@postgres:5432/meta_agent"
    assert (settings.cache.backend, settings.cache.url) == ("redis", "redis://redis:6379/0")
    (secret,) = _service()["secrets"]
    assert secret in compose()["secrets"]
    assert str(settings.service.api_keys_file) == f"/run/secrets/{secret}"


def test_postgres_credentials_match_the_database_url() -> None:
    """The database, user and password compose creates are the ones the service's URL uses."""
    postgres = compose()["services"]["postgres"]["environment"]
    url = interpolate(_service()["environment"]["META_AGENT_DATABASE__URL"], SAMPLE)
    user = postgres["POSTGRES_USER"]
    password = interpolate(postgres["POSTGRES_PASSWORD"], SAMPLE)
    assert url == f"postgresql+psycopg://{user}:{password}@postgres:5432/{postgres['POSTGRES_DB']}"


def test_dockerignore_keeps_what_the_image_needs() -> None:
    """.dockerignore drops the venv and tests but never src, config, pyproject or the readme."""
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", "tests"} <= ignored
    assert not ignored & {"src", "config", "pyproject.toml", "README.md"}


def test_env_names_walks_nested_optional_sections() -> None:
    """The Settings walk reaches fields inside optional sections (credentials.vault.url)."""
    names = env_names(Settings, ENV_PREFIX)
    assert "META_AGENT_CREDENTIALS__VAULT__URL" in names
    assert "META_AGENT_CACHE__BACKEND" in names
    assert "META_AGENT_CACHE__BACKND" not in names


AGENTS = ("orchestrator", "asset", "campaign", "ad_creation", "insights")


def test_compose_runs_one_worker_service_per_agent() -> None:
    """Each agent has a service running `meta-agent worker` with its AGENT_TYPE, on the
    front's database and cache, in distributed mode."""
    services = compose()["services"]
    front = _service()["environment"]
    assert front["META_AGENT_DURABLE__MODE"] == "distributed"
    for agent in AGENTS:
        worker = services[agent]
        _check_command(worker["command"])
        assert worker["command"][1] == "worker"
        environment = worker["environment"]
        assert environment["AGENT_TYPE"] == agent
        for name in ("META_AGENT_DATABASE__URL", "META_AGENT_CACHE__URL", "META_AGENT_CONFIG"):
            assert environment[name] == front[name], (agent, name)
        assert {"redis", "postgres"} <= set(worker["depends_on"])


def test_procfile_runs_what_compose_runs() -> None:
    """deploy/Procfile (the processes without Docker) holds the same commands as compose."""
    processes = procfile()
    for argv in processes.values():
        _check_command(argv)
    assert processes["web"] == _service()["command"]
    services = compose()["services"]
    for agent in AGENTS:
        assert processes[agent] == [*services[agent]["command"], "--agent", agent]
