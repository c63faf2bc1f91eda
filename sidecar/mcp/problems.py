"""What can go wrong between an agent and the hosted MCP server, as sentences both can act on.

An agent reads the text and may tell its user; a person reads it in the editor's MCP output or the log.
So every problem says what happened, and, when there is one, the fix: a missing permission names the
RAM action and the system policy that grants it (the official proxy drops the action when the service
puts it only in ``AccessDeniedDetail``; we never do), a profile that needs a sign-in names the command.

Each kind has one JSON-RPC error code (the table below, in the implementation-defined server range),
used when the failed request was not a tool call; a failed tool call is a tool result with
``isError: true`` carrying the same text, which agents show to the model.
"""

from __future__ import annotations

from typing import Any

#: The system policy that grants everything the proxy needs (mcp.md §9.1).
SYSTEM_POLICY = "AliyunOpenAPIMCPServerStaticCredentialAccess"

#: kind -> JSON-RPC error code.
CODES: dict[str, int] = {
    "signInRequired": -32001,
    "permissionDenied": -32002,
    "appNotInstalled": -32003,
    "noServer": -32004,
    "policyNotBound": -32005,
    "upstreamUnavailable": -32006,
    "upstreamRefused": -32007,
    "badSetting": -32008,
}


class McpProblem(Exception):
    """One failure, with a ``kind`` from ``CODES`` and a message that never holds a secret."""

    def __init__(self, kind: str, message: str, **details: Any) -> None:
        if kind not in CODES:
            raise ValueError(f"unknown problem kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details

    @property
    def code(self) -> int:
        return CODES[self.kind]

    def to_error(self) -> dict[str, Any]:
        """The ``error`` member of a JSON-RPC answer."""
        return {"code": self.code, "message": self.message, "data": {"kind": self.kind, **self.details}}


def permission_denied(action: str, call: str, service_words: str = "") -> McpProblem:
    """A RAM refusal: the action, and how to get it granted."""
    said = f" The service said: {service_words.rstrip('.')}." if service_words else ""
    return McpProblem(
        "permissionDenied",
        f"Alibaba Cloud refused {call}: the signed-in identity lacks the permission {action}.{said} "
        f"Fix: ask an administrator to attach the system policy {SYSTEM_POLICY} (it grants "
        f"ram:GenerateAccessToken and openapiexplorer:*) to this RAM user or role, or a policy that allows {action}.",
        permission=action,
        fix=f"attach {SYSTEM_POLICY}",
    )


def app_not_installed(service_words: str = "") -> McpProblem:
    said = f" The service said: {service_words.rstrip('.')}." if service_words else ""
    return McpProblem(
        "appNotInstalled",
        "Alibaba Cloud refused GenerateAccessToken: the official 'API MCP Server' OAuth application is not "
        f"installed in this account or not assigned to this user.{said} Fix: in the RAM console, open "
        "OAuth Applications > Third-party applications, install 'API MCP Server' and assign it to the user.",
        fix="install the API MCP Server application",
    )


def sign_in_required(profile: str, reason: str) -> McpProblem:
    return McpProblem(
        "signInRequired",
        f"The Alibaba Cloud profile '{profile}' needs a new browser sign-in ({reason}). Fix: run "
        f"'Alibaba Cloud: Sign In' in the editor, or 'aliyun-sidecar signin --profile {profile}' in a terminal.",
        profile=profile,
    )


__all__ = ["CODES", "McpProblem", "SYSTEM_POLICY", "app_not_installed", "permission_denied", "sign_in_required"]
