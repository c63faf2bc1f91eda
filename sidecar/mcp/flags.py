"""The ``mcp`` subcommand's flags. Apart from ``command`` so that building the parser (on every start,
the JSON-RPC sidecar's included) imports nothing heavy: argparse and two tables."""

from __future__ import annotations

from typing import Any

from .policy import POLICIES, READ_ONLY

#: ``--server``'s default: the account's Core server, found by ``ListApiMcpServerCores``.
CORE = "core"


def add_parser(sub: Any) -> None:
    """Add ``mcp`` to the main parser's subparsers ``sub``."""
    mcp = sub.add_parser("mcp", help="an MCP server on stdio for AI agents, acting as the signed-in profile")
    mcp.add_argument("--profile", help="profile name (default: the config file's current profile, followed when it changes)")
    mcp.add_argument("--mode", choices=tuple(POLICIES), default=READ_ONLY, help="read-only (default) or full")
    mcp.add_argument("--server", default=CORE, help="core (the account's Core server, default), a server's name, or its https address")
    mcp.add_argument("--log-level", choices=("debug", "info", "warning"), default="info", help="for the log file")


__all__ = ["CORE", "add_parser"]
