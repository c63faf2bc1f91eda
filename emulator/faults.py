"""Injected faults: the bad days of a real service, on demand and counted.

Tests queue faults per endpoint; each request to that endpoint takes the first matching fault that has
uses left. Faults are consumed in the order they were injected, so a test can script a sequence
("one 503, then a hang, then normal answers").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

ENDPOINTS: tuple[str, ...] = ("authorize", "token", "exchange", "sts", "ramoauth", "openapi", "safepolicy", "mcp", "any")

FAULT_KINDS: tuple[str, ...] = (
    "delay",  # sleep `seconds`, then answer normally
    "hang",  # hold the connection for `seconds` (default HANG_SECONDS) or until stop(), then drop it
    "500",  # HTTP 500 with a JSON error body
    "503",  # HTTP 503 with a JSON error body and Retry-After
    "malformed",  # HTTP 200 with truncated JSON
    "drop",  # close the connection without answering; the request is NOT processed
    "drop_after",  # process the request (a refresh token rotates!), then close without answering
    "invalid_grant",  # HTTP 400 invalid_grant, state untouched
    "empty",  # HTTP 200 with {}
    "invalid_client",  # HTTP 401 invalid_client: the client itself is refused (app not installed/assigned)
    "unauthorized_client",  # HTTP 400 unauthorized_client
    "invalid_token",  # HTTP 401 invalid_token
    "echo",  # HTTP 400 whose error, error_description and requestId repeat the request (form, bearer)
    # The MCP server (endpoint "mcp"; POSTs only, so that the GET stream does not shift the count):
    "401",  # HTTP 401 with WWW-Authenticate: Bearer error="invalid_token" (the token stays good)
    "403",  # HTTP 403 (insufficient_scope)
    "session_lost",  # the request's session is forgotten and the request answered 404
    "slow_sse",  # answer as text/event-stream, the message event `seconds` late
    "jsonrpc_error",  # a JSON-RPC error answer (-32603) to the request
)

#: How long a "hang" holds a connection when no duration is given: longer than any client timeout.
HANG_SECONDS = 600.0


@dataclass
class Fault:
    endpoint: str
    kind: str
    remaining: int
    seconds: float = 0.0
    #: Matching requests still to let pass before the fault applies.
    after: int = 0
    #: Only requests with this subject (the JSON-RPC method of an MCP POST); "" matches all.
    match: str = ""


class FaultPlan:
    """A thread-safe queue of faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def inject(
        self, endpoint: str, kind: str, count: int = 1, seconds: float = 0.0, *, after: int = 0, match: str = ""
    ) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {', '.join(ENDPOINTS)}")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        if after < 0:
            raise ValueError("after must not be negative")
        with self._lock:
            self._faults.append(Fault(endpoint, kind, count, float(seconds), after, match))

    def take(self, endpoint: str, subject: str = "") -> Fault | None:
        """The fault to apply to this request, if any (its use is spent).

        A fault waiting out ``after`` counts this request and lets it pass (and hides the faults
        queued behind it for this request, which keeps a scripted sequence in order)."""
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (endpoint, "any") and fault.match in ("", subject):
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return Fault(fault.endpoint, fault.kind, 1, fault.seconds)
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, object]]:
        with self._lock:
            return [
                {"endpoint": f.endpoint, "fault": f.kind, "count": f.remaining, "seconds": f.seconds, "after": f.after, "match": f.match}
                for f in self._faults
            ]
