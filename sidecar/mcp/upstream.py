"""One MCP session with the hosted server over Streamable HTTP (MCP 2025-03-26 and later).

What the transport asks of a client, as the official SDK's client does it (mcp.md §6.2):

* every message is a ``POST`` of one JSON-RPC message, ``Accept: application/json, text/event-stream``;
  a request's answer is a JSON body or an SSE stream of ``message`` events that ends with it (other
  messages on that stream, notifications, are handed to ``on_message``); a notification gets ``202``;
* ``initialize`` may return an ``Mcp-Session-Id``, sent back on every later message with
  ``Mcp-Protocol-Version``; a ``404`` for a message with a session id means the session is gone
  (``SessionLost``: the caller opens a new one);
* a ``GET`` opens the stream on which the server sends what is not an answer (``405``: the server has
  none); closing sends ``DELETE`` so the server can free the session.

Why not the official SDK's client: it needs pydantic (native code, one build per platform and Python),
and the sidecar ships as one pure-Python VSIX; SSE parsing is ``httpx-sse``'s. The SDK's client is
the test oracle for the downstream side and drives the emulator's server in its own tests.

The bearer token is set per message, so a renewed token is used at once on the open session (the
official proxy keeps the old one until the connection is rebuilt). Redirects are not followed: the
token goes only where the discovered address says.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
from httpx_sse import EventSource

from ..logs import scrub_echo
from ..timing import MCP_CLOSE_TIMEOUT
from ..oauth.client import json_object
from .openapi import service_words

log = logging.getLogger(__name__)

#: The versions we speak, newest first (the official SDK's set).
PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
LATEST_PROTOCOL = PROTOCOL_VERSIONS[0]
CLIENT_INFO = {"name": "aliyun-sidecar", "version": "0.1.0"}
#: Times the GET stream is reopened after it drops (the official client's 2).
STREAM_REOPENS = 2


class HttpRefused(Exception):
    """A non-2xx answer other than a lost session (``status``; 401/403 mean the token was refused)."""

    def __init__(self, status: int, words: str = "", permission: str = "") -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        #: What the answer said (scrubbed), and the RAM action it names, if any.
        self.words = words
        self.permission = permission


class SessionLost(Exception):
    """The server no longer knows the session (404): the request did not run."""


class AnswerLost(SessionLost):
    """The answer's stream ended without the answer: the request may have run."""


