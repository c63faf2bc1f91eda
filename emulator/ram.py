"""RAM, as far as the MCP services need it: explicit denies per identity and action, and the 403 body.

The emulator's identities have every permission unless a test denies one (the system policy
``AliyunOpenAPIMCPServerStaticCredentialAccess`` attached, the usual set-up). A deny names an action
pattern (``ram:GenerateAccessToken``, ``openapiexplorer:*``, ``openapiexplorer:ListApiMcpServerCores``)
and a principal: ``*`` (everyone), an account id, or an identity's ARN. Matching ignores case and
``*`` is a wildcard, as in RAM policies.

The answer to a denied call is the gateway's 403 ``NoPermission`` body. ``detail_only`` plays the
variant observed with the official proxy (mcp.md §13), where only ``AccessDeniedDetail`` names the
permission and ``Message`` is a bare "not authorized".
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from typing import Any

from .identity import Identity

NOT_AUTHORIZED = "You are not authorized to do this action."


@dataclass(frozen=True)
class Deny:
    action: str
    principal: str = "*"

    def matches(self, identity: Identity, action: str) -> bool:
        if self.principal not in ("*", identity.account_id, identity.arn):
            return False
        return fnmatch.fnmatchcase(action.lower(), self.action.lower())

    def to_json(self) -> dict[str, str]:
        return {"action": self.action, "principal": self.principal}


class Permissions:
    """The denies a test set (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._denies: list[Deny] = []

    def deny(self, action: str, principal: str = "*") -> None:
        if ":" not in action:
            raise ValueError("a RAM action is 'product:Action' (e.g. ram:GenerateAccessToken)")
        with self._lock:
            self._denies.append(Deny(action, principal or "*"))

    def clear(self) -> None:
        with self._lock:
            self._denies.clear()

    def denies(self) -> list[dict[str, str]]:
        with self._lock:
            return [d.to_json() for d in self._denies]

    def allowed(self, identity: Identity, action: str) -> bool:
        with self._lock:
            return not any(d.matches(identity, action) for d in self._denies)


def access_denied_message(identity: Identity, action: str, resource: str, detail_only: bool) -> tuple[str, dict[str, Any]]:
    """The ``Message`` and ``AccessDeniedDetail`` of a 403 ``NoPermission`` for ``action``."""
    detail = {
        "AuthAction": action,
        "AuthPrincipalType": "SubUser" if identity.kind == "user" else "AssumedRoleUser",
        "AuthPrincipalOwnerId": identity.account_id,
        "AuthPrincipalDisplayName": identity.name,
        "PolicyType": "AccountLevelIdentityBasedPolicy",
        "NoPermissionType": "ImplicitDeny",
        "EncodedDiagnosticMessage": "",
    }
    if detail_only:
        return NOT_AUTHORIZED, detail
    return f"{NOT_AUTHORIZED} Resource: {resource} Action: {action}", detail


__all__ = ["NOT_AUTHORIZED", "Deny", "Permissions", "access_denied_message"]
