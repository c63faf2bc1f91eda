"""The one loopback HTTP/1.1 server under the sign-in callback and the credentials endpoint.

Both servers answer exactly one small request per connection on 127.0.0.1 and then close it; neither
needs a general web server. What they share lives here: binding to the loopback address only, the
parsing (by ``h11``, the sans-IO HTTP/1.1 parser httpx already installs, plus the few refusals h11
leaves to its user: length limits, obsolete line folding, versions other than 1.x), the one check
that a ``Host`` header names this server, a tight per-connection deadline for the request head, the
connection cap, and closing. Routing, pages and the secret/state checks stay with each server.

Starvation (any local process can connect): a connection that has not yet sent a complete request
head is worth nothing, so when the cap is reached one such connection is dropped to make room
instead of refusing the newcomer: the oldest that sent part of a head and stopped (or whose answer
is already out), else the oldest that has sent nothing yet. A legitimate client sends its whole head
at once, so it is parsed one event-loop turn after it is admitted and from then on cannot be
evicted; a flood of half-sent requests only evicts itself. The head must also arrive within
``LOOPBACK_HEAD_TIMEOUT`` of the connection's admission (a per-connection deadline; dripping bytes
does not extend it). Only connections whose complete request is being answered are protected; if all of
them are, the newcomer gets 503.

Written on ``asyncio.Protocol`` rather than streams: the head is parsed synchronously in
``data_received`` as bytes arrive, so no task per connection and no extra loop turns before a
legitimate request becomes protected. Nothing here logs a request target (the credentials
endpoint's path is a secret).
"""

from __future__ import annotations

import asyncio
import http
import inspect
import logging
import os
import re
import socket
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from .timing import LOOPBACK_DRAIN_TIMEOUT, LOOPBACK_HEAD_TIMEOUT

if TYPE_CHECKING:
    import h11

log = logging.getLogger(__name__)

#: The only address either server ever binds (never 0.0.0.0, never another interface).
LOOPBACK_HOST = "127.0.0.1"
#: The names a ``Host`` header may use for this server (a DNS-rebinding page sends its own name).
_HOST_NAMES = frozenset({LOOPBACK_HOST, "localhost"})

# --- limits -------------------------------------------------------------------------------------
MAX_REQUEST_LINE = 8 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_HEADER_LINES = 100
#: Open connections per server. Large enough that the newest connection survives many accept
#: batches (asyncio accepts up to ``ACCEPT_BATCH`` per turn) before it could become the oldest.
MAX_CONNECTIONS = 128
ACCEPT_BATCH = 16
#: The kernel's queue of handshaken connections not yet accepted. asyncio uses one number for both
#: this and the accept batch; a queue of 16 dropped SYNs in a connect storm (each drop costs the client
#: a 1 s, then 2 s retransmission, against the SDKs' 5 s connect timeout). So the socket is listened
#: on again with this after asyncio set it up (the OS caps it at its own limit, e.g. somaxconn).
KERNEL_BACKLOG = 1024
DRAIN_BYTES = 64 * 1024

Headers = tuple[tuple[str, str], ...]