class RpcError(Exception):
    """The server answered the request with a JSON-RPC error (passed on to the agent as it is)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(str(error.get("message", "error")))
        self.error = error


OnMessage = Callable[[dict[str, Any]], None]


class Session:
    def __init__(self, http: httpx.AsyncClient, url: str, token: str, on_message: OnMessage) -> None:
        self._http = http
        self.url = url
        #: The bearer token; may be replaced while the session is open (see the module docstring).
        self.token = token
        self._on_message = on_message
        self._ids = itertools.count()
        self.session_id: str | None = None
        self.protocol = LATEST_PROTOCOL
        self.server_info: dict[str, Any] = {}
        self._stream: asyncio.Task[None] | None = None
        self.lost = False

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        params = {"protocolVersion": LATEST_PROTOCOL, "capabilities": {}, "clientInfo": CLIENT_INFO}
        result = await self.request("initialize", params)
        version = result.get("protocolVersion")
        if isinstance(version, str) and version:
            if version not in PROTOCOL_VERSIONS:
                log.warning("The MCP server speaks protocol %s (we know %s); going on", version[:32], ", ".join(PROTOCOL_VERSIONS))
            self.protocol = version
        info = result.get("serverInfo")
        self.server_info = info if isinstance(info, dict) else {}
        await self.notify("notifications/initialized")
        if self.session_id:
            self._stream = asyncio.ensure_future(self._listen())

    async def close(self) -> None:
        """Stop the GET stream and end the session on the server (best effort, bounded)."""
        if self._stream is not None:
            self._stream.cancel()
        if self.session_id and not self.lost:
            try:
                await self._http.delete(self.url, headers=self._headers(), timeout=MCP_CLOSE_TIMEOUT)
            except httpx.HTTPError:
                pass
        self.lost = True

    # ------------------------------------------------------------------ messages

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """Send a request and return its ``result`` (``RpcError`` for an error answer)."""
        message_id = next(self._ids)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": message_id, "method": method}
        if params is not None:
            message["params"] = params
        answer = await self._post(message, method == "initialize")
        if answer is None or answer.get("id") != message_id:
            raise AnswerLost("the server gave no answer to the request")
        if "error" in answer:
            raise RpcError(self._scrubbed(answer["error"]))
        result = answer.get("result")
        return result if isinstance(result, dict) else {}

    def _scrubbed(self, error: Any) -> dict[str, Any]:
        """The server's error without our token, should it ever repeat it."""
        if not isinstance(error, dict):
            error = {"code": -32603, "message": str(error)}
        cleaned = {**error, "message": scrub_echo(error.get("message", ""), (self.token,), 2000)}
        if self.token in json.dumps(cleaned.get("data", "")):
            cleaned.pop("data")
        return cleaned

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        await self._post(message, False)

    def _headers(self, initializing: bool = False) -> dict[str, str]:
        headers = {"authorization": f"Bearer {self.token}", "accept": "application/json, text/event-stream"}
        if self.session_id and not initializing:
            headers["mcp-session-id"] = self.session_id
            headers["mcp-protocol-version"] = self.protocol
        return headers

    async def _post(self, message: dict[str, Any], initializing: bool) -> dict[str, Any] | None:
        headers = {**self._headers(initializing), "content-type": "application/json"}
        body = json.dumps(message).encode("utf-8")
        async with self._http.stream("POST", self.url, headers=headers, content=body) as response:
            await self._check(response)
            if initializing:
                self.session_id = response.headers.get("mcp-session-id") or None
            if response.status_code == 202 or "id" not in message:
                return None
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind == "text/event-stream":
                return await self._answer_from_stream(response, message["id"])
            raw = await response.aread()
        try:
            answer = json.loads(raw)
        except ValueError:
            raise HttpRefused(response.status_code, "The answer was not JSON.") from None
        return answer if isinstance(answer, dict) else None

    async def _check(self, response: httpx.Response) -> None:
        if response.status_code == 404 and self.session_id:
            self.lost = True
            raise SessionLost("the server no longer knows the session")
        if not 200 <= response.status_code < 300:
            await response.aread()
            words = service_words(json_object(response) or {}, (self.token,))
            raise HttpRefused(response.status_code, words.said, words.action)

    async def _answer_from_stream(self, response: httpx.Response, message_id: Any) -> dict[str, Any] | None:
        async for event in EventSource(response).aiter_sse():
            message = _message(event.event, event.data)
            if message is None:
                continue
            if message.get("id") == message_id and ("result" in message or "error" in message):
                return message
            self._on_message(message)
        return None

    async def _listen(self) -> None:
        """The GET stream: what the server sends outside answers (list changes, log messages)."""
        for _ in range(1 + STREAM_REOPENS):
            try:
                async with self._http.stream("GET", self.url, headers=self._headers(), timeout=httpx.Timeout(10.0, read=None)) as response:
                    if response.status_code == 404:
                        self.lost = True
                        return
                    if response.status_code != 200:
                        return  # 405: the server keeps no stream; anything else: not worth insisting
                    async for event in EventSource(response).aiter_sse():
                        message = _message(event.event, event.data)
                        if message is not None:
                            self._on_message(message)
            except httpx.HTTPError:
                pass
            await asyncio.sleep(1.0)


def _message(event: str, data: str) -> dict[str, Any] | None:
    if event not in ("message", "") or not data:
        return None  # a priming event, a keep-alive, an event of another kind
    try:
        message = json.loads(data)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


__all__ = ["AnswerLost", "HttpRefused", "LATEST_PROTOCOL", "PROTOCOL_VERSIONS", "RpcError", "Session", "SessionLost"]
