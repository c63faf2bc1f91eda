"""Shared fixtures. Every test runs with HOME pointing at a temporary folder, so nothing can ever
touch the real ~/.aliyun."""

from __future__ import annotations


import json
import shutil
from collections.abc import Iterator
from typing import Any
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in (
        "ALIBABA_CLOUD_PROFILE",
        "ALIBABACLOUD_PROFILE",
        "ALICLOUD_PROFILE",
        "ALIBABA_CLOUD_IGNORE_PROFILE",
        "ALIBABACLOUD_IGNORE_PROFILE",
    ):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "aliyun" / "config.json"


@pytest.fixture
def cli_config(config_path: Path) -> Path:
    """A config file as the official CLI writes it: every mode, unknown fields at both levels."""
    config_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "cli_config.json", config_path)
    config_path.chmod(0o600)
    return config_path


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())


def by_name(listing: Any, name: str) -> Any:
    """The entry of ``name`` in a profile listing, typed (``ProfileListing``) or JSON (``ProfileList``):
    a file the sidecar created also holds the CLI's ``default`` profile."""
    if isinstance(listing, dict):
        return next(p for p in listing["profiles"] if p["name"] == name)
    return next(p for p in listing.profiles if p.name == name)


@pytest.fixture
def emulator() -> Iterator[object]:
    from emulator import Emulator

    emu = Emulator(host="127.0.0.1", port=0, auto_approve=True)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(params=["camel", "pascal", "noRefreshToken", "noRotation", "strict"])
def variant_emulator(request: pytest.FixtureRequest) -> Iterator[object]:
    """An auto-approving emulator playing one reading of the service (``tests.flows.VARIANTS``)."""
    from emulator import Emulator

    from .flows import VARIANTS

    # Domain tests let the OS pick the callback port; the registered-ports rule is the e2e tests' part.
    settings = {k: v for k, v in VARIANTS[request.param].items() if k != "registered_ports_only"}
    emu = Emulator(host="127.0.0.1", port=0, auto_approve=True, **settings)
    emu.variant = request.param  # type: ignore[attr-defined]
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()