def _bound_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port``, set up as ``loop.create_server`` would set up its own
    (address reuse on POSIX only: on Windows it would let another program bind the same port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if os.name == "posix" and sys.platform != "cygwin":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _h11() -> ModuleType:
    """h11, imported on the first connection: the sidecar starts (and answers ``initialize``) without
    paying for it, as it does for httpx."""
    import h11

    return h11

_FOLDED = re.compile(rb"\n[ \t]")
_HEAD_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class Request:
    method: str
    #: The raw request target, exactly as sent (never decoded or normalised here).
    target: str
    #: Lower-cased field names (``Host`` cannot repeat: h11 refuses that).
    headers: dict[str, str]


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    extra_headers: Headers = field(default=())


Route = Callable[[Request], Response | Awaitable[Response]]


def require_loopback_bind(host: str) -> None:
    """Refuse to bind anything but the loopback address (a ``ValueError``: a programming error)."""
    if host != LOOPBACK_HOST:
        raise ValueError(f"loopback servers listen on {LOOPBACK_HOST} only")


def host_names_this_server(host_header: str | None, port: int) -> bool:
    """Whether ``Host`` names this server: ``127.0.0.1`` or ``localhost``, bare or with OUR port.

    The one loopback check of both servers. A bare name is allowed because the Python SDK sends one;
    a browser omits the port only for port 80, which is never ours. Any other name (a DNS-rebinding
    page's), address (``[::1]``, ``127.0.0.2``) or port is refused, so a web page that tricks the
    browser into calling us can never read the answer.
    """
    if not host_header:
        return False
    name, sep, given_port = host_header.lower().rpartition(":")
    if not sep:
        name, given_port = given_port, ""
    elif given_port != str(port):
        return False
    return name in _HOST_NAMES


ConnectionState = Literal["head", "routing", "answered", "closed"]


class _Connection(asyncio.Protocol):
    """One client: read one request head (via h11), answer it once, drain briefly, close."""

    def __init__(self, server: LoopbackServer) -> None:
        self._server = server
        h11 = _h11()
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_LINE + MAX_HEADER_BYTES)
        self._transport: asyncio.Transport | None = None
        self.state: ConnectionState = "head"
        self._timer: asyncio.TimerHandle | None = None
        self._head = bytearray()  # raw bytes until the head is complete (bounded by h11's limit)
        self._drained = 0
        self._eof = False  # the client has half-closed: nothing left to drain after the answer

    # --- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if not self._server._admit(self):  # noqa: SLF001 - the server and its connections are one unit
            return
        self._timer = asyncio.get_running_loop().call_later(self._server.head_timeout, self._head_timed_out)

    def data_received(self, data: bytes) -> None:
        if self.state == "head":
            self._head += data
            self._h11.receive_data(data)
            self._parse()
        elif self.state == "answered":
            self._drained += len(data)
            if self._drained > DRAIN_BYTES:
                self.close()
        # while routing, a body (which no route reads) is dropped

    def eof_received(self) -> bool:
        self._eof = True
        if self.state == "head":
            if not self._head:
                self.close()  # gone before saying anything
                return False
            self._h11.receive_data(b"")
            self._parse()  # a head cut short: h11 refuses it (400)
            return True
        if self.state == "answered":
            self.close()
            return False
        return True  # routing: the client half-closed after its request; the answer still goes out

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = "closed"
        self._cancel_timer()
        self._server._forget(self)  # noqa: SLF001

    # --- the server's handles --------------------------------------------------------------------

    @property
    def sent_something(self) -> bool:
        """Whether part of a request head has arrived (the head is not complete yet)."""
        return bool(self._head)

    def close(self) -> None:
        self._cancel_timer()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def abort(self) -> None:
        self._cancel_timer()
        if self._transport is not None:
            self._transport.abort()

    def answer(self, response: Response, *, head_only: bool = False) -> None:
        """Write the answer, half-close, then drain for at most :data:`LOOPBACK_DRAIN_TIMEOUT` and close."""
        if self.state in ("answered", "closed") or self._transport is None or self._transport.is_closing():
            return
        self._cancel_timer()
        self.state = "answered"
        self._transport.write(self._server.serialize(self._h11, response, head_only=head_only))
        if self._eof:
            self.close()  # flushes the answer, then closes
            return
        if self._transport.can_write_eof():
            self._transport.write_eof()
        self._timer = asyncio.get_running_loop().call_later(LOOPBACK_DRAIN_TIMEOUT, self._drain_over)

    # --- internals -------------------------------------------------------------------------------

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_timed_out(self) -> None:
        self._timer = None
        log.debug("%s: request head timed out", self._server.label)
        self._refuse(408)

    def _drain_over(self) -> None:
        self._timer = None
        if self._transport is not None and self._transport.get_write_buffer_size():
            self.abort()  # the client does not read its answer: do not wait for it
        else:
            self.close()

    def _refuse(self, status: int, *, head_only: bool = False) -> None:
        log.debug("%s: request refused -> %d", self._server.label, status)
        self.answer(self._server.error_response(status), head_only=head_only)

    def _parse(self) -> None:
        """Ask h11 for the head; on a complete one, check what h11 leaves to us and route it."""
        line_end = self._head.find(b"\n")
        if line_end > MAX_REQUEST_LINE + 1 or (line_end == -1 and len(self._head) > MAX_REQUEST_LINE):
            self._refuse(414)  # before h11's own size limit answers 431 for an endless request line
            return
        h11 = _h11()
        try:
            event = self._h11.next_event()
        except h11.RemoteProtocolError as exc:
            self._refuse(exc.error_status_hint)
            return
        if event is h11.NEED_DATA:
            return
        if not isinstance(event, h11.Request):  # h11 yields nothing else first, but be strict
            self._refuse(400)
            return
        request = _checked(event, self._head)
        if isinstance(request, int):
            self._refuse(request, head_only=event.method == b"HEAD")
            return
        self._cancel_timer()
        self.state = "routing"
        self._head = bytearray()
        self._server.route_request(self, request)


