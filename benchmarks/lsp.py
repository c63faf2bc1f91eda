"""A minimal asyncio JSON-RPC client for ``python -m sidecar`` over stdio (LSP base protocol framing).

Deliberately not pygls' ``LanguageClient``: the benchmarks measure the sidecar, so the client side must
cost as little as possible and must be able to put thousands of requests on the wire at once
(``send`` returns a future; nothing waits for the answer before the next request is written).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


class RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.code = error.get("code")
        self.data = error.get("data") or {}
        self.kind = self.data.get("kind") if isinstance(self.data, dict) else None


def sidecar_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment: its own HOME, no profile variables, the repository importable."""
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    env.update(extra or {})
    return env


class Client:
    """One sidecar process and the JSON-RPC conversation with it."""

    def __init__(self, proc: asyncio.subprocess.Process, spawned_at: float) -> None:
        self.proc = proc
        self.spawned_at = spawned_at
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        #: When each answer arrived (perf_counter), by request id; only kept while ``track`` is on.
        self.arrivals: dict[int, float] = {}
        self.track = False
        self.notifications: list[tuple[str, Any]] = []
        self.on_notification: Callable[[str, Any], None] | None = None
        self.stderr = bytearray()
        self._reader = asyncio.ensure_future(self._read_loop())
        self._stderr_task = asyncio.ensure_future(self._drain_stderr())

    @classmethod
    async def spawn(
        cls,
        home: Path,
        *,
        python_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        module: str = "sidecar",
    ) -> Client:
        """``python -m <module>``: the sidecar, or ``benchmarks.floor`` (the bare loop it is compared with)."""
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *python_args,
            "-m",
            module,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=sidecar_env(home, env),
            cwd=str(REPO),
            limit=64 * 1024 * 1024,
        )
        return cls(proc, started)

    @property
    def pid(self) -> int:
        return self.proc.pid

    # ----------------------------------------------------------------- wire

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps(message, separators=(",", ":")).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    async def drain(self) -> None:
        assert self.proc.stdin is not None
        await self.proc.stdin.drain()

    def send(self, method: str, params: Any = None) -> tuple[int, asyncio.Future[Any]]:
        """Write a request now; the future resolves to the result or raises ``RpcError``."""
        msg_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        self._write({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": {} if params is None else params})
        return msg_id, future

    async def request(self, method: str, params: Any = None, timeout: float = 30.0) -> Any:
        _, future = self.send(method, params)
        await self.drain()
        return await asyncio.wait_for(future, timeout)

    def notify(self, method: str, params: Any = None) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    async def _read_loop(self) -> None:
        reader = self.proc.stdout
        assert reader is not None
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self._dispatch(json.loads(body))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("the sidecar closed its output"))
            self._pending.clear()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message:
            if "id" in message:  # a request from the sidecar (showDocument, progress/create)
                result: Any = {"success": False} if message["method"] == "window/showDocument" else None
                self._write({"jsonrpc": "2.0", "id": message["id"], "result": result})
            else:
                self.notifications.append((message["method"], message.get("params")))
                if self.on_notification is not None:
                    self.on_notification(message["method"], message.get("params"))
            return
        msg_id = message.get("id")
        if self.track:
            self.arrivals[msg_id] = time.perf_counter()
        future = self._pending.pop(msg_id, None)
        if future is None or future.done():
            return
        if "error" in message:
            future.set_exception(RpcError(message["error"]))
        else:
            future.set_result(message.get("result"))

    async def _drain_stderr(self) -> None:
        stream = self.proc.stderr
        assert stream is not None
        while chunk := await stream.read(65536):
            self.stderr.extend(chunk)
            if len(self.stderr) > 4 * 1024 * 1024:
                del self.stderr[: len(self.stderr) - 1024 * 1024]

    # ----------------------------------------------------------------- LSP lifecycle

    async def initialize(self, options: dict[str, Any], timeout: float = 30.0) -> Any:
        params = {
            "processId": os.getpid(),
            "rootUri": None,
            "capabilities": {"window": {"showDocument": {"support": True}, "workDoneProgress": True}},
            "initializationOptions": options,
        }
        result = await self.request("initialize", params, timeout)
        self.notify("initialized", {})
        return result

    async def stop(self, timeout: float = 5.0) -> int:
        """shutdown + exit; kill if it does not go. Returns the exit code."""
        if self.proc.returncode is None:
            try:
                await self.request("shutdown", None, timeout)
                self.notify("exit", None)
                await self.drain()
                await asyncio.wait_for(self.proc.wait(), timeout)
            except (asyncio.TimeoutError, ConnectionError, RpcError, BrokenPipeError):
                if self.proc.returncode is None:
                    self.proc.kill()
                    await self.proc.wait()
        self._reader.cancel()
        try:
            await asyncio.wait_for(self._stderr_task, 5)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            pass
        return self.proc.returncode if self.proc.returncode is not None else -1


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` (now) and ``VmHWM`` (peak) of a process, in KiB, from /proc."""
    found: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0])
    except OSError:
        pass
    return found
