"""Domain errors → JSON-RPC errors with a stable ``data.kind``; anything unexpected → ``internal``."""

from __future__ import annotations

import logging

from pygls.exceptions import JsonRpcException

from ..errors import SidecarError

log = logging.getLogger(__name__)

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


class SidecarRpcError(JsonRpcException):
    """What a handler raises so that pygls answers with our code, message and data (no traceback)."""


def to_rpc_error(exc: BaseException, method: str) -> SidecarRpcError:
    if isinstance(exc, SidecarError):
        return SidecarRpcError(exc.message, CODES.get(exc.kind, -32603), exc.to_data())
    # A bug. Its text may hold anything, so it stays in the (redacted) log only.
    log.error("%s failed unexpectedly", method, exc_info=exc)
    return SidecarRpcError(
        "The sidecar hit an internal error; its log has the details.", CODES["internal"], {"kind": "internal"}
    )