def _checked(event: h11.Request, raw: bytes | bytearray) -> Request | int:
    """The request, or the status refusing what h11 accepts but these servers do not."""
    end = _HEAD_END.search(raw)
    head = raw[: end.start()] if end else raw
    if _FOLDED.search(head):
        return 400  # obsolete line folding (h11 unfolds it): no field may hide in a continuation line
    if event.http_version not in (b"1.0", b"1.1"):
        return 400
    if len(event.target) > MAX_REQUEST_LINE:
        return 414
    if len(event.headers) > MAX_HEADER_LINES or len(head) > MAX_REQUEST_LINE + MAX_HEADER_BYTES:
        return 431
    if sum(len(name) + len(value) + 4 for name, value in event.headers) > MAX_HEADER_BYTES:
        return 431
    target = event.target.decode("ascii")  # h11 allows only visible ASCII in a target
    if not target.startswith("/"):
        return 400  # absolute-form or asterisk-form: not for us
    headers = {name.decode("ascii"): value.decode("latin-1") for name, value in event.headers}
    return Request(event.method.decode("ascii"), target, headers)


class LoopbackServer:
    """One listening socket on 127.0.0.1 and its connections; each request goes to ``route``.

    ``route`` may be a plain function or a coroutine function. ``error_response(status)`` builds the
    answer for a refused head (400, 408, 414, 431) or a full server (503). ``label`` names the server
    in debug lines, which never include the target.
    """

    def __init__(
        self,
        route: Route,
        *,
        label: str,
        base_headers: Headers,
        error_response: Callable[[int], Response],
        head_timeout: float = LOOPBACK_HEAD_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self._route = route
        self.label = label
        self._base_headers = base_headers
        self.error_response = error_response
        self.head_timeout = head_timeout
        self._max_connections = max_connections
        self._listener: asyncio.Server | None = None
        self._port = 0
        #: Open connections in the order they were admitted (oldest first: see :meth:`_victim`).
        self._connections: dict[_Connection, None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self.evicted = 0

    # --- lifetime --------------------------------------------------------------------------------

    async def listen(self, ports: Iterable[int], host: str = LOOPBACK_HOST) -> int:
        """Bind and listen on the first of ``ports`` that can be bound (0: the system picks).

        Each port is bound for real and kept (no "is it free?" probe, which another program could
        win between the probe and the bind). Raises the last ``OSError`` if none could be bound.
        """
        require_loopback_bind(host)
        loop = asyncio.get_running_loop()
        error: OSError | None = None
        for port in ports:
            try:
                sock = _bound_socket(host, port)
            except OSError as exc:
                log.debug("%s: port %d unavailable (errno %s)", self.label, port, exc.errno)
                error = exc
                continue
            try:
                self._listener = await loop.create_server(lambda: _Connection(self), sock=sock, backlog=ACCEPT_BATCH)
                sock.listen(KERNEL_BACKLOG)  # after asyncio's listen(ACCEPT_BATCH): see KERNEL_BACKLOG
            except BaseException:
                sock.close()
                raise
            self._port = sock.getsockname()[1]
            return self._port
        raise error or OSError("no port to bind")

    @property
    def port(self) -> int:
        return self._port

    @property
    def listening(self) -> bool:
        return self._listener is not None and self._listener.is_serving()

    def stop_listening(self) -> None:
        """Release the port now; connections already accepted carry on until they are answered."""
        if self._listener is not None and self._listener.is_serving():
            self._listener.close()
            log.debug("%s: stopped listening on port %d", self.label, self._port)

    async def wait_idle(self) -> None:
        """Return once no connection is open."""
        await self._idle.wait()

    async def close(self) -> None:
        """Stop listening, cancel routes in progress and close every connection. Idempotent."""
        self._closing = True
        self.stop_listening()
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for connection in list(self._connections):
            connection.close()
        if self._connections:
            try:
                async with asyncio.timeout(LOOPBACK_DRAIN_TIMEOUT):
                    await self._idle.wait()
            except TimeoutError:
                for connection in list(self._connections):
                    connection.abort()
        if self._listener is not None:
            await self._listener.wait_closed()

    # --- connections -----------------------------------------------------------------------------

    def _admit(self, connection: _Connection) -> bool:
        if self._closing:
            connection.abort()
            return False
        if len(self._connections) >= self._max_connections:
            victim = self._victim()
            if victim is None:
                log.debug("%s: every connection is serving a request -> 503", self.label)
                connection.answer(self.error_response(503))
                return False
            self.evicted += 1
            log.debug("%s: full; dropped the oldest connection without a request", self.label)
            victim.abort()
            self._forget(victim)
        self._connections[connection] = None
        self._idle.clear()
        return True

    def _victim(self) -> _Connection | None:
        """The connection to drop for a newcomer: the oldest that sent part of a head and stopped
        (or whose answer is out), else the oldest that has sent nothing yet; never one being served.

        A legitimate client sends its whole head at once, so it is never "partial" for longer than
        a segment takes; while it is still silent (admitted, not yet read) it is the youngest, so
        every older silent connection goes first.
        """
        oldest_silent: _Connection | None = None
        for connection in self._connections:  # in the order they were admitted
            if connection.state == "answered" or (connection.state == "head" and connection.sent_something):
                return connection
            if oldest_silent is None and connection.state == "head":
                oldest_silent = connection
        return oldest_silent

    def _forget(self, connection: _Connection) -> None:
        self._connections.pop(connection, None)
        if not self._connections:
            self._idle.set()

    def route_request(self, connection: _Connection, request: Request) -> None:
        """Route a complete request; an async route runs as a task that :meth:`close` can cancel."""
        head_only = request.method == "HEAD"
        try:
            routed = self._route(request)
        except Exception as exc:  # a bug in a route must never take the server down
            log.debug("%s: route failed (%s)", self.label, type(exc).__name__)
            connection.abort()
            return
        if not inspect.isawaitable(routed):
            connection.answer(routed, head_only=head_only)
            return

        async def finish(pending: Awaitable[Response]) -> None:
            try:
                response = await pending
            except asyncio.CancelledError:
                connection.abort()
                return  # only close() cancels these; end normally
            except Exception as exc:
                log.debug("%s: route failed (%s)", self.label, type(exc).__name__)
                connection.abort()
                return
            connection.answer(response, head_only=head_only)

        task = asyncio.get_running_loop().create_task(finish(routed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def serialize(self, conn: h11.Connection, response: Response, *, head_only: bool) -> bytes:
        """Status line, ``Date``, the server's fixed headers, the response's own, ``Content-Length``."""
        import email.utils  # here, not at start-up: the email package costs tens of milliseconds

        h11 = _h11()
        status = http.HTTPStatus(response.status)
        headers = [
            ("Date", email.utils.formatdate(usegmt=True)),
            *self._base_headers,
            *response.extra_headers,
            ("Content-Length", str(len(response.body))),
        ]
        out = conn.send(h11.Response(status_code=status.value, reason=status.phrase.encode("ascii"), headers=headers))
        if not head_only and response.body:
            out += conn.send(h11.Data(data=response.body))
        out += conn.send(h11.EndOfMessage())
        return out
