"""The loopback redirect receiver of the browser sign-in, and the paste-back path beside it.

Two pieces:

* :class:`PendingAuthorization` is one sign-in attempt waiting for its authorization code. It knows
  the expected ``state`` and is fed either by the callback server (the browser is redirected to
  ``http://127.0.0.1:<port>/cli/callback``) or by a URL the user pastes (a remote machine, where the
  browser cannot reach our port). Whichever arrives first with the right ``state`` settles it.
* :class:`CallbackServer` is the route and lifetime of a :class:`~sidecar.loopback.LoopbackServer` on
  127.0.0.1 only. It binds and holds the first free port of a range (no probe-then-bind race), reads
  one request per connection under strict size and time limits, answers with a small static page and
  closes the connection. Once the attempt is settled it releases the port at once (the next sign-in
  can bind it) and stops when the page that settled it has gone out.

What the official CLI's callback server gets wrong and this module must not: it listens on all
interfaces, has no timeout, ignores ``error=`` answers, and checks that a port is free before
binding it (a race).

Secrets (codes, states) never reach a log line, an exception message or a page: the server logs only
the method, the path and the outcome word, and pages echo nothing from the query except the
sanitised, escaped ``error_description`` of a denial whose ``state`` matched.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import logging
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Literal, Self

from ..errors import Cancelled, InvalidParams, PortsBusy, SignInDenied, SignInTimeout
from ..loopback import (
    LOOPBACK_HOST,
    MAX_REQUEST_LINE,
    Headers,
    LoopbackServer,
    Request,
    Response,
    host_names_this_server,
    require_loopback_bind,
)
from ..sites import DEFAULT_CALLBACK_PORTS
from ..timing import CALLBACK_LINGER, LOOPBACK_HEAD_TIMEOUT

log = logging.getLogger(__name__)

CALLBACK_PATH = "/cli/callback"

#: The word :meth:`PendingAuthorization.deliver` answers with; the HTTP layer picks the page by it.
Outcome = Literal["accepted", "denied", "state_mismatch", "invalid", "already_done"]

# --- limits (the HTTP ones live in ..loopback) -------------------------------------------------
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
#: The administrator's two documented steps, for an answer (or a silence) that may be "not authorized".
NOT_AUTHORIZED_STEPS = (
    'If the sign-in page said "The call is not authorized", a RAM administrator must first '
    "(1) install the official-cli application in the account (RAM console, Integrations > OAuth "
    "(Preview) > Third-party Application > Provision Official Application > Official CLI) and "
    "(2) assign you to it (the official-cli application's Assignments tab > Create Assignment)."
)

_NOT_AUTHORIZED_RE = re.compile(r"not authori[sz]ed|not allowed", re.IGNORECASE)
#: How a denial reads, first match wins: the service's not-authorized wording (the documented error
#: is "The call is not authorized" / "You are not allowed to do this action"), then the user's Deny.
_DENIAL_REASONS: tuple[tuple[Callable[[str, str], bool], str], ...] = (
    (lambda error, description: bool(_NOT_AUTHORIZED_RE.search(f"{error} {description}")), "notAuthorized"),
    (lambda error, _description: error == "access_denied", "userDenied"),
)


def denial_reason(error: str, description: str) -> str:
    """``userDenied``, ``notAuthorized`` or ``other`` for an ``error=`` answer (``signInDenied`` data)."""
    return next((reason for matches, reason in _DENIAL_REASONS if matches(error, description)), "other")


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
            error = _clean_text(error, MAX_ERROR_LENGTH) or "unknown"
            fut.set_exception(SignInDenied(error, description, denial_reason(error, description)))
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
                "address the browser ended on instead. " + NOT_AUTHORIZED_STEPS,
                seconds=timeout,
                # The service's not-authorized page may never redirect here: a timeout can be that.
                mayBeNotAuthorized=True,
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
    """The loopback HTTP receiver of one sign-in attempt; build it with :meth:`bind`.

    Its connections, deadlines and cap are :class:`~sidecar.loopback.LoopbackServer`'s; what is its
    own is the route (``Host``, path, method, then the attempt's ``state`` check) and its lifetime:
    the moment the attempt is settled (by this server, a pasted URL, a timeout or a cancel) it stops
    listening, so the port is free for the next sign-in at once, while the connection that brought
    the answer still gets its page. It closes for good once that page is out (at most ``linger``).
    """

    def __init__(self, pending: PendingAuthorization, *, linger: float, head_timeout: float) -> None:
        """Internal: use :meth:`bind`, which also starts listening."""
        self._pending = pending
        self._linger = linger
        self._http = LoopbackServer(
            self._route,
            label="callback",
            base_headers=_SECURITY_HEADERS,
            error_response=_ERROR_PAGES.__getitem__,
            head_timeout=head_timeout,
        )
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = asyncio.Event()

    @classmethod
    async def bind(
        cls,
        pending: PendingAuthorization,
        ports: tuple[int, int] = DEFAULT_CALLBACK_PORTS,
        host: str = LOOPBACK_HOST,
        *,
        linger: float = CALLBACK_LINGER,
        head_timeout: float = LOOPBACK_HEAD_TIMEOUT,
    ) -> CallbackServer:
        """Listen on the first port of ``ports`` (inclusive) that can be bound, on 127.0.0.1 only.

        ``(0, 0)`` lets the system choose (tests). ``head_timeout`` is each connection's deadline for
        its request head; ``linger`` bounds how long the result page may take once the port is
        released. Raises :class:`PortsBusy` when none of them can be bound, ``ValueError`` for another
        host or a bad range.
        """
        first, last = ports
        if not 0 <= first <= last <= 65535:
            raise ValueError("ports must be an inclusive (first, last) range inside 0..65535")
        require_loopback_bind(host)
        receiver = cls(pending, linger=linger, head_timeout=head_timeout)
        try:
            port = await receiver._http.listen(range(first, last + 1), host)
        except OSError:
            raise PortsBusy(first, last) from None
        receiver._watcher = asyncio.create_task(receiver._stop_after_settled())
        log.debug("callback server listening on %s:%d", LOOPBACK_HOST, port)
        return receiver

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def redirect_uri(self) -> str:
        """Exactly the redirect URI registered for the public client (keep it byte for byte)."""
        return f"http://{LOOPBACK_HOST}:{self.port}{CALLBACK_PATH}"

    @property
    def listening(self) -> bool:
        """Whether the port is still held (False as soon as the attempt is settled)."""
        return self._http.listening

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def release_port(self) -> None:
        """Stop listening now; the connections already accepted still get their pages."""
        self._http.stop_listening()

    async def wait_closed(self) -> None:
        """Return once the server has stopped (after its last page, or after :meth:`close`)."""
        await self._closed.wait()

    async def close(self) -> None:
        """Stop listening and drop every open connection now. Safe to call more than once."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        try:
            watcher = self._watcher
            if watcher is not None and watcher is not asyncio.current_task():
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            await self._http.close()
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

    async def _stop_after_settled(self) -> None:
        """Once the attempt is over, free the port at once; close when the last page is out."""
        await self._pending.settled()
        self.release_port()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._linger):
                await self._http.wait_idle()
        await self.close()

    def _route(self, request: Request) -> Response:
        path, _, query = request.target.partition("?")
        if path == "/favicon.ico":
            return _FAVICON
        if not host_names_this_server(request.headers.get("host"), self.port):
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
        if self._pending.done():
            self.release_port()  # now, not a loop turn later: the next sign-in may bind it already
        return _outcome_page(outcome, self._pending)


def _loggable(path: str) -> str:
    """A path for a debug line: bounded, and cut at the first byte that is not plain printable."""
    return path[:80].encode("ascii", "backslashreplace").decode("ascii")
