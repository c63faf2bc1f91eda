"""The LSP base protocol's framing (``Content-Length: N\\r\\n\\r\\n`` + N bytes of JSON), and the
JSON-RPC 2.0 shape checks, as pure functions over bytes and parsed values (no I/O, no pygls).

Hand-written because the one library that parses these frames here (pygls) reads stdin one line at a
time through a thread and gives up on the rest of the stream after one malformed header; the framing
is twenty lines and the resynchronisation rule is ours: after a header block that does not name a
valid length, everything up to the next ``Content-Length:`` is skipped, so one bad frame loses only
itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

#: A header block longer than this without its blank line is garbage, not a slow header.
MAX_HEADER_BYTES = 8192
#: The largest body accepted. The sidecar's messages are a few KiB; a length beyond this is garbage (a
#: 12-digit length would otherwise make the decoder wait for a terabyte and swallow every later frame).
MAX_BODY_BYTES = 64 * 1024 * 1024
_CONTENT_LENGTH = re.compile(rb"content-length:", re.IGNORECASE)
_HEADER_END = b"\r\n\r\n"


@dataclass(frozen=True)
class BadFrame:
    """A header block that was skipped (no valid ``Content-Length``); ``reason`` is for the log."""

    reason: str


class FrameDecoder:
    """Bytes in (in any pieces), frame bodies out, in order; a bad header yields :class:`BadFrame`."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._body_length: int | None = None

    def feed(self, data: bytes) -> list[bytes | BadFrame]:
        self._buffer += data
        out: list[bytes | BadFrame] = []
        while True:
            if self._body_length is not None:
                if len(self._buffer) < self._body_length:
                    return out
                body = bytes(self._buffer[: self._body_length])
                del self._buffer[: self._body_length]
                self._body_length = None
                out.append(body)
                continue
            end = self._buffer.find(_HEADER_END, 0, MAX_HEADER_BYTES + len(_HEADER_END))
            if end < 0:
                if len(self._buffer) > MAX_HEADER_BYTES:
                    out.append(BadFrame("a header without its end"))
                    self._resync(1)
                    continue
                return out
            length = _content_length(bytes(self._buffer[:end]))
            if length is None or length > MAX_BODY_BYTES:
                reason = "a header without a valid Content-Length" if length is None else "a Content-Length over the cap"
                out.append(BadFrame(reason))
                self._resync(1, limit=end + len(_HEADER_END))
                continue
            del self._buffer[: end + len(_HEADER_END)]
            self._body_length = length

    def _resync(self, start: int, limit: int | None = None) -> None:
        """Drop bytes up to the next ``Content-Length:`` at or after ``start`` (within the bad block,
        or anywhere after it); with none in sight, keep only a tail that may begin one."""
        match = _CONTENT_LENGTH.search(self._buffer, start)
        if match is not None:
            del self._buffer[: match.start()]
        elif limit is not None:
            del self._buffer[:limit]
        else:
            keep = len(b"content-length:") - 1
            del self._buffer[: max(0, len(self._buffer) - keep)]


def _content_length(head: bytes) -> int | None:
    length = None
    for line in head.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon:
            return None  # not a header line: the block is garbage, not a frame
        if name.strip().lower() == b"content-length":
            value = value.strip()
            if not value.isdigit() or len(value) > 12:
                return None
            length = int(value)
    return length


def encode(message: dict[str, Any]) -> bytes:
    """One frame; ASCII-only JSON, so the length in characters is the length in bytes."""
    body = json.dumps(message, separators=(",", ":")).encode("ascii")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


# --------------------------------------------------------------------------------------- messages

def valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def answer_id(message: Any) -> str | int | None:
    """The id to answer an invalid message with: its own when it has a usable one, else null."""
    if isinstance(message, dict) and valid_id(message.get("id")):
        return message["id"]
    return None


def shape_problem(message: Any) -> str | None:
    """Why ``message`` is not a JSON-RPC 2.0 request, notification or response (``None``: it is one).

    The reason names only the kind of problem (for the log), never a value from the message.
    """
    if isinstance(message, list):
        return "a batch (JSON array); LSP does not use batches"
    if not isinstance(message, dict):
        return "not a JSON object"
    if message.get("jsonrpc") != "2.0":
        return "no \"jsonrpc\": \"2.0\""
    if "id" in message and not valid_id(message["id"]) and not (message["id"] is None and "method" not in message):
        return "an id that is not a string or an integer"
    if "method" in message:
        if not isinstance(message["method"], str):
            return "a method that is not a string"
        return None
    if "id" in message and ("result" in message or "error" in message):
        return None
    return "neither a request, a notification nor a response"
