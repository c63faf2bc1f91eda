"""`python -m sidecar signin` driven through a pseudo-terminal, as a person over SSH would use it."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sidecar.config import profiles as P
from emulator import Emulator

from .conftest import free_port_range, load_json

REPO = Path(__file__).resolve().parent.parent
URL_RE = re.compile(r"(http://127\.0\.0\.1:\d+/oauth2/v1/auth\?\S+)")


class Terminal:
    """A child process on a pty: read what it shows, type into it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, close_fds=True)
        os.close(slave)
        self.screen = ""

    def read_until(self, pattern: str | re.Pattern[str], timeout: float = 15) -> re.Match[str]:
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.screen)
            if match:
                return match
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"did not see {regex.pattern!r}; the screen shows:\n{self.screen[-2000:]}")
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the child closed the pty
                    chunk = b""
                if not chunk:
                    time.sleep(0.05)
                self.screen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> int:
        try:
            code = self.proc.wait(10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            os.close(self.master)
        return code


@pytest.fixture
def terminal_env(emulator: Emulator, isolated_home: Path) -> dict[str, str]:
    return {
        "HOME": str(isolated_home),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "ALIYUN_SIDECAR_SIGNIN_BASE": emulator.url,
        "ALIYUN_SIDECAR_OAUTH_BASE": emulator.url,
        "TERM": "dumb",
    }


def signin_argv(config: Path, *extra: str) -> list[str]:
    first, last = free_port_range()
    return [
        sys.executable, "-m", "sidecar", "--config-path", str(config), "signin", "--profile", "ssh",
        "--site", "INTL", "--region", "ap-southeast-1", "--no-browser", "--callback-ports", f"{first}-{last}",
        *extra,
    ]


def test_paste_back_in_a_terminal(emulator: Emulator, terminal_env: dict[str, str], config_path: Path) -> None:
    emulator.set_auto_approve(False)
    term = Terminal(signin_argv(config_path), terminal_env)
    url = term.read_until(URL_RE).group(1)
    term.read_until("paste it here")
    redirect = emulator.approve(url)  # the user signs in on their laptop's browser...
    # ...first pasting an address from an older attempt, then the right one
    term.type(redirect.replace("state=", "state=old") + "\n")
    term.read_until("another or an older sign-in")
    term.type(redirect + "\n")
    term.read_until("Signed in: profile 'ssh' \\(INTL\\)")
    assert term.close() == 0
    doc = load_json(config_path)
    profile = P.get_profile(doc, "ssh")
    assert doc["current"] == "ssh" and profile["oauth_site_type"] == "INTL" and profile["region_id"] == "ap-southeast-1"
    assert profile["oauth_refresh_token"] not in term.screen
    assert profile["access_key_secret"] not in term.screen


def test_browser_callback_from_a_terminal(emulator: Emulator, terminal_env: dict[str, str], config_path: Path) -> None:
    emulator.set_auto_approve(True)
    term = Terminal(signin_argv(config_path), terminal_env)
    url = term.read_until(URL_RE).group(1)
    page = httpx.get(url, follow_redirects=True, timeout=10)  # the browser on this machine
    assert "Authorization successful" in page.text
    term.read_until("Signed in")
    assert term.close() == 0
    assert load_json(config_path)["current"] == "ssh"


def test_denied_sign_in_in_a_terminal(emulator: Emulator, terminal_env: dict[str, str], config_path: Path) -> None:
    emulator.set_auto_approve(False)
    term = Terminal(signin_argv(config_path), terminal_env)
    url = term.read_until(URL_RE).group(1)
    term.read_until("paste it here")
    term.type(emulator.deny(url) + "\n")
    term.read_until("refused")
    assert term.close() == 1
    assert not config_path.exists()
