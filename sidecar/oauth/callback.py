"""The loopback redirect receiver of the browser sign-in, and the paste-back path beside it.

Two pieces:

* :class:`PendingAuthorization` is one sign-in attempt waiting for its authorization code. It knows
  the expected ``state`` and is fed either by the callback server (the browser is redirected to
  ``http://127.0.0.1:<port>/cli/callback``) or by a URL the user pastes (a remote machine, where the
  browser cannot reach our port). Whichever arrives first with the right ``state`` settles it.
* :class:`CallbackServer` is a deliberately tiny HTTP/1.1 server on 127.0.0.1 only. It binds and holds
  the first free port of a range (no probe-then-bind race), reads one request per connection under
  strict size and time limits, answers with a small static page and closes the connection. Once the
  attempt is settled it stays up for a short linger, so the browser can show the result, then stops.

What the official CLI gets wrong and this module must not (see protocol.md): listening on all
interfaces, no timeout, ignoring ``error=`` answers, probing ports before binding.

Secrets (codes, states) never reach a log line, an exception message or a page: the server logs only
the method, the path and the outcome word, and pages echo nothing from the query except the
sanitised, escaped ``error_description`` of a denial whose ``state`` matched.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import ipaddress
import logging
import re
import unicodedata
import urllib.parse
from collections.abc import Mapping
from types import TracebackType
from typing import Literal, Self

from ..errors import Cancelled, InvalidParams, PortsBusy, SignInDenied, SignInTimeout
from ..loopback_http import (
    MAX_CONNECTIONS,
    MAX_HEADER_BYTES,
    MAX_REQUEST_LINE,
    Headers,
    Request,
    Response,
    answer,
    host_is_loopback,
    serialize,
    serve_one,
)

log = logging.getLogger(__name__)

CALLBACK_PATH = "/cli/callback"
DEFAULT_PORTS: tuple[int, int] = (12345, 12349)
LOOPBACK_HOST = "127.0.0.1"
DEFAULT_LINGER = 2.0
DEFAULT_READ_TIMEOUT = 10.0

#: The word :meth:`PendingAuthorization.deliver` answers with; the HTTP layer picks the page by it.
Outcome = Literal["accepted", "denied", "state_mismatch", "invalid", "already_done"]

# --- limits (the HTTP ones live in ..loopback_http) --------------------------------------------
MAX_CODE_LENGTH = 4096
MAX_STATE_LENGTH = 512
MAX_ERROR_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 300
MAX_QUERY_FIELDS = 50
MAX_PASTED_URL = MAX_REQUEST_LINE

#: Parameters of an authorization answer (RFC 6749 4.1.2): a repeated one makes the answer invalid.
_ANSWER_PARAMS = frozenset({"code", "state", "error", "error_description", "error_uri"})
#: Authorization codes are opaque; we only insist on visible ASCII, so a mangled paste is caught here.
_CODE_RE = re.compile(r"[\x21-\x7e]+")
_QUOTES = "\"'`<>"

STALE_URL_MESSAGE = (
    "This URL belongs to another or an older sign-in; start again and paste the newest one."
)
INCOMPLETE_URL_MESSAGE = (
    "This is not a complete sign-in answer: copy the whole address the browser ended on "
    "(it starts with http://127.0.0.1: and contains /cli/callback?code=...&state=...)."
)
NOT_A_CALLBACK_MESSAGE = (
    "This is not a sign-in answer: paste the address the browser ended on after you approved the "
    "sign-in (it contains /cli/callback?code=...&state=...)."
)
FINISHED_MESSAGE = "This sign-in is no longer waiting for an answer; start the sign-in again."


# =================================================================================================
# The pending authorization
# =================================================================================================


class PendingAuthorization:
    """One sign-in attempt waiting for its authorization code.

    The result lives in an asyncio Future created on first use (so the object can be built before the
    loop runs). The attempt ends exactly once: with a code, a denial, a timeout or a cancellation.
    Answers with a wrong ``state`` never end it: they may be stale tabs or forgeries, and the real
    answer can still arrive.
    """

    def __init__(self, state: str) -> None:
        if not state:
            raise ValueError("A pending authorization needs a non-empty state.")
        self._state = state.encode("utf-8")
        self._fut: asyncio.Future[str] | None = None

    def __repr__(self) -> str:
        # Never show the state (nor the code) in a repr that may end up in a log.
        return f"<PendingAuthorization done={self.done()}>"

    # --- feeding ---------------------------------------------------------------------------------

    def deliver(self, params: Mapping[str, str]) -> Outcome:
        """Judge one authorization answer and settle the attempt if it is the real one.

        ``params`` holds single values; a caller that saw a repeated parameter must not call this
        (use :meth:`deliver_query`, which checks). The order of the checks matters: the state is
        checked before anything else is believed, so a forged or stale answer changes nothing.
        """
        if not self._state_matches(params.get("state")):
            return "state_mismatch"
        fut = self._future()
        if fut.done():
            return "already_done"
        error = params.get("error")
        if error is not None:
            description = _clean_text(params.get("error_description", ""), MAX_DESCRIPTION_LENGTH)
            fut.set_exception(SignInDenied(_clean_text(error, MAX_ERROR_LENGTH) or "unknown", description))
            return "denied"
        code = params.get("code")
        if code is None or len(code) > MAX_CODE_LENGTH or not _CODE_RE.fullmatch(code):
            return "invalid"
        fut.set_result(code)
        return "accepted"

    def deliver_query(self, query: str) -> Outcome:
        """:meth:`deliver` for a raw query string; repeated or undecodable parameters are "invalid"."""
        params = parse_answer_query(query)
        if params is None:
            return "invalid"
        return self.deliver(params)

    def deliver_url(self, url: str) -> None:
        """Paste-back: settle the attempt from the address the browser ended on.

        Returns normally when the attempt took the answer: with a code, or with ``error=`` (then the
        waiter in :meth:`wait` reports the denial, so there is one place that reports it). Raises
        :class:`InvalidParams` with a sentence for the user for anything else.
        """
        query = _callback_query_of(url)
        params = parse_answer_query(query)
        if params is None:
            raise InvalidParams(INCOMPLETE_URL_MESSAGE)
        if not params.get("state") or ("code" not in params and "error" not in params):
            raise InvalidParams(INCOMPLETE_URL_MESSAGE)
        outcome = self.deliver(params)
        log.debug("pasted sign-in answer -> %s", outcome)
        if outcome in ("accepted", "denied"):
            return
        if outcome == "state_mismatch":
            raise InvalidParams(STALE_URL_MESSAGE)
        if outcome == "already_done":
            if self._succeeded():
                return  # the browser's own callback got there first: nothing left to do
            raise InvalidParams(FINISHED_MESSAGE)
        raise InvalidParams(INCOMPLETE_URL_MESSAGE)

    # --- waiting ---------------------------------------------------------------------------------

    async def wait(self, timeout: float) -> str:
        """The authorization code, once the attempt has one.

        Raises :class:`SignInDenied`, :class:`Cancelled` (after :meth:`cancel`) or
        :class:`SignInTimeout`. A timeout ends the attempt (a late answer gets "already_done", and the
        callback server stops after its linger). If the waiting task itself is cancelled the attempt
        is cancelled too and :class:`asyncio.CancelledError` propagates for the caller to map.
        """
        fut = self._future()
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(fut)
        except TimeoutError:
            if fut.done():  # the answer and the deadline raced: the answer wins
                return fut.result()
            error = SignInTimeout(
                f"No answer came back from the browser sign-in within {_duration(timeout)}. "
                "Start the sign-in again; if the browser cannot reach this machine, paste the "
                "address the browser ended on instead.",
                seconds=timeout,
            )
            fut.set_exception(error)
            raise error from None
        except asyncio.CancelledError:
            self.cancel()
            raise

    def cancel(self) -> bool:
        """End the attempt as cancelled; :meth:`wait` raises :class:`Cancelled`. False if already over."""
        fut = self._future()
        if fut.done():
            return False
        fut.set_exception(Cancelled("The sign-in was cancelled."))
        return True

    def done(self) -> bool:
        """Whether the attempt is over (code, denial, timeout or cancellation)."""
        return self._fut is not None and self._fut.done()

    async def settled(self) -> None:
        """Return once the attempt is over, whatever the result; never raises the attempt's error."""
        await asyncio.wait([self._future()])

    # --- internals -------------------------------------------------------------------------------

    def _future(self) -> asyncio.Future[str]:
        if self._fut is None:
            self._fut = asyncio.get_running_loop().create_future()
            # Mark a failure as seen even if nobody awaits it (e.g. a denial after the caller left),
            # so asyncio does not log "Future exception was never retrieved".
            self._fut.add_done_callback(_consume_exception)
        return self._fut

    def _state_matches(self, given: str | None) -> bool:
        if not given or len(given) > MAX_STATE_LENGTH:
            return False
        return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), self._state)

    def _denial(self) -> SignInDenied | None:
        fut = self._fut
        if fut is None or not fut.done() or fut.cancelled():
            return None
        error = fut.exception()
        return error if isinstance(error, SignInDenied) else None

    def _succeeded(self) -> bool:
        fut = self._fut
        return fut is not None and fut.done() and not fut.cancelled() and fut.exception() is None


