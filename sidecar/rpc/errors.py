"""Domain errors → JSON-RPC errors with a stable ``data.kind``; anything unexpected → ``internal``.

Also the one log line each failed request leaves: at the level its kind declares (a user's cancel is
not an error), naming the kind, the error's own message (written for logs, secret-free by the rule of
``sidecar/errors.py``) and its next step, never an exception's text from a bug. The kinds only this
edge produces are declared here (``EDGE``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidParams, SidecarError, contract_kinds

log = logging.getLogger("sidecar.rpc")

#: ``error.code`` of JSON-RPC's (and LSP's) own failures.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
SERVER_NOT_INITIALIZED = -32002


@dataclass(frozen=True)
class EdgeKind:
    """A kind only the JSON-RPC edge produces (a protocol-level failure, no domain error behind it):
    its code and its meaning for docs/contract.md; it carries no data."""

    code: int
    meaning: str
    other_codes: tuple[int, ...] = ()


#: The edge's kinds, each declared once (the domain's are the classes of ``sidecar/errors.py``).
EDGE: dict[str, EdgeKind] = {
    "methodNotFound": EdgeKind(METHOD_NOT_FOUND, "no such method (an older sidecar, or a typo)"),
    "shuttingDown": EdgeKind(INVALID_REQUEST, "a request after `shutdown`"),
    "notInitialized": EdgeKind(SERVER_NOT_INITIALIZED, "a request before `initialize`"),
    "invalidRequest": EdgeKind(
        INVALID_REQUEST,
        "the message is not JSON-RPC 2.0: a batch, a method that is not a string, JSON that does not parse (-32700)",
        other_codes=(PARSE_ERROR,),
    ),
}
EDGE_KINDS: tuple[str, ...] = tuple(EDGE)

#: The domain's codes by kind, read from their declarations (``sidecar/errors.py``: each error carries
#: its code, level and next step, which :func:`to_rpc_error` reads from it).
CODES: dict[str, int] = {kind: cls.code for kind, cls in contract_kinds().items()}


def log_line(method: str, exc: SidecarError) -> str:
    """``<method>: <kind>: <message> Next: <step>`` (the message is secret-free by design)."""
    step = exc.step()
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
        log.log(exc.level, "%s", log_line(method, exc))
        return RpcError(exc.code, exc.message, exc.to_data())
    # A bug. Its text may hold anything, so it stays in the (redacted) log only.
    log.error("%s failed unexpectedly (a bug; please report it with this log)", method, exc_info=exc)
    return RpcError(SidecarError.code, "The sidecar hit an internal error; its log has the details.", {"kind": SidecarError.kind})


def _edge(kind: str, message: str, code: int | None = None) -> RpcError:
    return RpcError(EDGE[kind].code if code is None else code, message, {"kind": kind})


def not_initialized() -> RpcError:
    return _edge("notInitialized", "The sidecar has not been initialized yet.")


def shutting_down() -> RpcError:
    return _edge("shuttingDown", "The sidecar is shutting down and takes no more requests.")


def method_not_found(method: str) -> RpcError:
    return _edge("methodNotFound", f"The sidecar has no method {method[:100]!r}.")


def params_do_not_fit() -> RpcError:
    """Params that pygls' types refuse (``initialize``'s, or one of its built-in features')."""
    return RpcError(InvalidParams.code, "The params do not fit the method.", {"kind": InvalidParams.kind})


def invalid_request(code: int = INVALID_REQUEST) -> RpcError:
    """A message that is not JSON-RPC 2.0 (unparseable, a batch, a method that is not a string...):
    a fixed message, never the parser's or Python's text about it."""
    text = "The message is not valid JSON." if code == PARSE_ERROR else "The message is not a valid JSON-RPC 2.0 request."
    return _edge("invalidRequest", text, code)
