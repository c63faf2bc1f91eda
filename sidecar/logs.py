"""Logging that cannot leak a secret.

pygls logs whole message bodies at INFO (tokens included), logs request params when a handler fails,
and attaches tracebacks; vscode-languageclient copies our stderr into the editor's output channel.
So: pygls' records are cut down to their first line with no arguments and no traceback, every record
goes through a scrubber that masks anything that looks like a credential field, and nothing is
printed by Python's last-resort handler (there is always a configured handler).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO
from urllib.parse import quote, quote_plus

#: Field names whose values are secrets, in JSON, form and query spelling.
SECRET_KEYS = (
    "access_token",
    "refresh_token",
    "oauth_access_token",
    "oauth_refresh_token",
    "access_key_secret",
    "accessKeySecret",
    "sts_token",
    "securityToken",
    "SecurityToken",
    "AccessKeySecret",
    "code",
    "code_verifier",
    "state",
    "Authorization",
    "authorization",
)
_KEYS = "|".join(re.escape(k) for k in SECRET_KEYS)
_PATTERNS = (
    # JSON / Python repr: "key": "value"  or 'key': 'value'
    re.compile(rf"""(["']?(?:{_KEYS})["']?\s*[:=]\s*)(["'])(?:\\.|(?!\2).)*\2"""),
    # form / query: key=value
    re.compile(rf"""(\b(?:{_KEYS})=)[^&\s"']+"""),
    # HTTP header: Bearer xyz
    re.compile(r"""(Bearer\s+)[A-Za-z0-9._~+/=-]+"""),
)


def scrub(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + ("***" if len(m.groups()) < 2 else m.group(2) + "***" + m.group(2)), text)
    return text


#: Shorter values are not masked: they cannot be told from ordinary words, and real tokens, keys and
#: verifiers are 30 characters or more.
MIN_SECRET_LENGTH = 8


def scrub_echo(text: object, sent: Iterable[str], limit: int) -> str:
    """A service's words (an error description, a request id, an error code), safe to repeat in an
    answer, a log line or an exception: every secret the request carried is masked, as sent and in
    the spellings an echo of a form or a URL would use, then anything that looks like a credential
    field; white space is folded and the text cut to ``limit``.

    A service, or a proxy in front of it, that repeats the request (some echo the whole form in
    ``error_description``) would otherwise put the refresh token into the user's output channel."""
    result = str(text)
    for secret in sent:
        if len(secret) < MIN_SECRET_LENGTH:
            continue
        for spelling in {secret, quote(secret, safe=""), quote_plus(secret, safe="")}:
            result = result.replace(spelling, "***")
    return " ".join(scrub(result).split())[:limit]


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("pygls"):
            # Only the template's first line: its arguments and tracebacks may hold message bodies.
            record.msg = str(record.msg).split("\n", 1)[0].replace("%s", "…").replace("%r", "…")
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
            return record.levelno >= logging.WARNING
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = scrub(message)
        record.args = ()
        return True


def configure(level: str = "info", stream: TextIO | None = None) -> None:
    """Install the one handler of the process (stderr; the LSP channel uses stdout)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    # pygls at INFO logs message bodies: never let it reach that level.
    logging.getLogger("pygls").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.captureWarnings(True)
