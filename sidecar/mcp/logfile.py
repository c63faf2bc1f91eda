"""Where ``aliyun-sidecar mcp`` writes what it does: a small rotating file in the user's log folder,
and warnings on stderr.

MCP clients often hide a server's stderr (VS Code shows it in the server's output; others drop it),
so a person looking for why an agent's call failed needs a file: ``platformdirs``' per-user log folder
(``~/.local/state/aliyun-sidecar/log`` on Linux, ``~/Library/Logs/aliyun-sidecar`` on macOS,
``%LOCALAPPDATA%\\aliyun-sidecar\\Logs`` on Windows), ``mcp.log``, at most 3 × 256 KiB. Every record
goes through the same scrubbing filter as the sidecar's log, and the code logs token fingerprints only.
The folder is private (0700): the log names profiles and accounts.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

import platformdirs

from .. import logs

MAX_BYTES = 256 * 1024
BACKUPS = 2
FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


def log_path() -> Path:
    return Path(platformdirs.user_log_dir("aliyun-sidecar", appauthor=False)) / "mcp.log"


def configure(level: str = "info") -> Path | None:
    """Stderr (warnings and worse) and the rotating file (``level``); the file's path, or None when
    its folder cannot be made (then only stderr, said once there)."""
    logs.configure(level)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.setLevel(logging.WARNING)
    try:
        path = log_path()
    except Exception as exc:  # the OS would not say where (platformdirs asks Windows through ctypes)
        logging.getLogger(__name__).warning("No log file (the user's log folder is unknown: %s); logging to stderr only", type(exc).__name__)
        return None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.name == "posix":
            os.chmod(path.parent, 0o700)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError as exc:
        logging.getLogger(__name__).warning("No log file (%s: %s); logging to stderr only", type(exc).__name__, path.parent)
        return None
    handler.addFilter(logs.RedactingFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    return path


__all__ = ["configure", "log_path"]
