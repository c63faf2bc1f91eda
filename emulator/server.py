"""``Emulator``: the local Alibaba Cloud sign-in service that tests and the demo start and steer.

It runs the HTTP server in a daemon thread and exposes, as plain methods, what a test needs to act out
the user (approve, deny) and the service's bad days (faults, revocation, expiry, clock skew). Point the
sign-in base, the OAuth API base and the STS endpoint (``GetCallerIdentity``) of the client at ``emu.url``.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .faults import FaultPlan
from .handler import AUTHORIZE_PATH, MAX_FIELDS, EmulatorHTTPServer
from .identity import Identity
from .mcp_state import McpConfig, McpState, token_id
from .ram import Permissions
from .state import AuthorizeError, Config, ServiceState, StsRecord


class Emulator:
    """One emulated service (both sites) on one loopback port. Thread-safe; usable as a context manager."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        identity: Identity | None = None,
        control: bool = True,
        **settings: Any,
    ) -> None:
        """``settings``: any field of :class:`~emulator.state.Config` (``auto_approve``, the TTLs,
        ``not_authorized``...), declared there with its default, checked by ``configure`` (an unknown
        one is a ``ValueError``). The switches after ``send_refresh_expiry`` play the readings where
        the official clients disagree (see ``state``'s docstring); their defaults are the emulator's
        original reading."""
        self.host = host
        self._requested_port = port
        #: Whether ``/__emulator/`` answers (always to loopback clients only).
        self.control_enabled = control
        self.state = ServiceState()
        self.state.configure(**settings, identity=identity or Identity())
        self.faults = FaultPlan()
        #: The MCP services' memory (tokens, sessions, request log, switches): see ``mcp_state``.
        self.mcp = McpState(self.state.now)
        #: RAM denies for the MCP services (``ram:GenerateAccessToken``, ``openapiexplorer:*``...).
        self.permissions = Permissions()
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lifecycle = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> Emulator:
        with self._lifecycle:
            if self._server is not None:
                raise RuntimeError("the emulator is already running")
            self._stopping = threading.Event()
            server = EmulatorHTTPServer((self.host, self._requested_port), self, self._stopping)
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="aliyun-oauth-emulator", daemon=True
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving: wakes injected hangs and delays, closes the socket, joins the serving thread."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            if server is None:
                return
            self._stopping.set()
            server.shutdown()
            server.server_close()
            if thread is not None:
                thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL of both sites, e.g. ``http://127.0.0.1:PORT`` (no trailing slash)."""
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    # -- the user ---------------------------------------------------------------------------------

    def approve(self, authorize_url: str) -> str:
        """Play the user pressing Authorize on that URL: the redirect Location (code and state).

        Acts on the state directly with the page's validation (raises ``AuthorizeError`` where the page
        would show an error); injected HTTP faults and ``auto_approve`` do not apply. In not-authorized
        mode the Location carries ``error=access_denied``. The Location is not followed.
        """
        return self._decide(authorize_url, approve=True)

    def deny(self, authorize_url: str) -> str:
        """Play the user pressing Deny: the redirect Location with ``error=access_denied`` and state."""
        return self._decide(authorize_url, approve=False)

    def _decide(self, authorize_url: str, approve: bool) -> str:
        parts = urlsplit(authorize_url)
        if parts.path != AUTHORIZE_PATH:
            raise ValueError(f"not an authorize URL (path must be {AUTHORIZE_PATH})")
        pending = self.state.begin_authorization(parse_qs(parts.query, keep_blank_values=True, max_num_fields=MAX_FIELDS))
        return self.state.decide(pending.id, approve=approve)

    # -- faults and operations --------------------------------------------------------------------

    def inject(
        self, endpoint: str, fault: str, count: int = 1, seconds: float = 0.0, *, after: int = 0, match: str = ""
    ) -> None:
        """Queue ``count`` faults on ``authorize``/``token``/``exchange``/``sts``/``ramoauth``/``openapi``/
        ``safepolicy``/``mcp``/``any`` (see ``faults.FAULT_KINDS``). ``after``: let that many matching
        requests pass first (``after=n-1`` faults the n-th); ``match``: only MCP POSTs whose JSON-RPC
        method is this (e.g. ``tools/call``)."""
        self.faults.inject(endpoint, fault, count, seconds, after=after, match=match)

    def clear_faults(self) -> None:
        self.faults.clear()

    def revoke_refresh_tokens(self, refresh_token: str | None = None) -> int:
        """Revoke all refresh tokens, or the family of ``refresh_token``; returns how many live ones."""
        return self.state.revoke_refresh_tokens(refresh_token)

    def expire_access_tokens(self) -> int:
        return self.state.expire_access_tokens()

    def expire_sts(self) -> int:
        return self.state.expire_sts()

    def set_clock_skew(self, seconds: float) -> None:
        """Move the service's clock (``time.time() + seconds``) for every expiry decision and answer."""
        self.state.configure(clock_skew=seconds)

    def set_ttls(
        self,
        access: float | None = None,
        refresh: float | None = None,
        sts: float | None = None,
        code: float | None = None,
    ) -> None:
        """Lifetimes (seconds) of tokens issued from now on."""
        changes: dict[str, float] = {}
        for name, value in (
            ("access_token_ttl", access),
            ("refresh_token_ttl", refresh),
            ("sts_ttl", sts),
            ("code_ttl", code),
        ):
            if value is not None:
                changes[name] = value
        self.state.configure(**changes)

    def set_auto_approve(self, on: bool) -> None:
        self.state.configure(auto_approve=on)

    def set_not_authorized(self, on: bool) -> None:
        """Emulate "The call is not authorized" (application not installed/assigned) on Authorize."""
        self.state.configure(not_authorized=on)

    def set_identity(self, identity: Identity) -> None:
        """The identity of sign-ins approved from now on (existing token families keep theirs)."""
        self.state.configure(identity=identity)

    def configure(self, **changes: Any) -> Config:
        """Change any ``state.Config`` field by name (validated)."""
        return self.state.configure(**changes)

    @property
    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters (see ``ServiceState.stats``)."""
        return self.state.stats()

    def sts_credentials(self, access_key_id: str) -> StsRecord | None:
        """The issued STS credential with that key id (its identity and expiry), for GetCallerIdentity."""
        return self.state.sts_record(access_key_id)

    def now(self) -> float:
        """The service's clock."""
        return self.state.now()

    # -- the MCP services -------------------------------------------------------------------------

    def configure_mcp(self, **changes: Any) -> McpConfig:
        """Change any ``mcp_state.McpConfig`` switch by name (validated)."""
        return self.mcp.configure(**changes)

    def deny_permission(self, action: str, principal: str = "*") -> None:
        """Deny a RAM action (``ram:GenerateAccessToken``, ``openapiexplorer:*``) to ``principal``:
        ``*``, an account id or an identity ARN."""
        self.permissions.deny(action, principal)

    def clear_permission_denies(self) -> None:
        self.permissions.clear()

    def expire_mcp_tokens(self) -> int:
        """Make every issued MCP bearer token expired (the MCP server then answers 401)."""
        return self.mcp.expire_tokens()

    def drop_mcp_sessions(self) -> int:
        """Forget every MCP session (the next request with its id gets 404)."""
        return self.mcp.drop_sessions()

    def mcp_log(self, service: str | None = None) -> list[dict[str, Any]]:
        """The request log of the MCP services (``ramoauth``, ``openapi``, ``safepolicy``, ``mcp``);
        tokens appear as ``token_id`` fingerprints."""
        return self.mcp.read_log(service)

    @staticmethod
    def token_id(access_token: str) -> str:
        """How ``access_token`` is named in the request log."""
        return token_id(access_token)

    def mcp_env(self) -> dict[str, str]:
        """The sidecar's endpoint variables, all pointing at this emulator (the routing contract)."""
        names = ("ALIYUN_SIDECAR_RAMOAUTH_ENDPOINT", "ALIYUN_SIDECAR_OPENAPI_MCP_ENDPOINT", "ALIYUN_SIDECAR_SAFEPOLICY_ENDPOINT")
        return {name: self.url for name in names}

    def mcp_url(self, account_id: str | None = None) -> str:
        """The MCP endpoint of the account's Core server (``urls.mcp`` of ListApiMcpServerCores)."""
        account = account_id or self.state.config.identity.account_id
        core = next((s for s in self.mcp.servers(account) if s.core), None)
        if core is None:
            raise RuntimeError("the account has no Core server (core_exists is off)")
        return f"{self.url}{core.path}/mcp"


__all__ = ["AuthorizeError", "Emulator"]
