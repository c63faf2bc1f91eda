"""The hosted OpenAPI MCP Server, emulated: MCP Streamable HTTP (mcp.md §6.2, §11 "MCP endpoints").

Paths ``/accounts/<uid>/custom/<name>/id/<id>/mcp`` and ``/accounts/<uid>/system/<product>/<name>/id/<id>/mcp``
of the account's servers (``mcp_state.McpState.servers``; legacy ``/sse`` is not served: 404).

* **Bearer check on every request**: a token ``GenerateAccessToken`` issued, unexpired, of the path's
  account. Missing: ``401`` + ``WWW-Authenticate: Bearer``; unknown or expired: ``401`` +
  ``WWW-Authenticate: Bearer error="invalid_token"``; another account's server: ``403``.
* ``POST`` ``initialize`` answers ``protocolVersion``: the client's if it is one of the four known
  versions, else the latest (``protocol_version`` forces an answer), and sets ``Mcp-Session-Id``
  (unless ``issue_session_id`` is off). Every later request must carry that id (missing: 400;
  unknown, dropped or deleted: 404) and, if it sends ``Mcp-Protocol-Version``, a known one (400).
* Notifications and client responses: ``202`` with no body. Requests: one JSON-RPC answer as
  ``application/json``, or as ``text/event-stream`` with one ``event: message`` (``response_mode``).
* ``GET`` (``Accept: text/event-stream``): a long-lived SSE stream of the session, ``: keep-alive``
  comments every ``sse_keepalive`` seconds, closed when the session ends. ``DELETE`` ends the session.
* Methods: ``initialize``, ``ping``, ``tools/list``, ``tools/call``; others ``-32601``. Unknown tools:
  ``-32602``. A call the token's bound policies refuse is a tool result with ``isError: true`` and the
  reason (or JSON-RPC ``-32001`` with ``policy_denial="jsonrpc_error"``).

Every request leaves one line in the request log (``service="mcp"``): HTTP method, JSON-RPC method,
tool, token fingerprint, session, status and outcome. Nothing here logs a token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .mcp_state import PROTOCOL_VERSIONS, McpSession, McpState, McpToken
from .mcp_tools import TOOLS, ToolInputError, denial, run, text_result
from .ram import Permissions, access_denied_message

PATH = re.compile(r"(/accounts/([0-9]+)/(?:custom/[^/]+|system/[^/]+/[^/]+)/id/[^/]+)/(mcp|sse)")
SERVER_INFO = {"name": "alibabacloud-openapi-mcp-server-emulator", "version": "1.0.0"}
SESSION_HEADER = "Mcp-Session-Id"
POLICY_DENIED = -32001
#: The RAM action checked on MCP requests when ``mcp_checks_ram`` is on (inferred name).
MCP_RAM_ACTION = "openapiexplorer:CallApiMcpServer"


def is_mcp_path(path: str) -> bool:
    return path.startswith("/accounts/")


@dataclass(frozen=True)
class McpRequest:
    method: str
    path: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    #: An injected MCP-only fault for this request (``session_lost``, ``slow_sse``, ``jsonrpc_error``).
    fault: str = ""

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k == name.lower()), "")


@dataclass
class McpReply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    #: A JSON body (``application/json``), or None.
    body: Any = None
    #: Messages to send as ``text/event-stream`` instead of ``body``.
    events: list[dict[str, Any]] | None = None
    #: Hold a GET stream open on this session.
    stream: McpSession | None = None
    #: Seconds to wait before the SSE message (slow SSE).
    delay: float = 0.0


def _rpc_error(message_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": message_id, "error": {"code": code, "message": message}}


def _rpc_result(message_id: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": message_id, "result": result}


def _is_initialize(body: bytes) -> bool:
    try:
        message = json.loads(body)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("method") == "initialize"


class McpServer:
    """Answers MCP HTTP requests from the state (thread-safe through ``McpState``)."""

    def __init__(self, mcp: McpState, permissions: Permissions | None = None) -> None:
        self.mcp = mcp
        self.permissions = permissions or Permissions()

    def handle(self, request: McpRequest, fault_seconds: float = 0.0) -> McpReply:
        entry: dict[str, Any] = {"http": request.method}
        reply = self._handle(request, entry, fault_seconds)
        entry.setdefault("outcome", "ok" if reply.status < 400 else f"http {reply.status}")
        self.mcp.log("mcp", status=reply.status, **entry)
        return reply

    # -- the HTTP layer ---------------------------------------------------------------------------

    def _handle(self, request: McpRequest, entry: dict[str, Any], fault_seconds: float) -> McpReply:
        match = PATH.fullmatch(request.path)
        server = self.mcp.server_at(match.group(1)) if match else None
        if match is None or server is None or match.group(3) != "mcp":
            return McpReply(404, body={"error": "not_found", "error_description": "No such MCP server."})
        token, problem = self._bearer(request)
        if token is None:
            return problem
        entry["token"] = token.token_id
        if token.identity.account_id != match.group(2):
            return McpReply(403, body={"error": "forbidden", "error_description": "The token belongs to another account."})
        if self.mcp.config.mcp_checks_ram and not self.permissions.allowed(token.identity, MCP_RAM_ACTION):
            identity = token.identity
            message, detail = access_denied_message(
                identity, MCP_RAM_ACTION, f"acs:openapiexplorer::{identity.account_id}:apimcpserver/*", self.mcp.config.deny_detail_only
            )
            entry["outcome"] = "NoPermission"
            return McpReply(403, body={"Code": "NoPermission", "Message": message, "AccessDeniedDetail": detail})
        session_id = request.header(SESSION_HEADER)
        entry["session"] = session_id or None
        reinitializing = request.method == "POST" and _is_initialize(request.body)
        if session_id and self.mcp.config.session_bound_to_token and not reinitializing:
            bound = self.mcp.session(session_id)
            if bound is not None and bound.token_id != token.token_id:
                entry["outcome"] = "session of another token"
                return McpReply(404, body=_rpc_error(None, -32001, "Session not found"))
        if request.method == "POST":
            return self._post(request, token, match.group(1), session_id, entry, fault_seconds)
        session = self.mcp.session(session_id) if session_id else None
        if request.method == "GET":
            if "text/event-stream" not in request.header("accept"):
                return McpReply(405, {"Allow": "POST, DELETE"}, body={"error": "method_not_allowed"})
            if session is None:
                return self._session_problem(session_id)
            entry["outcome"] = "stream"
            return McpReply(200, stream=session)
        if request.method == "DELETE":
            if session is None:
                return self._session_problem(session_id)
            self.mcp.close_session(session.id)
            entry["outcome"] = "deleted"
            return McpReply(204)
        return McpReply(405, {"Allow": "GET, POST, DELETE"}, body={"error": "method_not_allowed"})

    def _bearer(self, request: McpRequest) -> tuple[McpToken | None, McpReply]:
        scheme, _, value = request.header("authorization").strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None, McpReply(
                401, {"WWW-Authenticate": "Bearer"}, {"error": "unauthorized", "error_description": "A bearer token is required."}
            )
        token = self.mcp.token(value.strip())
        invalid = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        if token is None:
            return None, McpReply(401, invalid, {"error": "invalid_token", "error_description": "The token is not valid."})
        if token.expires_at <= self.mcp.now():
            return None, McpReply(401, invalid, {"error": "invalid_token", "error_description": "The token has expired."})
        return token, McpReply(200)

    def _session_problem(self, session_id: str) -> McpReply:
        if not session_id and self.mcp.config.issue_session_id:
            return McpReply(400, body=_rpc_error(None, -32600, "Bad Request: Mcp-Session-Id header is required"))
        return McpReply(404, body=_rpc_error(None, -32001, "Session not found"))

    def _post(
        self, request: McpRequest, token: McpToken, path: str, session_id: str, entry: dict[str, Any], fault_seconds: float
    ) -> McpReply:
        accept = request.header("accept")
        if accept and not any(t in accept for t in ("application/json", "text/event-stream", "*/*")):
            return McpReply(406, body=_rpc_error(None, -32600, "Not Acceptable: accept application/json or text/event-stream"))
        try:
            message = json.loads(request.body)
        except ValueError:
            return McpReply(400, body=_rpc_error(None, -32700, "Parse error"))
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return McpReply(400, body=_rpc_error(None, -32600, "Invalid Request: one JSON-RPC 2.0 message per POST"))
        method = message.get("method")
        entry["rpc"] = method
        if method == "initialize" and "id" in message:
            return self._initialize(message, token, path, entry)
        session = self.mcp.session(session_id) if session_id else None
        needs_session = self.mcp.config.issue_session_id or bool(session_id)
        if needs_session and (session is None or session.path != path):
            return self._session_problem(session_id)
        version = request.header("mcp-protocol-version")
        if version and version not in PROTOCOL_VERSIONS and version != self.mcp.config.protocol_version:
            return McpReply(400, body=_rpc_error(None, -32600, f"Bad Request: unsupported protocol version {version}"))
        if request.fault == "session_lost" and session is not None:
            self.mcp.close_session(session.id)
            entry["outcome"] = "fault session_lost"
            return McpReply(404, body=_rpc_error(None, -32001, "Session not found"))
        if "id" not in message or method is None:
            return McpReply(202)  # a notification, or the client's answer to a server request
        if request.fault == "jsonrpc_error":
            entry["outcome"] = "fault jsonrpc_error"
            return self._answer(_rpc_error(message["id"], -32603, "Internal error (injected)."), {})
        answer = self._dispatch(message, token, entry)
        slow = request.fault == "slow_sse"
        if slow:
            entry["outcome"] = "fault slow_sse"
        return self._answer(answer, {}, force_sse=slow, delay=fault_seconds if slow else 0.0)

    def _answer(self, answer: dict[str, Any], headers: dict[str, str], force_sse: bool = False, delay: float = 0.0) -> McpReply:
        if force_sse or self.mcp.config.response_mode == "sse":
            return McpReply(200, headers, events=[answer], delay=delay)
        return McpReply(200, headers, body=answer)

    # -- JSON-RPC ---------------------------------------------------------------------------------

    def _initialize(self, message: dict[str, Any], token: McpToken, path: str, entry: dict[str, Any]) -> McpReply:
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        asked = params.get("protocolVersion")
        forced = self.mcp.config.protocol_version
        version = forced or (asked if asked in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[-1])
        headers: dict[str, str] = {}
        if self.mcp.config.issue_session_id:
            session = self.mcp.open_session(token.identity.account_id, path, version, token.token_id)
            headers[SESSION_HEADER] = session.id
            entry["session"] = session.id
        result = {
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": SERVER_INFO,
            "instructions": "Emulated Alibaba Cloud OpenAPI MCP Server (Core edition tools).",
        }
        return self._answer(_rpc_result(message["id"], result), headers)

    def _dispatch(self, message: dict[str, Any], token: McpToken, entry: dict[str, Any]) -> dict[str, Any]:
        method, message_id = message.get("method"), message["id"]
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        if method == "ping":
            return _rpc_result(message_id, {})
        if method == "tools/list":
            tools = list(TOOLS.values())
            if self.mcp.config.tool_policy_filters_list and token.allowed_tools is not None:
                tools = [t for t in tools if t.name in token.allowed_tools]
            return _rpc_result(message_id, {"tools": [t.listing() for t in tools]})
        if method == "tools/call":
            return self._call(message_id, params, token, entry)
        entry["outcome"] = "method not found"
        return _rpc_error(message_id, -32601, "Method not found")

    def _call(self, message_id: Any, params: dict[str, Any], token: McpToken, entry: dict[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        entry["tool"] = name
        tool = TOOLS.get(name) if isinstance(name, str) else None
        if tool is None:
            entry["outcome"] = "unknown tool"
            return _rpc_error(message_id, -32602, f"Unknown tool: {str(name)[:100]}")
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, dict):
            return _rpc_error(message_id, -32602, "Invalid params: arguments must be an object")
        try:
            tool.check(arguments)
            call = tool.plan(arguments)
        except ToolInputError as exc:
            entry["outcome"] = "bad input"
            return _rpc_result(message_id, text_result(str(exc), is_error=True))
        entry["subject"] = call.subject
        reason = denial(token, tool, call)
        if reason:
            entry["outcome"] = "denied"
            if self.mcp.config.policy_denial == "jsonrpc_error":
                return _rpc_error(message_id, POLICY_DENIED, reason)
            return _rpc_result(message_id, text_result(reason, is_error=True))
        return _rpc_result(message_id, text_result(run(tool, call, arguments, token.identity)))


__all__ = ["McpReply", "McpRequest", "McpServer", "is_mcp_path"]
