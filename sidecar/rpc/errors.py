"""Domain errors → JSON-RPC errors with a stable ``data.kind``; anything unexpected → ``internal``.

Also the one log line each failed request leaves: at a level that fits its cause (a user's cancel is
not an error), naming the kind and the error's own message (written for logs, secret-free by the
rule of ``sidecar/errors.py``), never an exception's text from a bug.
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import SidecarError

log = logging.getLogger("sidecar.rpc")

#: ``error.code`` of JSON-RPC's (and LSP's) own failures.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
SERVER_NOT_INITIALIZED = -32002

CODES: dict[str, int] = {
    "invalidParams": -32602,
    "cancelled": -32800,
    "internal": -32603,
    "profileNotFound": -32010,
    "configCorrupt": -32011,
    "configUnavailable": -32012,
    "configInsecure": -32013,
    "unknownSite": -32014,
    "signInRequired": -32020,
    "signInDenied": -32021,
    "signInTimeout": -32022,
    "portsBusy": -32023,
    "clientNotAuthorized": -32024,
    "network": -32030,
    "upstream": -32031,
}


#: Kinds that only the JSON-RPC edge produces (protocol-level failures, no domain error behind them).
EDGE_KINDS: tuple[str, ...] = ("methodNotFound", "shuttingDown", "notInitialized", "invalidRequest")

#: The log level of a failed request, by kind: what the user chose or can fix in a moment is not an
#: error of the sidecar.
LEVELS: dict[str, int] = {
    "cancelled": logging.INFO,
    "invalidParams": logging.WARNING,
    "profileNotFound": logging.WARNING,
    "signInRequired": logging.WARNING,
    "signInDenied": logging.WARNING,
    "signInTimeout": logging.WARNING,
    "portsBusy": logging.WARNING,
    "network": logging.WARNING,
    "configCorrupt": logging.WARNING,
    "configInsecure": logging.WARNING,
    "unknownSite": logging.WARNING,
    "clientNotAuthorized": logging.WARNING,
    "configUnavailable": logging.ERROR,
    "upstream": logging.ERROR,
}


#: The next step for the log line, where the error's own message does not already say it.
NEXT_STEPS: dict[str, str] = {
    "signInDenied": "sign in again to retry; if the service said the call is not authorized, a RAM "
    "administrator must install the official-cli application in the account and assign it to this user",
    "signInRequired": "sign in again in the browser",
    "network": "check the network connection (or proxy) to the sign-in service, then retry",
    "upstream": "retry later; if it keeps failing, report the requestId",
    "configUnavailable": "check the config file's permissions and the free disk space",
    "clientNotAuthorized": "a RAM administrator must install the official-cli application in the account "
    "and assign it to this user, then sign in again",
}
_DENIED_STEPS: dict[str, str] = {
    "userDenied": "the user chose Deny; sign in again when ready",
    "notAuthorized": "a RAM administrator must install the official-cli application in the account and "
    "assign it to this user, then sign in again",
}


def log_line(method: str, exc: SidecarError) -> str:
    """``<method>: <kind>: <message> Next: <step>`` (the message is secret-free by design)."""
    step = NEXT_STEPS.get(exc.kind)
    if exc.kind == "signInDenied":
        step = _DENIED_STEPS.get(str(exc.details.get("reason")), step)
    return f"{method}: {exc.kind}: {exc.message}" + (f" Next: {step}." if step else "")


class RpcError(Exception):
    """A JSON-RPC error answer: ``code``, a fixed or domain ``message``, ``data`` with ``kind``."""

    def __init__(self, code: int, message: str, data: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", "internal"))

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": self.data}


def to_rpc_error(exc: BaseException, method: str) -> RpcError:
    """The answer for ``exc``, after its one log line."""
    if isinstance(exc, RpcError):
        return exc
    if isinstance(exc, SidecarError):
        log.log(LEVELS.get(exc.kind, logging.WARNING), "%s", log_line(method, exc))
        return RpcError(CODES.get(exc.kind, -32603), exc.message, exc.to_data())
    # A bug. Its text may hold anything, so it stays in the (redacted) log only.
    log.error("%s failed unexpectedly (a bug; please report it with this log)", method, exc_info=exc)
    return RpcError(CODES["internal"], "The sidecar hit an internal error; its log has the details.", {"kind": "internal"})


def not_initialized() -> RpcError:
    return RpcError(SERVER_NOT_INITIALIZED, "The sidecar has not been initialized yet.", {"kind": "notInitialized"})


def shutting_down() -> RpcError:
    return RpcError(INVALID_REQUEST, "The sidecar is shutting down and takes no more requests.", {"kind": "shuttingDown"})


def method_not_found(method: str) -> RpcError:
    return RpcError(METHOD_NOT_FOUND, f"The sidecar has no method {method[:100]!r}.", {"kind": "methodNotFound"})


def invalid_request(code: int = INVALID_REQUEST) -> RpcError:
    """A message that is not JSON-RPC 2.0 (unparseable, a batch, a method that is not a string...):
    a fixed message, never the parser's or Python's text about it."""
    text = "The message is not valid JSON." if code == PARSE_ERROR else "The message is not a valid JSON-RPC 2.0 request."
    return RpcError(code, text, {"kind": "invalidRequest"})
