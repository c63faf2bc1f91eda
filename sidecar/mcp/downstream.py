"""The agent's side: MCP over stdio, one JSON-RPC message per line in each direction (the MCP stdio
transport), read and written through ``platform.stdio`` (threads on Windows, pipes elsewhere).

``initialize``, ``ping`` and ``logging/setLevel`` are answered here; the methods in ``FORWARDED`` go to
the hosted server through the proxy, each in its own task so a slow tool does not hold up a
``tools/list``; ``notifications/cancelled`` cancels the named request. A failed tool call is a tool
result with ``isError: true`` (what agents show the model), any other failure a JSON-RPC error with
the problem's code and ``data.kind``. Notifications the hosted server sends (a changed tool list, log
messages, progress) are passed on; its requests to the client (sampling, elicitation) are not, as the
official proxy does not pass them either.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO, Protocol

from ..platform.stdio import Output, read_chunks
from .problems import McpProblem
from .upstream import LATEST_PROTOCOL, PROTOCOL_VERSIONS, RpcError

log = logging.getLogger(__name__)

FORWARDED = frozenset(
    {"tools/list", "tools/call", "prompts/list", "prompts/get", "resources/list", "resources/read", "resources/templates/list", "completion/complete"}
)
CAPABILITIES = {
    "tools": {"listChanged": True},
    "prompts": {"listChanged": False},
    "resources": {"subscribe": False, "listChanged": False},
    "logging": {},
}
#: How long, after the agent closed stdin, answers still being made may take.
DRAIN_SECONDS = 2.0
MAX_LINE = 64 << 20


class Forwarder(Protocol):
    async def forward(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]: ...


Describe = Callable[[], Awaitable[dict[str, Any]]]


def tool_error(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}


class Downstream:
    def __init__(self, output: Output, describe: Describe, version: str) -> None:
        self._output = output
        #: ``{"title", "instructions"}`` for the ``initialize`` answer (the profile and mode in words).
        self._describe = describe
        self._version = version
        self.proxy: Forwarder | None = None
        self._tasks: dict[Any, asyncio.Task[None]] = {}
        self._local: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "initialize": self._initialize,
            "ping": _empty,
            "logging/setLevel": _empty,
        }

    async def serve(self, stdin: BinaryIO, *, use_threads: bool) -> None:
        pending = b""
        async for chunk in read_chunks(stdin, use_threads=use_threads):
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                self._receive(line)
            if len(pending) > MAX_LINE:
                pending = b""
                self._send({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "A message over 64 MiB was dropped."}})
        if pending.strip():
            self._receive(pending)
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=DRAIN_SECONDS)

    def pass_on(self, message: dict[str, Any]) -> None:
        """A message from the hosted server outside an answer: notifications go to the agent."""
        method = message.get("method")
        if isinstance(method, str) and method.startswith("notifications/") and "id" not in message:
            self._send({"jsonrpc": "2.0", "method": method, **({"params": message["params"]} if "params" in message else {})})

    # ------------------------------------------------------------------ receiving

    def _receive(self, line: bytes) -> None:
        if not line.strip():
            return
        try:
            message = json.loads(line)
        except ValueError:
            self._send({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error: a line that is not JSON."}})
            return
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            if isinstance(message, dict) and ("result" in message or "error" in message):
                return  # an answer to a request we never send
            self._send({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid request: one JSON-RPC object per line."}})
            return
        if "id" not in message:
            self._notification(message)
            return
        task = asyncio.ensure_future(self._answer(message))
        key = json.dumps(message["id"])
        self._tasks[key] = task
        task.add_done_callback(lambda _t, k=key: self._tasks.pop(k, None))

    def _notification(self, message: dict[str, Any]) -> None:
        if message["method"] == "notifications/cancelled":
            params = message.get("params") if isinstance(message.get("params"), dict) else {}
            task = self._tasks.get(json.dumps(params.get("requestId")))
            if task is not None:
                task.cancel()

    # ------------------------------------------------------------------ answering

    async def _answer(self, message: dict[str, Any]) -> None:
        method, message_id = message["method"], message["id"]
        params = message.get("params") if isinstance(message.get("params"), dict) else None
        try:
            answer = {"result": await self._dispatch(method, params)}
        except asyncio.CancelledError:
            return  # the agent cancelled it: no answer, as the protocol says
        except McpProblem as problem:
            log.warning("%s failed (%s): %s", method, problem.kind, problem.message)
            answer = {"result": tool_error(problem.message)} if method == "tools/call" else {"error": problem.to_error()}
        except RpcError as exc:
            answer = {"error": _clean_error(exc.error)}
        except Exception:  # a bug of ours: one line, the agent gets a sentence, the process lives on
            log.exception("%s failed inside aliyun-sidecar", method)
            answer = {"error": {"code": -32603, "message": "Internal error in aliyun-sidecar; its log file says more."}}
        self._send({"jsonrpc": "2.0", "id": message_id, **answer})

    async def _dispatch(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        local = self._local.get(method)
        if local is not None:
            return await local(params or {})
        if method not in FORWARDED or self.proxy is None:
            raise RpcError({"code": -32601, "message": f"Method not found: {method[:100]}"})
        return await self.proxy.forward(method, params)

    async def _initialize(self, params: dict[str, Any]) -> dict[str, Any]:
        asked = params.get("protocolVersion")
        description = await self._describe()
        return {
            "protocolVersion": asked if asked in PROTOCOL_VERSIONS else LATEST_PROTOCOL,
            "capabilities": CAPABILITIES,
            "serverInfo": {"name": "aliyun-sidecar", "title": description["title"], "version": self._version},
            "instructions": description["instructions"],
        }

    def _send(self, message: dict[str, Any]) -> None:
        self._output.write(json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n")


async def _empty(_params: dict[str, Any]) -> dict[str, Any]:
    return {}


def _clean_error(error: dict[str, Any]) -> dict[str, Any]:
    """The server's JSON-RPC error as the agent gets it: an integer code and a string message."""
    code = error.get("code")
    cleaned: dict[str, Any] = {
        "code": code if isinstance(code, int) and not isinstance(code, bool) else -32603,
        "message": str(error.get("message") or "The Alibaba Cloud MCP server reported an error.")[:2000],
    }
    if "data" in error:
        cleaned["data"] = error["data"]
    return cleaned


__all__ = ["CAPABILITIES", "Downstream", "FORWARDED", "tool_error"]
