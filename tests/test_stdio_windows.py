"""The real sidecar answers over stdio on Windows: simulated on Linux with CPython's own proactor loop
code and an IOCP stand-in that refuses the CRT descriptors of stdin and stdout (tests/windows_sim.py),
``sys.platform`` reading ``win32``. Before stdin/stdout went behind ``sidecar/platform/stdio.py`` the
sidecar never answered ``initialize`` there."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from .conftest import FIXTURES

SIM = Path(__file__).resolve().parent / "windows_sim.py"
#: How long one answer may take before the sidecar is taken to hang (generous: a slow CI machine).
ANSWER_TIMEOUT = 30.0


class Child:
    """A sidecar child over stdio, its frames read by a thread (so a hang fails, never blocks)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.frames: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.process.stdout
        assert out is not None
        while True:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                byte = out.read(1)
                if not byte:
                    return
                head += byte
            length = int(head.split(b":", 1)[1].split(b"\r\n", 1)[0])
            self.frames.put(json.loads(out.read(length)))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def answer(self, msg_id: int) -> dict[str, Any]:
        while True:
            try:
                frame = self.frames.get(timeout=ANSWER_TIMEOUT)
            except queue.Empty:
                self.process.kill()
                raise AssertionError(f"no answer to request {msg_id} in {ANSWER_TIMEOUT:.0f} s: the sidecar hangs") from None
            if frame.get("id") == msg_id:
                return frame


def test_the_sidecar_answers_initialize_list_profiles_and_shutdown_under_the_proactor_loop(tmp_path: Path) -> None:
    profile = tmp_path / "Users" / "张三 Zhang"  # a space and non-ASCII, as real Windows user names have
    config = profile / ".aliyun" / "config.json"
    config.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "cli_config.json", config)
    env = {"USERPROFILE": str(profile), "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"}
    child = Child([sys.executable, str(SIM)], env)
    try:
        child.send({"id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": None, "capabilities": {},
            "initializationOptions": {"keepFresh": False},
        }})
        init = child.answer(1)
        assert "aliyun" in init["result"]["capabilities"]["experimental"], init
        child.send({"method": "initialized", "params": {}})
        child.send({"id": 2, "method": "aliyun/listProfiles", "params": {}})
        listing = child.answer(2)["result"]
        assert listing["configPath"] == str(config)  # %USERPROFILE%\.aliyun\config.json, as the CLI finds it
        assert {p["name"] for p in listing["profiles"]} >= {"oauth-dev"}
        child.send({"id": 3, "method": "shutdown"})
        assert child.answer(3)["result"] is None
        child.send({"method": "exit"})
        assert child.process.wait(ANSWER_TIMEOUT) == 0
    finally:
        if child.process.poll() is None:
            child.process.kill()
        stderr = child.process.stderr.read().decode("utf-8", "replace") if child.process.stderr else ""
    assert "Traceback" not in stderr, stderr[-2000:]


def test_the_stand_in_refuses_what_iocp_refuses() -> None:
    """The simulation is only worth something if asyncio's pipe transports really fail under it."""
    sys.path.insert(0, str(SIM.parent))
    try:
        import windows_sim
    finally:
        sys.path.remove(str(SIM.parent))
    iocp = windows_sim.RefusingIocp()
    with pytest.raises(OSError) as info:
        iocp.recv(sys.stdin, 1)
    assert info.value.errno == windows_sim.ERROR_INVALID_PARAMETER


def test_the_mcp_server_answers_over_stdio_under_the_proactor_loop(tmp_path: Path) -> None:
    """``aliyun-sidecar mcp`` reads and writes through the same ``platform.stdio`` (threads on Windows)."""
    profile = tmp_path / "Users" / "张三 Zhang"
    config = profile / ".aliyun" / "config.json"
    config.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "cli_config.json", config)
    env = {"USERPROFILE": str(profile), "LOCALAPPDATA": str(profile / "AppData" / "Local"), "PATH": "/usr/bin:/bin",
           "PYTHONIOENCODING": "utf-8"}
    process = subprocess.Popen([sys.executable, str(SIM), "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "ping"},
    ]
    try:
        out, err = process.communicate(b"".join(json.dumps(m).encode() + b"\n" for m in lines), timeout=ANSWER_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("the MCP server hangs under the proactor loop") from None
    answers = {m["id"]: m for m in map(json.loads, out.splitlines())}
    assert answers[1]["result"]["serverInfo"]["name"] == "aliyun-sidecar", err.decode(errors="replace")[-2000:]
    assert answers[2]["result"] == {} and process.returncode == 0
