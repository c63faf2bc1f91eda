"""HTTP edge of the emulator: routing, faults, and wire formats of both "sites" on one server.

One loopback server plays the sign-in site (``GET /oauth2/v1/auth`` and the decision form) and the
OAuth API site (``POST /v1/token``, ``POST /v1/exchange``) and the STS endpoint (``/`` with
``GetCallerIdentity``, see ``sts.py``); ``/__emulator/`` is the control surface for tests in other
processes. Connections are HTTP/1.0 (closed after each answer) so that ``stop()`` never
waits for idle keep-alive clients. Request logging records method, path and status only: query strings
and bodies carry codes, states and tokens.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from . import control
from .faults import HANG_SECONDS, Fault, FaultPlan
from .pages import DECISION_PATH, PAGE_HEADERS, authorize_page, error_page
from .state import AuthorizeError, OAuthError, ServiceState, new_request_id
from .mcp_server import McpReply, McpRequest, McpServer, is_mcp_path
from .openapi_explorer import CORES_PATH, SAFE_POLICY_PATH, SERVERS_PATH, OpenApiExplorerService
from .ramoauth import ACTION as GENERATE_ACCESS_TOKEN
from .ramoauth import RamOAuthService
from .sts import STS_PATH, CallerIdentityService, StsRequest

if TYPE_CHECKING:
    from .server import Emulator

logger = logging.getLogger("emulator")

AUTHORIZE_PATH = "/oauth2/v1/auth"
TOKEN_PATH = "/v1/token"
EXCHANGE_PATH = "/v1/exchange"
CONTROL_PREFIX = "/__emulator/"
KNOWN_PATHS = (AUTHORIZE_PATH, DECISION_PATH, TOKEN_PATH, EXCHANGE_PATH, STS_PATH, CORES_PATH, SERVERS_PATH, SAFE_POLICY_PATH)
#: MCP faults the MCP server acts out itself (the others are the generic HTTP faults).
MCP_FAULTS = ("session_lost", "slow_sse", "jsonrpc_error")

MAX_BODY = 64 * 1024
MAX_FIELDS = 64

#: Plausible starts of answers, cut in the middle, for the "malformed" fault.
_MALFORMED: dict[str, bytes] = {
    "token": b'{"access_token": "eyJhbGciOi',
    "exchange": b'{"requestId": "5D1C7A0E-0000", "accessKeyId": "STS.NT',
    "authorize": b'{"error": "server_',
    "sts": b'{"RequestId": "5D1C7A0E-0000", "AccountId": "12345',
    "ramoauth": b'{"RequestId": "5D1C7A0E-0000", "Data": {"TokenType": "Bea',
    "openapi": b'{"requestId": "5D1C7A0E-0000", "apiMcpServerCores": [{"id',
    "safepolicy": b'{"requestId": "5D1C',
    "mcp": b'{"jsonrpc": "2.0", "id": 1, "result": {"to',
}


#: Injected error answers: fault kind (= OAuth error code) -> (status, description).
_INJECTED_ERRORS: dict[str, tuple[int, str]] = {
    "invalid_grant": (400, "The grant is invalid (injected)."),
    "invalid_client": (401, "Client authentication failed (injected)."),
    "unauthorized_client": (400, "The client is not authorized for this grant (injected)."),
    "invalid_token": (401, "The token is invalid (injected)."),
}


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Threaded server whose handler threads never keep the process (or ``stop()``) waiting."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator, stopping: threading.Event) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.emulator = emulator
        self.stopping = stopping
        #: The STS endpoint (``GetCallerIdentity``), checking the credentials the state issued.
        self.sts = CallerIdentityService(emulator.state)
        #: RamOAuth ``GenerateAccessToken`` (also at ``/``, told apart by its action).
        self.ramoauth = RamOAuthService(self.sts, emulator.mcp, emulator.permissions)
        #: OpenAPI Explorer (``/apimcpservercores``, ``/apimcpservers``, ``/safePolicy/set``).
        self.openapi = OpenApiExplorerService(self.sts, emulator.mcp, emulator.permissions, lambda: emulator.url)
        #: The MCP Streamable-HTTP server (``/accounts/<uid>/.../mcp``).
        self.mcp_server = McpServer(emulator.mcp, emulator.permissions)
        super().__init__(address, Handler)

    @property
    def state(self) -> ServiceState:
        return self.emulator.state

    @property
    def faults(self) -> FaultPlan:
        return self.emulator.faults


class Handler(BaseHTTPRequestHandler):
    server: EmulatorHTTPServer
    protocol_version = "HTTP/1.0"
    server_version = "AlibabaCloudOAuthEmulator/1.0"
    sys_version = ""
    #: Seconds a silent client may hold a handler thread.
    timeout = 30.0

    _status: int = 0
    _swallow: bool = False

    # The stock request/error log lines contain the full request line (query strings with codes).

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header follows the emulator's (possibly skewed) clock, as a real server's
        would follow its own: that is how a client can notice and correct the skew."""
        return super().date_time_string(self.server.state.now() if timestamp is None else timestamp)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- dispatch ---------------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        self._status = 0
        self._swallow = False
        self._body = b""
        url = urlsplit(self.path)
        path = url.path
        try:
            if path.startswith(CONTROL_PREFIX):
                self._serve_control(method, path[len(CONTROL_PREFIX) :])
            elif path == AUTHORIZE_PATH:
                self._serve_api("authorize", "authorize", method, "GET", lambda body: self._authorize(url.query))
            elif path == DECISION_PATH:
                self._serve_api("authorize", "decision", method, "POST", self._decision)
            elif path == TOKEN_PATH:
                self._serve_api("token", "token", method, "POST", self._token)
            elif path == EXCHANGE_PATH:
                self._serve_api("exchange", "exchange", method, "POST", self._exchange)
            elif path == STS_PATH and self._is_ramoauth(url.query):
                self._serve_signed("ramoauth", method, path, url.query, self.server.ramoauth.answer)
            elif path == STS_PATH:
                self._serve_sts(method, path, url.query)
            elif path in (CORES_PATH, SERVERS_PATH):
                answer = self.server.openapi.list_cores if path == CORES_PATH else self.server.openapi.list_servers
                self._serve_signed("openapi", method, path, url.query, answer)
            elif path == SAFE_POLICY_PATH:
                self._serve_signed("safepolicy", method, path, url.query, self.server.openapi.set_safe_policy)
            elif is_mcp_path(path):
                self._serve_mcp(method, path)
            else:
                self._json(404, {"error": "not_found", "error_description": "No such endpoint.", "requestId": new_request_id()})
        except Exception:  # never let a bug show a traceback with request data on stderr
            logger.exception("emulator: internal error on %s %s", method, path if path in KNOWN_PATHS else "(other)")
            self._json(500, {"error": "server_error", "error_description": "Internal emulator error.", "requestId": new_request_id()})
        finally:
            shown = path if path in KNOWN_PATHS or path.startswith(CONTROL_PREFIX) else "(mcp)" if is_mcp_path(path) else "(other)"
            logger.info("%s %s -> %s", method, shown, self._status or "dropped")

    def _serve_api(
        self, endpoint: str, counter: str, method: str, allowed: str, action: Callable[[bytes], None]
    ) -> None:
        self.server.state.count_request(counter)
        if method != allowed:
            self._json(405, {"error": "invalid_request", "error_description": f"Use {allowed}.", "requestId": new_request_id()}, {"Allow": allowed})
            return
        body = self._read_body()
        if body is None:
            return
        self._body = body
        self.server.state.in_progress(endpoint, +1)
        try:
            fault = self.server.faults.take(endpoint)
            if fault is not None and not self._apply_fault(fault, endpoint):
                return
            action(body)
            if self._swallow:
                self._drop()
        finally:
            self.server.state.in_progress(endpoint, -1)

    def _read_body(self) -> bytes | None:
        """The request body, or ``None`` after answering 411/413."""
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            if self.headers.get("Transfer-Encoding"):
                self._json(411, {"error": "invalid_request", "error_description": "Content-Length is required."})
                return None
            return b""
        try:
            length = int(length_header)
        except ValueError:
            self._json(400, {"error": "invalid_request", "error_description": "Bad Content-Length."})
            return None
        if length < 0 or length > MAX_BODY:
            self._json(413, {"error": "invalid_request", "error_description": "Request body too large."})
            return None
        return self.rfile.read(length) if length else b""

    # -- faults -----------------------------------------------------------------------------------

    def _apply_fault(self, fault: Fault, endpoint: str) -> bool:
        """Act out an injected fault; True when the request should then be served normally."""
        self.server.state.count_fault(fault.kind)
        kind = fault.kind
        if kind == "delay":
            if self.server.stopping.wait(fault.seconds):
                self._drop()
                return False
            return True
        if kind == "drop_after":
            self._swallow = True
            return True
        if kind == "hang":
            self.server.stopping.wait(fault.seconds or HANG_SECONDS)
            self._drop()
        elif kind == "drop":
            self._drop()
        elif kind == "500":
            self._json(500, {"error": "server_error", "error_description": "Internal error (injected).", "requestId": new_request_id()})
        elif kind == "503":
            self._json(
                503,
                {"error": "temporarily_unavailable", "error_description": "Service unavailable (injected).", "requestId": new_request_id()},
                {"Retry-After": "1"},
            )
        elif kind == "malformed":
            self._send(200, _MALFORMED[endpoint], "application/json")
        elif kind == "empty":
            self._json(200, {})
        elif kind in ("401", "403"):
            error = "invalid_token" if kind == "401" else "insufficient_scope"
            self._json(
                int(kind),
                {"error": error, "error_description": f"Injected {kind}.", "requestId": new_request_id()},
                {"WWW-Authenticate": f'Bearer error="{error}"'},
            )
        elif kind == "echo":
            # A service (or a proxy in front of it) that repeats the request in its error answer.
            said = self._body.decode("utf-8", "replace")
            bearer = self.headers.get("Authorization", "")
            self._json(400, {"error": f"invalid_request {said} {bearer}", "error_description": f"Bad request: {said} {bearer}", "requestId": f"{bearer} {said}"})
        elif kind in ("session_lost", "slow_sse", "jsonrpc_error"):
            return True  # MCP-only faults (see mcp_server); elsewhere the request is served normally
        elif kind in _INJECTED_ERRORS:
            status, description = _INJECTED_ERRORS[kind]
            self.server.state.count_error(kind)
            self._json(status, {"error": kind, "error_description": description, "requestId": new_request_id()})
        return False

    def _drop(self) -> None:
        """Close the connection without a byte of answer."""
        self._status = 0
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- sign-in site -----------------------------------------------------------------------------

    def _authorize(self, query: str) -> None:
        state = self.server.state
        params = parse_qs(query, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        try:
            pending = state.begin_authorization(params)
            if state.config.auto_approve:
                self._redirect(state.decide(pending.id, approve=True))
                return
        except AuthorizeError as exc:
            self._page(exc.status, error_page(exc.error, exc.description), {"X-Emulator-Error": exc.error})
            return
        self._page(200, authorize_page(pending, state.config.identity))

    def _decision(self, body: bytes) -> None:
        form = self._form(body)
        try:
            if form is None:
                raise AuthorizeError("invalid_request", "The form could not be read.")
            request_ids = form.get("request_id", [])
            decisions = form.get("decision", [])
            if len(request_ids) != 1 or len(decisions) != 1 or decisions[0] not in ("authorize", "deny"):
                raise AuthorizeError("invalid_request", "The form is incomplete.")
            location = self.server.state.decide(request_ids[0], approve=decisions[0] == "authorize")
        except AuthorizeError as exc:
            self._page(exc.status, error_page(exc.error, exc.description), {"X-Emulator-Error": exc.error})
            return
        self._redirect(location)

    # -- API site ---------------------------------------------------------------------------------

    def _token(self, body: bytes) -> None:
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        form = self._form(body) if content_type == "application/x-www-form-urlencoded" else None
        try:
            if form is None:
                self.server.state.count_error("invalid_request")
                raise OAuthError("invalid_request", "The body must be application/x-www-form-urlencoded.")
            answer = self.server.state.token(form)
        except OAuthError as exc:
            self._json(exc.status, exc.body())
            return
        self._json(200, answer, {"Pragma": "no-cache"})

    def _exchange(self, body: bytes) -> None:
        try:
            answer = self.server.state.exchange(self.headers.get("Authorization"))
        except OAuthError as exc:
            headers = {"WWW-Authenticate": f'Bearer error="{exc.error}"'} if exc.status == 401 else {}
            self._json(exc.status, exc.body(), headers)
            return
        self._json(200, answer, {"Pragma": "no-cache"})

    # -- STS site ---------------------------------------------------------------------------------

    def _serve_sts(self, method: str, path: str, query: str) -> None:
        """``GET|POST /`` on the STS endpoint (RPC style, ``Action=GetCallerIdentity``); faults: ``sts``."""
        body = self._read_body()
        if body is None:
            return
        fault = self.server.faults.take("sts")
        if fault is not None and not self._apply_fault(fault, "sts"):
            return
        request = StsRequest(
            method=method,
            path=path,
            query=query,
            headers=[(name.lower(), value) for name, value in self.headers.items()],
            body=body,
            content_type=self.headers.get("Content-Type", "").split(";")[0].strip().lower(),
        )
        status, answer = self.server.sts.answer(request)
        self._json(status, answer)
        if self._swallow:
            self._drop()

    def _is_ramoauth(self, query: str) -> bool:
        """RamOAuth's RPC calls carry ``Action=GenerateAccessToken`` in the query (and the SDKs add
        ``x-acs-action``); STS calls at the same path are ``GetCallerIdentity``."""
        if self.headers.get("x-acs-action", "") == GENERATE_ACCESS_TOKEN:
            return True
        return (GENERATE_ACCESS_TOKEN,) == tuple(v for k, v in parse_qsl(query, max_num_fields=MAX_FIELDS) if k == "Action")

    def _serve_signed(
        self, endpoint: str, method: str, path: str, query: str, answer: Callable[[StsRequest], tuple[int, dict[str, Any]]]
    ) -> None:
        """A POP-gateway style API (RamOAuth, OpenAPI Explorer): body, faults, then the service."""
        body = self._read_body()
        if body is None:
            return
        fault = self.server.faults.take(endpoint)
        if fault is not None and not self._apply_fault(fault, endpoint):
            return
        request = StsRequest(
            method=method,
            path=path,
            query=query,
            headers=[(name.lower(), value) for name, value in self.headers.items()],
            body=body,
            content_type=self.headers.get("Content-Type", "").split(";")[0].strip().lower(),
        )
        status, data = answer(request)
        self._json(status, data)
        if self._swallow:
            self._drop()

    # -- MCP server -------------------------------------------------------------------------------

    def _serve_mcp(self, method: str, path: str) -> None:
        """Faults (POSTs only, matched on the JSON-RPC method), then ``McpServer``; writes JSON or SSE."""
        body = self._read_body() if method == "POST" else b""
        if body is None:
            return
        fault_kind, seconds = "", 0.0
        if method == "POST":
            try:
                message = json.loads(body)
                subject = str(message.get("method", "")) if isinstance(message, dict) else ""
            except ValueError:
                subject = ""
            fault = self.server.faults.take("mcp", subject)
            if fault is not None:
                if fault.kind in MCP_FAULTS:
                    fault_kind, seconds = fault.kind, fault.seconds
                    self.server.state.count_fault(fault.kind)
                else:
                    proceed = self._apply_fault(fault, "mcp")
                    if not proceed:
                        self.server.emulator.mcp.log("mcp", http=method, rpc=subject, status=self._status, outcome=f"fault {fault.kind}")
                        return
        request = McpRequest(method, path, [(k.lower(), v) for k, v in self.headers.items()], body, fault_kind)
        reply = self.server.mcp_server.handle(request, seconds)
        self._write_mcp(reply)
        if self._swallow:
            self._drop()

    def _write_mcp(self, reply: McpReply) -> None:
        if self._swallow:  # "drop_after": the request was served, the answer is lost
            self.close_connection = True
            return
        if reply.stream is not None:
            self._hold_stream(reply)
        elif reply.events is not None:
            if not self._sse_head(reply.status, reply.headers):
                return
            if reply.delay and self.server.stopping.wait(reply.delay):
                return
            for number, event in enumerate(reply.events, 1):
                if not self._sse_write(f"event: message\nid: {number}\ndata: {json.dumps(event)}\n\n"):
                    return
        elif reply.body is None:
            self._send(reply.status, b"", "application/json", reply.headers)
        else:
            self._json(reply.status, reply.body, reply.headers)

    def _hold_stream(self, reply: McpReply) -> None:
        """The GET stream: keep-alive comments until the session ends, the client leaves or we stop."""
        session = reply.stream
        assert session is not None
        if not self._sse_head(200, reply.headers) or not self._sse_write(": stream open\n\n"):
            return
        mcp = self.server.emulator.mcp
        waited = 0.0
        while not session.closed.is_set() and not self.server.stopping.is_set():
            session.closed.wait(0.2)
            waited += 0.2
            if waited >= max(mcp.config.sse_keepalive, 0.2):
                waited = 0.0
                if not self._sse_write(": keep-alive\n\n"):
                    return

    def _sse_head(self, status: int, headers: dict[str, str]) -> bool:
        self._status = status
        self.close_connection = True
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.flush()
            return True
        except OSError:
            return False

    def _sse_write(self, text: str) -> bool:
        try:
            self.wfile.write(text.encode("utf-8"))
            self.wfile.flush()
            return True
        except OSError:
            return False

    # -- control ----------------------------------------------------------------------------------

    def _serve_control(self, method: str, name: str) -> None:
        if not self.server.emulator.control_enabled or not _is_loopback(self.client_address[0]):
            self._json(404, {"error": "not_found", "error_description": "No such endpoint."})
            return
        self.server.state.count_request("control")
        body = self._read_body()
        if body is None:
            return
        status, answer = control.handle(self.server.emulator, method, name, body)
        self._json(status, answer)

    # -- writing ----------------------------------------------------------------------------------

    @staticmethod
    def _form(body: bytes) -> dict[str, list[str]] | None:
        try:
            return parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
        except (UnicodeDecodeError, ValueError):
            return None

    def _json(self, status: int, answer: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(answer).encode("utf-8")
        self._send(status, body, "application/json;charset=utf-8", headers)

    def _page(self, status: int, html: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, html.encode("utf-8"), "text/html; charset=utf-8", {**PAGE_HEADERS, **(headers or {})})

    def _redirect(self, location: str) -> None:
        self._send(
            302,
            b"<!DOCTYPE html><title>Redirecting</title>",
            "text/html; charset=utf-8",
            {"Location": location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        if self._swallow:
            self.close_connection = True
            return
        self._status = status
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            merged = {"Cache-Control": "no-store", **(headers or {})}
            for key, value in merged.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client went away; nothing to tell it
            self.close_connection = True


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False