def _consume_exception(fut: asyncio.Future[str]) -> None:
    if not fut.cancelled():
        fut.exception()


def parse_answer_query(query: str) -> dict[str, str] | None:
    """Decode a callback query strictly: ``None`` if it is undecodable or repeats an answer parameter.

    Unknown parameters are kept (and ignored by the judge); a repeated ``code``/``state``/``error``
    is refused because we could not tell which value the service meant.
    """
    try:
        pairs = urllib.parse.parse_qsl(
            query,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_QUERY_FIELDS,
        )
    except (ValueError, UnicodeDecodeError):
        return None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params and name in _ANSWER_PARAMS:
            return None
        params.setdefault(name, value)
    return params


def _callback_query_of(url: str) -> str:
    """The query of a pasted callback URL; :class:`InvalidParams` if it is not one."""
    text = url.strip().strip(_QUOTES).strip()
    # A URL never holds whitespace; a long one copied out of a terminal may have been wrapped.
    text = "".join(text.split())
    if not text or len(text) > MAX_PASTED_URL:
        raise InvalidParams(NOT_A_CALLBACK_MESSAGE)
    if "://" not in text:
        text = "http://" + text  # some address bars copy without the scheme
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError:
        raise InvalidParams(NOT_A_CALLBACK_MESSAGE) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.path.endswith(CALLBACK_PATH):
        raise InvalidParams(NOT_A_CALLBACK_MESSAGE)
    if not parts.query:
        raise InvalidParams(INCOMPLETE_URL_MESSAGE)
    return parts.query


