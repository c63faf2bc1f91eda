"""``aliyun-sidecar mcp``: the composition root of the MCP server (flags to objects, then serve).

Bad flags fail at once with a sentence on stderr and exit code 2 (an MCP client shows the server as
failed, with that line); everything that depends on the service (sign-in state, permissions, the
account's servers) is found out at the agent's first request, which gets it as an answer it can act on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Any

import httpx

from ..errors import SidecarError
from ..platform import osfs
from ..platform.stdio import open_output
from ..service import Settings, SidecarService
from ..sites import Endpoints
from ..timing import MCP_CONNECT_TIMEOUT, MCP_READ_TIMEOUT
from . import logfile, openapi
from .downstream import Downstream
from .flags import CORE
from .policy import LABELS
from .problems import McpProblem
from .proxy import McpProxy, ProxyOptions

log = logging.getLogger(__name__)
VERSION = "0.1.0"
EXIT_BAD_FLAGS = 2


def endpoints_of(text: str | None) -> Endpoints:
    """The environment's endpoints, then the ``--endpoints`` JSON (the shape of the ``endpoints``
    initialization option, plus ``ramoauthEndpoint``, ``openapiMcpEndpoint``, ``safePolicyEndpoint``)."""
    endpoints = Endpoints.from_environment()
    if not text:
        return endpoints
    try:
        overrides = json.loads(text)
    except ValueError:
        raise McpProblem("badSetting", "--endpoints must be a JSON object.") from None
    try:
        return endpoints.with_overrides(overrides)
    except SidecarError as exc:
        raise McpProblem("badSetting", exc.message) from None


def options_of(args: argparse.Namespace) -> ProxyOptions:
    server = (args.server or CORE).strip()
    if server.startswith(("http://", "https://")):
        openapi.base_url(server, "--server", path_allowed=True)
    elif not server:
        raise McpProblem("badSetting", "--server must name a server, or be core or an https address.")
    return ProxyOptions(profile=args.profile or None, mode=args.mode, server=server)


def run(args: argparse.Namespace) -> int:
    path = logfile.configure(args.log_level)
    try:
        options = options_of(args)
        settings = Settings(config_path=args.config_path, endpoints=endpoints_of(getattr(args, "endpoints", None)))
    except McpProblem as problem:
        print(f"aliyun-sidecar mcp: {problem.message}", file=sys.stderr, flush=True)
        return EXIT_BAD_FLAGS
    log.info("MCP server starting: profile %s, %s, server %s; log %s", options.profile or "(current)", options.mode, options.server, path)
    try:
        asyncio.run(serve(settings, options))
    except KeyboardInterrupt:
        pass
    return 0


async def serve(settings: Settings, options: ProxyOptions) -> None:
    service = SidecarService(settings)
    timeout = httpx.Timeout(MCP_READ_TIMEOUT, connect=MCP_CONNECT_TIMEOUT)
    output = await open_output(sys.stdout.buffer, use_threads=osfs.stdio_threads)

    async def describe() -> dict[str, Any]:
        try:
            profile = await service.select(options.profile)
        except SidecarError:
            profile = options.profile or "no profile"
        mode = LABELS[options.mode]
        return {
            "title": f"Alibaba Cloud ({profile}, {mode})",
            "instructions": f"Calls Alibaba Cloud OpenAPI as the signed-in profile '{profile}' ({mode}).",
        }

    downstream = Downstream(output, describe, VERSION)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=True) as http:
        proxy = McpProxy(service, options, http, downstream.pass_on)
        downstream.proxy = proxy
        try:
            await downstream.serve(sys.stdin.buffer, use_threads=osfs.stdio_threads)
        finally:
            await proxy.aclose()
            await service.aclose()
            await output.flush(2.0)
    log.info("MCP server stopped (stdin closed)")


__all__ = ["endpoints_of", "options_of", "run", "serve"]
