"""Command-line shells over the service: ``credentials`` and ``signin``.

Output contracts: ``credentials`` prints exactly one JSON object on stdout (what the SDKs parse) and
nothing else there; everything for humans goes to stderr. Exit codes: 0 ok, 2 sign-in required,
1 any other failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import webbrowser
from typing import Any

from . import logs
from .config.profiles import ProfileSummary
from .errors import InvalidParams, SidecarError, SignInRequired
from .platform import osfs
from .platform.stdio import read_chunks
from .service import Settings, SidecarService
from .sites import DEFAULT_CALLBACK_PORTS, check_ports
from .tokens import format_rfc3339
from .wire import external_json, uri_payload

EXIT_SIGN_IN_REQUIRED = 2


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def _credentials(service: SidecarService, profile: str | None, fmt: str) -> dict[str, Any]:
    try:
        name = await service.select(profile)
        sts = await service.credentials(name)
        return external_json(sts) if fmt == "external" else uri_payload(sts)
    finally:
        await service.aclose()


async def _read_pasted_url(service: SidecarService) -> None:
    """Accept the redirect URL pasted into the terminal (the browser may be on another machine).
    Read as the JSON-RPC edge reads stdin (``platform.stdio``: a thread on Windows)."""
    pending = b""
    async for chunk in read_chunks(sys.stdin.buffer, use_threads=osfs.stdio_threads):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            text = line.decode("utf-8", "replace").strip()
            if not text:
                continue
            try:
                service.complete_sign_in(text)
                return
            except SidecarError as exc:
                _say(f"That did not work: {exc.message}")
    # no more terminal input: wait for the browser only


async def _sign_in(service: SidecarService, args: argparse.Namespace) -> ProfileSummary:
    async def on_started(url: str, redirect_uri: str) -> None:
        _say("Open this address in a browser and sign in:\n")
        _say(f"  {url}\n")
        _say(
            "If the browser is on another machine, sign in there; it then fails to load\n"
            f"{redirect_uri}?code=... - copy that whole address from its address bar,\n"
            "paste it here and press Enter."
        )
        if not args.no_browser:
            await asyncio.to_thread(webbrowser.open, url)

    paste = None
    try:
        if sys.stdin is not None and not sys.stdin.closed:
            paste = asyncio.ensure_future(_read_pasted_url(service))
        return await service.sign_in(args.profile, args.site, args.region, args.language, on_started, _say)
    finally:
        if paste is not None:
            paste.cancel()
        await service.aclose()


def _ports(text: str | None) -> tuple[int, int]:
    if not text:
        return DEFAULT_CALLBACK_PORTS
    first, _, last = text.partition("-")
    try:
        return check_ports([int(first), int(last or first)])
    except ValueError:
        raise InvalidParams("--callback-ports takes FIRST-LAST, e.g. 12345-12349.", field="callbackPorts") from None


def run_command(args: argparse.Namespace) -> int:
    logs.configure("warning")
    try:
        settings = Settings(config_path=args.config_path, callback_ports=_ports(getattr(args, "callback_ports", None)))
        service = SidecarService(settings)
        if args.command == "credentials":
            print(json.dumps(asyncio.run(_credentials(service, args.profile, args.format))), flush=True)
            return 0
        if args.command == "signin":
            entry = asyncio.run(_sign_in(service, args))
            until = format_rfc3339(entry.sts_expires_at) if entry.sts_expires_at else "?"
            _say(f"Signed in: profile '{entry.name}' ({entry.site}) is now current; STS credentials valid until {until}.")
            return 0
    except SignInRequired as exc:
        _say(f"error: {exc.message} Run: aliyun-sidecar signin --profile {exc.details.get('profile', 'NAME')}")
        return EXIT_SIGN_IN_REQUIRED
    except SidecarError as exc:
        _say(f"error: {exc.message}")
        return 1
    except KeyboardInterrupt:
        _say("cancelled")
        return 130
    return 1