def _clean_text(value: str, limit: int) -> str:
    """Upstream text made safe to show and log: no control/format characters, one line, bounded."""
    kept = "".join(ch for ch in value if ch.isspace() or not unicodedata.category(ch).startswith("C"))
    text = " ".join(kept.split())  # also turns tabs and line breaks into single spaces
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:g} minutes"
    if seconds == 1:
        return "1 second"
    return f"{seconds:g} seconds"


# =================================================================================================
# HTTP: requests, responses, pages
# =================================================================================================


_SECURITY_HEADERS: Headers = (
    ("Content-Type", "text/html; charset=utf-8"),
    ("Connection", "close"),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)

_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:36rem;"
    "margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}"
    "h1{font-size:1.4rem}"
)


def _page(status: int, title: str, *paragraphs: str, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    """A small self-contained page; every argument is escaped here, so callers pass plain text."""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    document = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(status, document.encode("utf-8"), extra)


def _outcome_page(outcome: Outcome, pending: PendingAuthorization) -> Response:
    if outcome == "accepted":
        return _page(
            200,
            "Authorization successful. You can close this window.",
            "Return to your editor: the sign-in finishes there.",
        )
    if outcome == "denied":
        return _denied_page(pending)
    if outcome == "already_done":
        return _page(
            200,
            "This sign-in has already finished. You can close this window.",
            "Return to your editor to see the result.",
        )
    if outcome == "state_mismatch":
        return _page(
            400,
            "This sign-in link is from an older attempt.",
            "It does not belong to the sign-in your editor is waiting for, so nothing was changed. "
            "Use the newest sign-in window, or start the sign-in again from your editor.",
        )
    return _page(
        400,
        "This is not a valid sign-in answer.",
        "Nothing was changed. Start the sign-in again from your editor.",
    )


def _denied_page(pending: PendingAuthorization) -> Response:
    """The refusal page; shows only the sanitised description the attempt already holds."""
    denial = pending._denial()  # noqa: SLF001 - same module; the denial was just stored there
    detail = ""
    if denial is not None:
        detail = str(denial.details.get("description") or denial.details.get("error") or "")
    paragraphs = ["No credentials were saved. Return to your editor to try again."]
    if detail:
        paragraphs.insert(0, f"The sign-in service said: {detail}")
    return _page(200, "Sign-in was refused.", *paragraphs)


_NOT_FOUND = _page(404, "Not found.")
_FAVICON = Response(404, b"")
_METHOD_NOT_ALLOWED = _page(405, "Method not allowed.", extra=(("Allow", "GET"),))
_ERROR_PAGES: dict[int, Response] = {
    400: _page(400, "Bad request."),
    408: _page(408, "Request timeout."),
    414: _page(414, "Request line too long."),
    431: _page(431, "Request headers too large."),
    503: _page(503, "Too many connections."),
}


# =================================================================================================
# The server
# =================================================================================================


class CallbackServer:
    """The loopback HTTP receiver of one sign-in attempt; build it with :meth:`bind`."""

    def __init__(
        self,
        pending: PendingAuthorization,
        *,
        host: str,
        linger: float,
        read_timeout: float,
    ) -> None:
        """Internal: use :meth:`bind`, which also starts listening."""
        self._pending = pending
        self._host = host
        self._linger = linger
        self._read_timeout = read_timeout
        self._server: asyncio.Server | None = None
        self._port = 0
        self._connections: set[asyncio.Task[None]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = asyncio.Event()

    @classmethod
    async def bind(
        cls,
        pending: PendingAuthorization,
        ports: tuple[int, int] = DEFAULT_PORTS,
        host: str = LOOPBACK_HOST,
        *,
        linger: float = DEFAULT_LINGER,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> CallbackServer:
        """Listen on the first port of ``ports`` (inclusive) that can be bound, on ``host`` only.

        Each port is bound for real and kept (no "is it free?" probe, which another program could
        win between the probe and the bind). ``(0, 0)`` lets the system choose (tests). Raises
        :class:`PortsBusy` when none of them can be bound.
        """
        first, last = ports
        if not 0 <= first <= last <= 65535:
            raise ValueError("ports must be an inclusive (first, last) range inside 0..65535")
        if not ipaddress.IPv4Address(host).is_loopback:
            raise ValueError("the callback server listens on an IPv4 loopback address only")
        receiver = cls(pending, host=host, linger=linger, read_timeout=read_timeout)
        for port in range(first, last + 1):
            try:
                listener = await asyncio.start_server(
                    receiver._on_connection, host, port, limit=MAX_HEADER_BYTES, backlog=16
                )
            except OSError as exc:
                log.debug("callback port %d unavailable (errno %s)", port, exc.errno)
                continue
            receiver._started(listener)
            return receiver
        raise PortsBusy(first, last)

    @property
    def port(self) -> int:
        return self._port

    @property
    def redirect_uri(self) -> str:
        """Exactly the redirect URI registered for the public client (keep it byte for byte)."""
        return f"http://{self._host}:{self._port}{CALLBACK_PATH}"

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        """Return once the server has stopped (after its linger, or after :meth:`close`)."""
        await self._closed.wait()

    async def close(self) -> None:
        """Stop listening and drop every open connection now. Safe to call more than once."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        try:
            if self._server is not None:
                self._server.close()
            current = asyncio.current_task()
            tasks = [t for t in (self._watcher, *self._connections) if t is not None and t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._server is not None:
                await self._server.wait_closed()
        finally:
            self._closed.set()
            log.debug("callback server stopped")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- internals -------------------------------------------------------------------------------

    def _started(self, listener: asyncio.Server) -> None:
        self._server = listener
        self._port = listener.sockets[0].getsockname()[1]
        self._watcher = asyncio.create_task(self._stop_after_settled())
        log.debug("callback server listening on %s:%d", self._host, self._port)

    async def _stop_after_settled(self) -> None:
        """Once the attempt is over, give the browser ``linger`` seconds to load the page, then stop."""
        await self._pending.settled()
        await asyncio.sleep(self._linger)
        await self.close()

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task: asyncio.Task[None] = asyncio.current_task()  # type: ignore[assignment]
        if self._closing:  # accepted just before close(): close() did not see this task
            writer.close()
            return
        self._connections.add(task)
        try:
            if len(self._connections) > MAX_CONNECTIONS:
                busy = serialize(_ERROR_PAGES[503], _SECURITY_HEADERS, head_only=False)
                await answer(writer, reader, busy, timeout=self._read_timeout)
                return
            await self._serve_one(reader, writer)
        except asyncio.CancelledError:
            # Only close() cancels these leaf tasks. Ending normally matters: Python 3.11's stream
            # server calls task.exception() on its callback task, which raises for a cancelled task.
            pass
        except Exception as exc:  # a broken client must never take the server down
            log.debug("callback connection failed: %s", type(exc).__name__)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_one(
            reader,
            writer,
            route=self._route,
            error_response=_ERROR_PAGES.__getitem__,
            base_headers=_SECURITY_HEADERS,
            read_timeout=self._read_timeout,
            label="callback",
        )

    def _route(self, request: Request) -> Response:
        path, _, query = request.target.partition("?")
        if path == "/favicon.ico":
            return _FAVICON
        if not host_is_loopback(request.headers.get("host")):
            log.debug("callback %s %s -> bad host", request.method, _loggable(path))
            return _ERROR_PAGES[400]
        if path != CALLBACK_PATH:  # compared raw: no decoding, no normalising, so no traversal
            log.debug("callback %s %s -> not found", request.method, _loggable(path))
            return _NOT_FOUND
        if request.method != "GET":
            log.debug("callback %s %s -> method not allowed", request.method, path)
            return _METHOD_NOT_ALLOWED
        outcome = self._pending.deliver_query(query)
        log.debug("callback %s %s -> %s", request.method, path, outcome)
        return _outcome_page(outcome, self._pending)


def _loggable(path: str) -> str:
    """A path for a debug line: bounded, and cut at the first byte that is not plain printable."""
    return path[:80].encode("ascii", "backslashreplace").decode("ascii")
