"""The MCP server's parts in process: the stdio side's framing and errors, and the proxy's retry rules
against the emulator (what may be sent twice and what must not)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator import Emulator
from sidecar.mcp.downstream import Downstream
from sidecar.mcp.flags import CORE
from sidecar.mcp.policy import READ_ONLY
from sidecar.mcp.problems import McpProblem
from sidecar.mcp.proxy import McpProxy, ProxyOptions
from sidecar.service import Settings, SidecarService
from sidecar.sites import Endpoints

from .flows import signed_in

# ------------------------------------------------------------------------------ the stdio side


class Collected:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    async def flush(self, timeout: float) -> None:
        return None

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.data.splitlines()]


class SlowProxy:
    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False

    async def forward(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        if method == "tools/call" and params and params.get("name") == "slow":
            self.started.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        if method == "tools/call" and params and params.get("name") == "broken":
            raise McpProblem("upstreamUnavailable", "The server is down.")
        if method == "prompts/list":
            raise McpProblem("noServer", "No server.")
        return {"tools": []}


async def serve_lines(lines: list[bytes], proxy: Any, between: Any = None) -> list[dict[str, Any]]:
    read_fd, write_fd = os.pipe()
    out = Collected()

    async def describe() -> dict[str, Any]:
        return {"title": "Alibaba Cloud (dev, read-only)", "instructions": "…"}

    downstream = Downstream(out, describe, "9.9")
    downstream.proxy = proxy
    with os.fdopen(read_fd, "rb", buffering=0) as stdin:
        serving = asyncio.ensure_future(downstream.serve(stdin, use_threads=True))
        for line in lines:
            os.write(write_fd, line)
            await asyncio.sleep(0.05)
            if between is not None:
                await between(line)
        os.close(write_fd)
        await asyncio.wait_for(serving, 10)
    return out.messages()


async def test_framing_local_answers_and_errors() -> None:
    messages = await serve_lines(
        [
            b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}\n',
            b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n',
            b"not json\n",
            b"[1,2]\n",
            b'{"jsonrpc":"2.0","id":"p","method":"ping"}\r\n',
            b'{"jsonrpc":"2.0","id":2,"method":"sampling/createMessage"}\n',
            b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"broken"}}\n',
            b'{"jsonrpc":"2.0","id":4,"method":"prompts/list"}\n',
            b'{"jsonrpc":"2.0","id":5,"method":"initialize","params":{"protocolVersion":"1999-01-01"}}',
        ],
        SlowProxy(),
    )
    by_id = {json.dumps(m.get("id")): m for m in messages}
    init = by_id["1"]["result"]
    assert init["protocolVersion"] == "2025-06-18" and init["serverInfo"]["title"] == "Alibaba Cloud (dev, read-only)"
    assert init["capabilities"]["tools"] == {"listChanged": True}
    assert [m["error"]["code"] for m in messages if m.get("id") is None] == [-32700, -32600]
    assert by_id['"p"']["result"] == {}
    assert by_id["2"]["error"]["code"] == -32601
    assert by_id["3"]["result"] == {"content": [{"type": "text", "text": "The server is down."}], "isError": True}
    assert by_id["4"]["error"]["data"]["kind"] == "noServer"
    assert by_id["5"]["result"]["protocolVersion"] == "2025-11-25"  # an unknown version: our latest (and no newline needed)


async def test_a_cancelled_request_stops_and_gets_no_answer() -> None:
    proxy = SlowProxy()

    async def cancel_once_started(line: bytes) -> None:
        if b'"slow"' in line:
            await asyncio.wait_for(proxy.started.wait(), 5)

    messages = await serve_lines(
        [
            b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"slow"}}\n',
            b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}\n',
            b'{"jsonrpc":"2.0","id":8,"method":"tools/list"}\n',
        ],
        proxy,
        cancel_once_started,
    )
    assert proxy.cancelled and [m["id"] for m in messages] == [8]


def test_server_notifications_are_passed_on_and_server_requests_are_not() -> None:
    out = Collected()
    downstream = Downstream(out, lambda: None, "1")  # type: ignore[arg-type]
    downstream.pass_on({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    downstream.pass_on({"jsonrpc": "2.0", "id": 3, "method": "sampling/createMessage", "params": {}})
    downstream.pass_on({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "x"}})
    assert [m["method"] for m in out.messages()] == ["notifications/tools/list_changed", "notifications/message"]


# ------------------------------------------------------------------------------ the proxy's retries


@pytest.fixture
async def proxy(emulator: Emulator, config_path: Path) -> Any:
    service = await signed_in(emulator, config_path, "dev")
    await service.aclose()
    endpoints = Endpoints.from_environment(emulator.mcp_env()).with_overrides(
        {"signinBase": emulator.url, "oauthBase": emulator.url, "stsEndpoint": emulator.url}
    )
    service = SidecarService(Settings(config_path=str(config_path), endpoints=endpoints))
    async with httpx.AsyncClient(timeout=10.0, follow_redirects=False) as http:
        forwarder = McpProxy(service, ProxyOptions(profile=None, mode=READ_ONLY, server=CORE), http, lambda _m: None)
        yield forwarder
        await forwarder.aclose()
    await service.aclose()


def tool_calls(emu: Emulator) -> list[str]:
    return [e["outcome"] for e in emu.mcp_log("mcp") if e.get("rpc") == "tools/call"]


async def test_a_tool_call_that_met_a_5xx_is_not_sent_again(emulator: Emulator, proxy: McpProxy) -> None:
    await proxy.forward("tools/list", None)
    emulator.inject("mcp", "500", match="tools/call")
    with pytest.raises(McpProblem) as caught:
        await proxy.forward("tools/call", {"name": "AlibabaCloud___ListProducts", "arguments": {}})
    assert caught.value.kind == "upstreamUnavailable" and "HTTP 500" in caught.value.message
    assert tool_calls(emulator) == ["fault 500"]


async def test_a_list_that_met_a_5xx_is_asked_once_more(emulator: Emulator, proxy: McpProxy) -> None:
    emulator.inject("mcp", "503", match="tools/list")
    assert (await proxy.forward("tools/list", None))["tools"]
    assert [e["outcome"] for e in emulator.mcp_log("mcp") if e.get("rpc") == "tools/list"] == ["fault 503", "ok"]


async def test_a_tool_call_whose_answer_was_lost_is_not_sent_again(emulator: Emulator, proxy: McpProxy) -> None:
    await proxy.forward("tools/list", None)
    emulator.inject("mcp", "drop_after", match="tools/call")
    with pytest.raises(McpProblem) as caught:
        await proxy.forward("tools/call", {"name": "AlibabaCloud___ListProducts", "arguments": {}})
    assert "may have run" in caught.value.message
    assert len(tool_calls(emulator)) == 1


async def test_a_token_refused_twice_is_a_permission_problem_not_a_loop(emulator: Emulator, proxy: McpProxy) -> None:
    emulator.inject("mcp", "403", match="tools/list")
    emulator.inject("mcp", "403", match="tools/list")
    with pytest.raises(McpProblem) as caught:
        await proxy.forward("tools/list", None)
    assert caught.value.kind == "permissionDenied" and proxy.tokens.fetched == 2
    assert (await proxy.forward("tools/list", None))["tools"]  # the faults are spent: works again


async def test_a_discovered_server_elsewhere_is_refused(emulator: Emulator, config_path: Path) -> None:
    """Discovery asked at ``localhost`` answers an address on ``127.0.0.1`` (another origin, as a
    hostile answer would name another host): the token is never sent there."""
    service = await signed_in(emulator, config_path, "dev")
    await service.aclose()
    asked = emulator.url.replace("127.0.0.1", "localhost")
    endpoints = Endpoints.from_environment(emulator.mcp_env()).with_overrides(
        {"oauthBase": emulator.url, "stsEndpoint": emulator.url, "openapiMcpEndpoint": asked}
    )
    service = SidecarService(Settings(config_path=str(config_path), endpoints=endpoints))
    async with httpx.AsyncClient(timeout=10.0, follow_redirects=False) as http:
        forwarder = McpProxy(service, ProxyOptions(profile=None, mode=READ_ONLY, server=CORE), http, lambda _m: None)
        with pytest.raises(McpProblem) as caught:
            await forwarder.forward("tools/list", None)
        await forwarder.aclose()
    await service.aclose()
    assert caught.value.kind == "upstreamRefused" and "refused" in caught.value.message
    assert emulator.mcp_log("mcp") == []  # nothing, token included, reached the address it named


async def test_a_token_refused_at_initialize_is_renewed_once(emulator: Emulator, proxy: McpProxy) -> None:
    emulator.inject("mcp", "401", match="initialize")
    assert (await proxy.forward("tools/list", None))["tools"]
    assert proxy.tokens.fetched == 2 and proxy.sessions_opened == 1
    assert [e["outcome"] for e in emulator.mcp_log("mcp") if e.get("rpc") == "initialize"] == ["fault 401", "ok"]


async def test_a_tool_call_whose_session_failed_to_open_is_sent_once_it_opens(emulator: Emulator, proxy: McpProxy) -> None:
    """The 503 answered the session's initialize: the call itself never went out, so it may go now."""
    emulator.inject("mcp", "503", match="initialize")
    result = await proxy.forward("tools/call", {"name": "AlibabaCloud___ListProducts", "arguments": {}})
    assert result["isError"] is False and tool_calls(emulator) == ["ok"]
