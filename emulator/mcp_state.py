"""The MCP side's memory: bearer tokens from ``GenerateAccessToken``, their bound policies, MCP
sessions, the servers of each account, the switches, and the request log the tests read.

Kept apart from ``state.ServiceState`` (the OAuth sign-in service) because it is a different service
with its own lifetimes; it shares the clock (``now``) so clock skew moves both.

Switches (``McpConfig``, changed with ``Emulator.configure_mcp`` or ``POST /__emulator/mcp/config``),
one for each point the sources leave open (mcp.md §12):

* ``token_ttl``: ``ExpiresIn`` of issued tokens (default 259199 s, the official fixture).
* ``ramoauth_accept_acs3``: RamOAuth also takes ACS3 signatures (unknown; off: signature v1 only).
* ``app_not_installed``: GenerateAccessToken answers 400 ``AppNotFound`` (the official app is not
  installed/assigned for OAuth-profile callers).
* ``deny_detail_only``: a RAM deny names the permission only in ``AccessDeniedDetail``.
* ``core_exists``: the account has its Core server (else ``ListApiMcpServerCores`` lists nothing).
* ``custom_servers``: names of the account's custom servers (``ListApiMcpServers``, MCP paths).
* ``safe_policy_create_only``: a second ``/safePolicy/set`` on a token is refused (409) instead of
  replacing the first.
* ``tool_policy_filters_list``: ``toolPolicy.allowedTools`` also filters ``tools/list``.
* ``response_mode``: MCP requests answered as ``json`` (``application/json``) or ``sse``
  (``text/event-stream``, one ``event: message``).
* ``issue_session_id``: ``initialize`` sets ``Mcp-Session-Id`` (else the server is stateless).
* ``protocol_version``: forced answer to ``initialize`` ("" = negotiate: echo a supported version,
  else the latest).
* ``policy_denial``: a refused tool call is a tool result with ``isError: true`` (``tool_error``) or a
  JSON-RPC error -32003 (``jsonrpc_error``).
* ``sse_keepalive``: seconds between ``: keep-alive`` comments on the GET stream.
* ``session_bound_to_token``: a session answers only the token that opened it (another token, even
  a renewed one of the same identity, gets 404 and must initialize again); off: any valid token of
  the account may use it.
* ``mcp_checks_ram``: MCP requests also need ``openapiexplorer:CallApiMcpServer`` (the action name is
  inferred; the system policy grants ``openapiexplorer:*`` "for discovery and tool invocation"), so a
  deny of ``openapiexplorer:*`` is a 403 ``NoPermission`` on the MCP endpoint too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .identity import Identity
from .safety import BoundaryPolicy, SafetyPolicy

#: The official "API MCP Server" OAuth applications (ClientId → site).
MCP_CLIENTS: dict[str, str] = {"4071151845732613353": "CN", "4195410055503316452": "INTL"}
SCOPES = ("/internal/acs/openapi", "/acs/mcp-server")
PROTOCOL_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
RESPONSE_MODES = ("json", "sse")
POLICY_DENIALS = ("tool_error", "jsonrpc_error")
LOG_LIMIT = 5000
#: Custom server names (the console allows 3-16 of these characters, the SDK comment 3-64).
SERVER_NAME = re.compile(r"[a-z0-9_-]{3,64}")


def token_id(access_token: str) -> str:
    """The name a token has in the request log: a fingerprint, never the token."""
    return hashlib.sha256(access_token.encode("utf-8")).hexdigest()[:16]


@dataclass
class McpConfig:
    token_ttl: float = 259199.0
    ramoauth_accept_acs3: bool = False
    app_not_installed: bool = False
    deny_detail_only: bool = False
    core_exists: bool = True
    custom_servers: tuple[str, ...] = ("demo",)
    safe_policy_create_only: bool = False
    tool_policy_filters_list: bool = False
    response_mode: str = "json"
    issue_session_id: bool = True
    protocol_version: str = ""
    policy_denial: str = "tool_error"
    sse_keepalive: float = 15.0
    session_bound_to_token: bool = False
    mcp_checks_ram: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["custom_servers"] = list(self.custom_servers)
        return data


@dataclass
class McpToken:
    token_id: str
    identity: Identity
    client_id: str
    scope: str
    expires_at: float
    boundary: BoundaryPolicy = field(default_factory=BoundaryPolicy)
    safe_policy: SafetyPolicy | None = None
    allowed_tools: frozenset[str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "identity": self.identity.to_json(),
            "client_id": self.client_id,
            "scope": self.scope,
            "expires_at": self.expires_at,
            "safe_policy": self.safe_policy.source if self.safe_policy is not None else None,
            "allowed_tools": sorted(self.allowed_tools) if self.allowed_tools is not None else None,
            "boundary": bool(self.boundary.statements),
        }


@dataclass
class McpSession:
    id: str
    account_id: str
    path: str
    protocol_version: str
    token_id: str = ""
    closed: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Server:
    """One MCP server of an account: its id, name, kind and path prefix (without ``/mcp``)."""

    id: str
    name: str
    source_type: str  # "custom" (the Core is a custom-style URL too) or "system"
    path: str
    core: bool = False


def _server_id(account_id: str, name: str) -> str:
    return base64.b32encode(hashlib.sha256(f"{account_id}/{name}".encode()).digest()).decode()[:16]


class McpState:
    """Thread-safe store of tokens, sessions, the request log and the switches."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self._lock = threading.Lock()
        self.config = McpConfig()
        self._tokens: dict[str, McpToken] = {}
        self._sessions: dict[str, McpSession] = {}
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self._seq = 0

    # -- switches ---------------------------------------------------------------------------------

    def configure(self, **changes: Any) -> McpConfig:
        with self._lock:
            current = self.config
            for name, value in list(changes.items()):
                if not hasattr(current, name):
                    raise ValueError(f"unknown MCP setting {name!r}")
                default = getattr(current, name)
                if isinstance(default, bool):
                    if not isinstance(value, bool):
                        raise ValueError(f"{name} must be a boolean")
                elif isinstance(default, float):
                    changes[name] = float(value)
                    if changes[name] < 0:
                        raise ValueError(f"{name} must not be negative")
                elif isinstance(default, tuple):
                    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
                        raise ValueError(f"{name} must be a list of names")
                    changes[name] = tuple(value)
                    if name == "custom_servers" and not all(SERVER_NAME.fullmatch(v) for v in value):
                        raise ValueError("custom server names are 3-64 characters of a-z, 0-9, '_' and '-'")
            if changes.get("response_mode", current.response_mode) not in RESPONSE_MODES:
                raise ValueError(f"response_mode must be one of {', '.join(RESPONSE_MODES)}")
            if changes.get("policy_denial", current.policy_denial) not in POLICY_DENIALS:
                raise ValueError(f"policy_denial must be one of {', '.join(POLICY_DENIALS)}")
            version = changes.get("protocol_version", current.protocol_version)
            if not isinstance(version, str):
                raise ValueError("protocol_version must be a string")
            self.config = replace(current, **changes)
            return self.config

    # -- servers ----------------------------------------------------------------------------------

    def servers(self, account_id: str) -> list[Server]:
        """The account's servers: the Core (if it exists) first, then the custom ones by name."""
        config = self.config
        found: list[Server] = []
        if config.core_exists:
            core_id = _server_id(account_id, "(core)")
            found.append(Server(core_id, "core", "custom", f"/accounts/{account_id}/custom/core/id/{core_id}", core=True))
        for name in config.custom_servers:
            sid = _server_id(account_id, name)
            found.append(Server(sid, name, "custom", f"/accounts/{account_id}/custom/{name}/id/{sid}"))
        return found

    def server_at(self, path_prefix: str) -> Server | None:
        parts = path_prefix.split("/")
        if len(parts) < 3 or parts[1] != "accounts":
            return None
        return next((s for s in self.servers(parts[2]) if s.path == path_prefix), None)

    # -- tokens -----------------------------------------------------------------------------------

    def issue_token(
        self, identity: Identity, client_id: str, scope: str, boundary: BoundaryPolicy
    ) -> tuple[str, McpToken]:
        header = base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()).rstrip(b"=").decode()
        now = self.now()
        claims = {"iss": "emulator", "aud": client_id, "scope": scope, "jti": secrets.token_hex(12), "iat": int(now)}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        access_token = f"{header}.{payload}.{secrets.token_urlsafe(64)}"
        record = McpToken(
            token_id=token_id(access_token),
            identity=identity,
            client_id=client_id,
            scope=scope,
            expires_at=now + self.config.token_ttl,
            boundary=boundary,
        )
        with self._lock:
            self._tokens[access_token] = record
        return access_token, record

    def token(self, access_token: str) -> McpToken | None:
        with self._lock:
            return self._tokens.get(access_token)

    def tokens(self) -> list[McpToken]:
        with self._lock:
            return list(self._tokens.values())

    def secrets(self) -> list[str]:
        """Every bearer token issued, as issued: for tests that check none of them leaked."""
        with self._lock:
            return list(self._tokens)

    def expire_tokens(self) -> int:
        with self._lock:
            now = self.now()
            for record in self._tokens.values():
                record.expires_at = min(record.expires_at, now - 1)
            return len(self._tokens)

    def bind_policy(self, record: McpToken, safe: SafetyPolicy, allowed_tools: frozenset[str] | None) -> bool:
        """Bind the policies; False when create-only and the token already has one."""
        with self._lock:
            if self.config.safe_policy_create_only and record.safe_policy is not None:
                return False
            record.safe_policy = safe
            record.allowed_tools = allowed_tools
            return True

    # -- sessions ---------------------------------------------------------------------------------

    def open_session(self, account_id: str, path: str, protocol_version: str, token_id: str = "") -> McpSession:
        session = McpSession(secrets.token_hex(16), account_id, path, protocol_version, token_id)
        with self._lock:
            self._sessions[session.id] = session
        return session

    def session(self, session_id: str) -> McpSession | None:
        with self._lock:
            return self._sessions.get(session_id)

    def close_session(self, session_id: str) -> bool:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        session.closed.set()
        return True

    def drop_sessions(self) -> int:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.closed.set()
        return len(sessions)

    def session_ids(self) -> list[str]:
        with self._lock:
            return list(self._sessions)

    # -- request log ------------------------------------------------------------------------------

    def log(self, service: str, **entry: Any) -> None:
        """One line per request: which service, token (fingerprint), session, method, tool, outcome."""
        with self._lock:
            self._seq += 1
            self._log.append({"seq": self._seq, "service": service, "time": self.now(), **entry})

    def read_log(self, service: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._log if service is None or e["service"] == service]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()


__all__ = [
    "MCP_CLIENTS",
    "PROTOCOL_VERSIONS",
    "SCOPES",
    "McpConfig",
    "McpSession",
    "McpState",
    "McpToken",
    "Server",
    "token_id",
]
