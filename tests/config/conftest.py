"""Fixtures for configuration tests: a clean environment and a fake Vault on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.config.fake_vault import FakeVault
from tests.conftest import LiveServer

VAULT_ROOT_TOKEN = "vault-root-token"
_OWN_VARIABLES = ("META_ACCESS_TOKEN", "VAULT_TOKEN", "VAULT_ADDR")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No META_AGENT_* or token variable leaks in from the shell; data goes to a tmp dir."""
    for name in list(os.environ):
        if name.startswith("META_AGENT_") or name in _OWN_VARIABLES or "PROXY" in name.upper():
            monkeypatch.delenv(name)
    monkeypatch.setenv("META_AGENT_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def vault() -> FakeVault:
    """The fake Vault's state (put secrets here)."""
    return FakeVault(VAULT_ROOT_TOKEN)


@pytest.fixture
def vault_url(vault: FakeVault) -> Iterator[str]:
    """The fake Vault served by uvicorn on a free loopback port."""
    with LiveServer(vault.app()) as server:
        yield server.url
