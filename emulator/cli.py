"""Command line of the emulator: start it, announce its URL, serve until told to stop.

The first (and only) stdout line is JSON ``{"url": ...}`` so that a parent process can start the
emulator on port 0 and learn where it is; everything for humans goes to stderr. It stops on SIGTERM or
SIGINT, and with ``--exit-on-eof`` also when stdin closes (so it dies with a parent that dies).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from types import FrameType

from .identity import Identity
from .server import Emulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulator", description="Local emulator of the Alibaba Cloud OAuth sign-in service."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=0, help="port (default: 0, any free port)")
    parser.add_argument("--auto-approve", action="store_true", help="approve every valid sign-in at once")
    parser.add_argument(
        "--not-authorized", action="store_true", help='answer Authorize with access_denied "The call is not authorized."'
    )
    parser.add_argument("--access-token-ttl", type=float, default=3600, metavar="SECONDS")
    parser.add_argument("--refresh-token-ttl", type=float, default=30 * 86400, metavar="SECONDS")
    parser.add_argument("--sts-ttl", type=float, default=3600, metavar="SECONDS")
    parser.add_argument("--code-ttl", type=float, default=300, metavar="SECONDS")
    parser.add_argument("--clock-skew", type=float, default=0.0, metavar="SECONDS", help="service clock offset (±)")
    parser.add_argument(
        "--send-refresh-expiry", action="store_true", help="include refresh_token_expires_in in token answers"
    )
    # The readings where the official clients disagree (see emulator/state.py).
    parser.add_argument(
        "--exchange-spelling", choices=("camel", "pascal"), default="camel",
        help="field names of the /v1/exchange answer: accessKeyId... (camel) or AccessKeyId... (pascal)",
    )
    parser.add_argument("--no-refresh-token-in-code-grant", action="store_true", help="code grant answers carry no refresh_token")
    parser.add_argument(
        "--no-refresh-token-in-refresh", action="store_true", help="refresh answers carry no refresh_token (no rotation)"
    )
    parser.add_argument(
        "--exchange-min-access-lifetime", type=float, default=0, metavar="SECONDS",
        help="refuse the exchange when the access token has less than this left (0: off)",
    )
    parser.add_argument(
        "--refresh-token-absolute", action="store_true", help="refresh tokens expire with the sign-in's first one (never extended)"
    )
    parser.add_argument(
        "--registered-ports-only", action="store_true", help="accept only redirect URIs on ports 12345-12349"
    )
    parser.add_argument(
        "--not-authorized-page", action="store_true",
        help="with --not-authorized: show the error page and never redirect to the callback",
    )
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--identity-user", metavar="NAME", help="sign in as this RAM user (default: dev)")
    who.add_argument("--identity-role", metavar="NAME", help="sign in as this RAM role")
    parser.add_argument("--account-id", default="1234567890123456")
    parser.add_argument("--no-control", action="store_true", help="disable the /__emulator/ control endpoints")
    parser.add_argument("--exit-on-eof", action="store_true", help="also stop when stdin reaches end of file")
    parser.add_argument("-v", "--verbose", action="store_true", help="log request lines (method and path only)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    try:
        emulator = _emulator(args)
        emulator.start()
    except (OSError, ValueError) as exc:
        print(f"emulator: cannot start: {exc}", file=sys.stderr, flush=True)
        return 2
    _serve(emulator, args)
    return 0


def _emulator(args: argparse.Namespace) -> Emulator:
    """The emulator the options describe (not started)."""
    if args.identity_role:
        identity = Identity.role(args.identity_role, account_id=args.account_id)
    else:
        identity = Identity.user(args.identity_user or "dev", account_id=args.account_id)
    return Emulator(
        args.host,
        args.port,
        auto_approve=args.auto_approve,
        not_authorized=args.not_authorized,
        access_token_ttl=args.access_token_ttl,
        refresh_token_ttl=args.refresh_token_ttl,
        sts_ttl=args.sts_ttl,
        code_ttl=args.code_ttl,
        clock_skew=args.clock_skew,
        identity=identity,
        send_refresh_expiry=args.send_refresh_expiry,
        exchange_spelling=args.exchange_spelling,
        refresh_token_in_code_grant=not args.no_refresh_token_in_code_grant,
        refresh_token_in_refresh=not args.no_refresh_token_in_refresh,
        exchange_min_access_lifetime=args.exchange_min_access_lifetime,
        refresh_token_absolute=args.refresh_token_absolute,
        registered_ports_only=args.registered_ports_only,
        not_authorized_page=args.not_authorized_page,
        control=not args.no_control,
    )


def _serve(emulator: Emulator, args: argparse.Namespace) -> None:
    """Announce the URL, then serve until SIGTERM, SIGINT (or, with --exit-on-eof, the end of stdin)."""
    done = threading.Event()
    previous: dict[int, object] = {}

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, _on_signal)
    if args.exit_on_eof:
        threading.Thread(target=_wait_for_eof, args=(done,), name="emulator-stdin", daemon=True).start()

    try:
        print(json.dumps({"url": emulator.url}), flush=True)
        print(
            f"Alibaba Cloud sign-in emulator on {emulator.url} "
            f"(auto-approve {'on' if args.auto_approve else 'off'}); stop with Ctrl-C or SIGTERM.",
            file=sys.stderr,
            flush=True,
        )
        while not done.wait(0.5):
            pass
    finally:
        emulator.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]


def _wait_for_eof(done: threading.Event) -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    done.set()
