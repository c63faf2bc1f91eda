"""The strict, tiny HTTP/1.1 pieces shared by the sidecar's two loopback servers.

The sign-in callback (:mod:`sidecar.oauth.callback`) and the credentials endpoint
(:mod:`sidecar.credentials.endpoint`) both answer exactly one request per connection on 127.0.0.1
and then close it. Neither needs a general web server; both need the same defensive reading: bounded
request line and header block, one deadline for the whole head (no slowloris), no obsolete line
folding, no duplicate ``Host``, no bodies. Only what is common lives here; routing, pages and the
connection bookkeeping stay with each server.

Nothing here logs a request target: the credentials endpoint's path is a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import ipaddress
import logging
import re
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# --- limits -------------------------------------------------------------------------------------
MAX_REQUEST_LINE = 8 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_HEADER_LINES = 100
MAX_CONNECTIONS = 32
#: After answering, read (and drop) what the client still sends for at most this long before closing:
#: closing a socket with unread input makes the kernel send RST, which can destroy our answer.
DRAIN_TIMEOUT = 0.5
DRAIN_BYTES = 64 * 1024

TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION_RE = re.compile(r"HTTP/1\.[01]")

Headers = tuple[tuple[str, str], ...]


class HttpError(Exception):
    """A request we refuse before routing; carries the status to answer with."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class ClientGone(Exception):
    """The client closed the connection before sending a whole request head."""


@dataclass(frozen=True)
class Request:
    method: str
    #: The raw request target, exactly as sent (never decoded or normalised here).
    target: str
    #: Lower-cased field names; a repeated field keeps its last value (``Host`` may not repeat).
    headers: dict[str, str]


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    extra_headers: Headers = field(default=())


def serialize(response: Response, base_headers: Headers, *, head_only: bool) -> bytes:
    """Status line, ``Date``, the server's fixed headers, the response's own, ``Content-Length``."""
    status = http.HTTPStatus(response.status)
    lines = [f"HTTP/1.1 {status.value} {status.phrase}"]
    lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
    lines.extend(f"{name}: {value}" for name, value in base_headers)
    lines.extend(f"{name}: {value}" for name, value in response.extra_headers)
    lines.append(f"Content-Length: {len(response.body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    return head if head_only else head + response.body


async def _read_line(reader: asyncio.StreamReader, limit: int, too_long: int) -> bytes:
    """One line without its ending (CRLF, or a bare LF as RFC 9112 allows), at most ``limit`` bytes."""
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise HttpError(too_long) from None
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise ClientGone from None
        raise HttpError(400) from None
    line = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    if len(line) > limit:
        raise HttpError(too_long)
    return line


async def read_request(reader: asyncio.StreamReader) -> Request:
    """Read and check a request head: the request line and the header fields, nothing more.

    The reader must have been created with ``limit=MAX_HEADER_BYTES`` (``asyncio.start_server``'s
    ``limit``) so that one endless line cannot fill memory before the length checks run.
    """
    line = await _read_line(reader, MAX_REQUEST_LINE, 414)
    method, target = _parse_request_line(line)
    headers: dict[str, str] = {}
    total = 0
    for _ in range(MAX_HEADER_LINES + 1):
        raw = await _read_line(reader, MAX_HEADER_BYTES, 431)
        if not raw:
            return Request(method, target, headers)
        total += len(raw) + 2
        if total > MAX_HEADER_BYTES:
            raise HttpError(431)
        name, value = _parse_header(raw)
        if name == "host" and name in headers:
            raise HttpError(400)
        headers[name] = value
    raise HttpError(431)


def _parse_request_line(line: bytes) -> tuple[str, str]:
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise HttpError(400) from None
    parts = text.split(" ")
    if len(parts) != 3:
        raise HttpError(400)
    method, target, version = parts
    if not TOKEN_RE.fullmatch(method) or not _VERSION_RE.fullmatch(version):
        raise HttpError(400)
    if not target.startswith("/") or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in target):
        raise HttpError(400)
    return method, target


def _parse_header(raw: bytes) -> tuple[str, str]:
    if raw[:1] in (b" ", b"\t") or b"\0" in raw or b"\r" in raw:
        raise HttpError(400)  # obsolete line folding or smuggled bytes
    name, sep, value = raw.partition(b":")
    try:
        name_text = name.decode("ascii")
    except UnicodeDecodeError:
        raise HttpError(400) from None
    if not sep or not TOKEN_RE.fullmatch(name_text):
        raise HttpError(400)
    return name_text.lower(), value.decode("latin-1").strip(" \t")


def host_is_loopback(host_header: str | None) -> bool:
    """Whether ``Host`` names this machine: refuses DNS-rebinding pages that could read our answers."""
    if not host_header:
        return False
    host = host_header
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    else:
        host = host.rpartition(":")[0] if ":" in host else host
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def answer(
    writer: asyncio.StreamWriter,
    reader: asyncio.StreamReader,
    data: bytes,
    *,
    timeout: float,
) -> None:
    """Send the answer, half-close, and drain briefly so the close does not reset the answer."""
    try:
        async with asyncio.timeout(timeout):
            writer.write(data)
            await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
    except (TimeoutError, OSError):
        return
    with contextlib.suppress(TimeoutError, OSError):
        async with asyncio.timeout(DRAIN_TIMEOUT):
            dropped = 0
            while dropped < DRAIN_BYTES:
                chunk = await reader.read(4096)
                if not chunk:
                    break
                dropped += len(chunk)


async def serve_one(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    route: Callable[[Request], Response | Awaitable[Response]],
    error_response: Callable[[int], Response],
    base_headers: Headers,
    read_timeout: float,
    label: str,
) -> None:
    """Read one request head under one deadline, route it, answer it (HEAD gets the head only).

    ``route`` may be a plain function or a coroutine function. ``error_response(status)`` builds the
    answer for a refused head (400, 408, 414, 431). ``label`` names the server in debug lines, which
    never include the target.
    """
    try:
        async with asyncio.timeout(read_timeout):  # the whole head, not per read: no slowloris
            request = await read_request(reader)
    except TimeoutError:
        log.debug("%s: request timed out", label)
        await answer(writer, reader, serialize(error_response(408), base_headers, head_only=False), timeout=read_timeout)
        return
    except ClientGone:
        return
    except HttpError as exc:
        log.debug("%s: request refused -> %d", label, exc.status)
        await answer(
            writer, reader, serialize(error_response(exc.status), base_headers, head_only=False), timeout=read_timeout
        )
        return
    routed = route(request)
    response = await routed if inspect.isawaitable(routed) else routed
    data = serialize(response, base_headers, head_only=request.method == "HEAD")
    await answer(writer, reader, data, timeout=read_timeout)
