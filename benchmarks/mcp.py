"""What ``aliyun-sidecar mcp`` costs an agent: its round trip beside a direct call, and the time to the
first tool list.

* **Round trip**: a read tool call (``AlibabaCloud___CallCLI`` ``aliyun sts GetCallerIdentity``)
  through a real ``python -m sidecar mcp`` process over stdio (the way an MCP client drives it: one
  JSON line each way), against the same call made directly on an open Streamable HTTP session with the
  emulator (the floor: what any client pays to the server; no stdio hop, no profile lookup). Sequential
  calls in blocks alternating between the two, so both see the same load.
* **First tool list**: spawn → ``initialize`` answered → ``tools/list`` answered, the proxy doing its
  first STS read, ``GenerateAccessToken``, the read-only policy, discovery and the upstream
  ``initialize``; against the floor of a direct client doing token, discovery-free ``initialize`` and
  ``tools/list`` in process.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.seed import sign_in
from emulator import Emulator
from sidecar.mcp.upstream import Session
from sidecar.service import Settings, SidecarService
from sidecar.sites import Endpoints

REPO = Path(__file__).resolve().parent.parent
TOOL = "AlibabaCloud___CallCLI"
READ = {"command": "aliyun sts GetCallerIdentity"}


class StdioAgent:
    """A minimal MCP client over stdio: one JSON line out, read lines until the answer with its id."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._ids = 0

    @classmethod
    async def start(cls, emu: Emulator, config: Path, home: Path) -> StdioAgent:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALIYUN_SIDECAR_")}
        env.update(emu.mcp_env(), HOME=str(home), ALIYUN_SIDECAR_STS_ENDPOINT=emu.url, ALIYUN_SIDECAR_OAUTH_BASE=emu.url)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sidecar", "--config-path", str(config), "mcp",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            cwd=str(REPO), env=env, limit=1 << 24,
        )
        return cls(process)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._ids += 1
        message = {"jsonrpc": "2.0", "id": self._ids, "method": method, **({"params": params} if params is not None else {})}
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        await self.process.stdin.drain()
        while True:
            answer = json.loads(await self.process.stdout.readline())
            if answer.get("id") == self._ids:
                if "error" in answer or answer.get("result", {}).get("isError"):
                    raise RuntimeError(f"{method} failed: {str(answer)[:200]}")
                return answer["result"]

    async def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except asyncio.TimeoutError:
            self.process.kill()
            await self.process.wait()


async def _direct(emu: Emulator, http: httpx.AsyncClient, token: str) -> Session:
    session = Session(http, emu.mcp_url(), token, lambda _m: None)
    await session.open()
    return session


async def _token(http: httpx.AsyncClient, emu: Emulator, config: Path) -> str:
    from sidecar.mcp import openapi

    endpoints = Endpoints.from_environment(emu.mcp_env()).with_overrides({"oauthBase": emu.url, "stsEndpoint": emu.url})
    service = SidecarService(Settings(config_path=str(config), endpoints=endpoints))
    try:
        sts = await service.credentials("dev")
    finally:
        await service.aclose()
    return (await openapi.generate_access_token(http, endpoints.site("CN"), sts)).access_token


async def bench_mcp(emu: Emulator, work: Path, *, calls: int, starts: int) -> dict[str, Any]:
    home = work / "mcp-home"
    config = home / ".aliyun" / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    await sign_in(emu, config)
    first, first_floor = [], []
    async with httpx.AsyncClient(timeout=30.0) as http:
        for _ in range(starts):
            started = time.perf_counter()
            agent = await StdioAgent.start(emu, config, home)
            await agent.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}})
            await agent.call("tools/list")
            first.append(time.perf_counter() - started)
            await agent.close()
            started = time.perf_counter()
            direct = await _direct(emu, http, await _token(http, emu, config))
            await direct.request("tools/list", None)
            first_floor.append(time.perf_counter() - started)
            await direct.close()
        agent = await StdioAgent.start(emu, config, home)
        await agent.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}})
        direct = await _direct(emu, http, await _token(http, emu, config))
        through, floor = [], []
        blocks = 8
        for _ in range(blocks):
            for _ in range(max(1, calls // blocks)):
                started = time.perf_counter()
                await agent.call("tools/call", {"name": TOOL, "arguments": READ})
                through.append(time.perf_counter() - started)
            for _ in range(max(1, calls // blocks)):
                started = time.perf_counter()
                await direct.request("tools/call", {"name": TOOL, "arguments": READ})
                floor.append(time.perf_counter() - started)
        await agent.close()
        await direct.close()
    return {"first": first, "first_floor": first_floor, "through": through, "floor": floor}


__all__ = ["bench_mcp"]
