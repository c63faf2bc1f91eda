"""Entry points. No subcommand: the JSON-RPC sidecar over stdio. Subcommands are thin shells over
the same domain code: ``credentials`` (the SDKs' External mode) and ``signin`` (terminal sign-in).
The emulator of the sign-in service and the demo live outside the shipped package
(``python -m emulator``, ``python -m emulator.demo``).
"""

from __future__ import annotations

import argparse
import gc
import sys

from .sites import site_names


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        # The command people type: the wheel's console script and the editor's launcher (never a bare
        # `python -m sidecar`, which would import a `sidecar/` of the working folder).
        prog="aliyun-sidecar",
        description="Alibaba Cloud OAuth sign-in sidecar. With no command: JSON-RPC over stdio (for editors).",
    )
    parser.add_argument("--config-path", help="the shared config file (default: ~/.aliyun/config.json)")
    parser.add_argument("--endpoints", metavar="JSON", help="endpoint overrides, as the editor's endpoints settings (tests, private clouds)")
    sub = parser.add_subparsers(dest="command")

    creds = sub.add_parser("credentials", help="print STS credentials as JSON for an External-mode profile")
    creds.add_argument("--profile", help="profile name (default: ALIBABA_CLOUD_PROFILE..., then current)")
    creds.add_argument("--format", choices=("external", "uri"), default="external",
                       help="external: the SDKs' External mode JSON; uri: the CREDENTIALS_URI JSON")

    signin = sub.add_parser("signin", help="sign in through the browser from a terminal")
    signin.add_argument("--profile", required=True)
    signin.add_argument("--site", choices=site_names(), type=str.upper)
    signin.add_argument("--region")
    signin.add_argument("--language", choices=("en", "zh"))
    signin.add_argument("--no-browser", action="store_true", help="only print the URL (for SSH sessions)")
    signin.add_argument("--callback-ports", metavar="FIRST-LAST", help="loopback ports for the callback (12345-12349)")
    from .mcp.flags import add_parser as add_mcp_parser  # argparse only: nothing heavy on the start-up path

    add_mcp_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(args_list)
    if args.command is None:
        # The imports below (pygls, lsprotocol: ~0.4 s) allocate many objects and trigger full
        # collections that free nothing (~60 ms). Collect never during them, then freeze what they
        # built so later collections skip it.
        gc.disable()
        from .rpc.server import serve
        from .service import Settings

        gc.freeze()
        gc.enable()
        return serve(Settings(config_path=args.config_path))
    if args.command == "mcp":
        from .mcp.command import run as run_mcp

        return run_mcp(args)
    from .cli import run_command  # the command-line shells; not imported for the JSON-RPC server

    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
