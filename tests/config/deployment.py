"""Readers for the deployment files (Dockerfile, docker-compose.yml) and the Settings model."""

from __future__ import annotations

import json
import re
import shlex
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
_COMPOSE_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def dockerfile_instructions(path: Path = ROOT / "Dockerfile") -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def exec_form(arguments: str) -> list[str]:
    """A Dockerfile JSON (exec form) argument list."""
    parsed = json.loads(arguments)
    assert isinstance(parsed, list), arguments
    return [str(item) for item in parsed]


def compose(path: Path = ROOT / "docker-compose.yml") -> dict[str, Any]:
    """docker-compose.yml as data."""
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def procfile(path: Path = ROOT / "deploy" / "Procfile") -> dict[str, list[str]]:
    """deploy/Procfile as process name → argv (comments and blank lines skipped)."""
    processes: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, command = line.split(":", 1)
        processes[name.strip()] = shlex.split(command)
    return processes


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``, as compose does."""

    def one(match: re.Match[str]) -> str:
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if name in variables and (variables[name] or not operator or ":" not in operator):
            return variables[name]
        if operator and operator.endswith("?"):
            raise KeyError(f"compose needs {name}: {rest}")
        return rest or ""

    return _COMPOSE_VARIABLE.sub(one, value)


def env_names(model: type[BaseModel], prefix: str) -> set[str]:
    """Every environment variable that sets a field of ``model`` (nested with ``__``)."""
    names: set[str] = set()
    for name, field in model.model_fields.items():
        variable = f"{prefix}{name.upper()}"
        names.add(variable)
        for nested in _models_in(field.annotation):
            names |= env_names(nested, f"{variable}__")
    return names


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []
