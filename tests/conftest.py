"""Shared fixtures. Every test runs with HOME pointing at a temporary folder, so nothing can ever
touch the real ~/.aliyun."""

from __future__ import annotations


import json
import os
import random
import shutil
import socket
from collections.abc import Iterator
from typing import Any
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

#: A test that needs POSIX (file modes and owners, signals, fork, symlinks a user may make) skips
#: where they are absent; tests/test_portability.py checks every such test says so.
posix_only = pytest.mark.skipif(os.name != "posix", reason="needs POSIX: file modes and owners, signals, symlinks")
#: A test that reads /proc (Linux) skips elsewhere.
linux_only = pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="reads /proc (Linux)")


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


def bind_port_range(size: int, *, listen: bool = False) -> list[socket.socket]:
    """Sockets of ours bound to ``size`` consecutive loopback ports (listening if ``listen``), below
    Linux's ephemeral range (32768 and up), so that no outgoing connection of another test takes one
    meanwhile. The caller closes them."""
    for _ in range(200):
        first = random.randrange(20000, 32768 - size, size)
        sockets: list[socket.socket] = []
        try:
            for port in range(first, first + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
                if listen:
                    sock.listen(1)
        except OSError:
            for sock in sockets:
                sock.close()
            continue
        return sockets
    raise RuntimeError("no free range of loopback ports")


def free_port_range(size: int = 5) -> list[int]:
    """``[first, last]``: ``size`` loopback ports that are free now (see ``bind_port_range``). For the
    callback's ``callbackPorts``: a test that holds them all (ports busy) can bind every one."""
    sockets = bind_port_range(size)
    first = sockets[0].getsockname()[1]
    for sock in sockets:
        sock.close()
    return [first, first + size - 1]
