"""sidecar/config/watcher.py: one report per change of the file, a broken file reported and logged
once per transition (not once per poll)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from sidecar.config.store import ConfigStore
from sidecar.config.watcher import ConfigWatcher
from sidecar.errors import SidecarError


class Seen:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, SidecarError | None]] = []

    async def __call__(self, doc: Any, error: SidecarError | None) -> None:
        self.calls.append((doc, error))


def write(path: Path, text: str, bump: int) -> None:
    path.write_text(text)
    stamp = 1_700_000_000 + bump  # distinct mtimes, whatever the file system's resolution
    os.utime(path, (stamp, stamp))


@pytest.fixture
def setup(config_path: Path) -> tuple[ConfigWatcher, Seen, Path]:
    config_path.parent.mkdir(parents=True, exist_ok=True)
    seen = Seen()
    return ConfigWatcher(ConfigStore(config_path), seen), seen, config_path


async def test_start_state_then_only_changes_are_reported(setup: tuple[ConfigWatcher, Seen, Path]) -> None:
    watcher, seen, path = setup
    write(path, '{"current": "a", "profiles": [{"name": "a", "mode": "AK"}]}', 1)
    await watcher.check()
    await watcher.check()
    assert len(seen.calls) == 1 and seen.calls[0][0]["current"] == "a"
    write(path, '{"current": "b", "profiles": [{"name": "b", "mode": "AK"}]}', 2)
    await watcher.check()
    assert len(seen.calls) == 2 and seen.calls[1][0]["current"] == "b"


async def test_a_broken_file_is_reported_and_logged_once_per_transition(
    setup: tuple[ConfigWatcher, Seen, Path], caplog: pytest.LogCaptureFixture
) -> None:
    watcher, seen, path = setup
    caplog.set_level(logging.INFO, logger="sidecar.config.watcher")
    write(path, '{"current": "x", "profiles": [}', 1)
    for _ in range(3):
        await watcher.check()
    write(path, '{"current": "x", "profiles": [}', 2)  # touched, still the same problem
    await watcher.check()
    errors = [e for _, e in seen.calls if e is not None]
    assert len(errors) == 1 and errors[0].kind == "configCorrupt"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "configCorrupt" in warnings[0].getMessage()

    write(path, '{"current": "", "profiles": []}', 3)
    await watcher.check()
    assert seen.calls[-1][1] is None and seen.calls[-1][0]["profiles"] == []
    write(path, "{", 4)
    await watcher.check()
    assert seen.calls[-1][1] is not None
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2
