"""The sign-in service's memory and rules, without any HTTP.

Everything the real service decides (is this authorize request acceptable, does this code and verifier
buy tokens, is this refresh token still good, what does an access token exchange for) lives here, behind
one lock, so that the HTTP handler, ``Emulator.approve()`` and the control endpoints all apply exactly
the same validation. Nothing here formats a token, code, verifier or secret into an error or a log line.

Behaviour chosen where the reference is silent (documented for the tests that depend on it):

* Authorization codes are single-use and live ``code_ttl`` seconds (default 300). Any exchange attempt
  that finds the code spends it, even when it then fails (wrong verifier, redirect_uri or client); a
  second use of a spent code also revokes every token issued from it (RFC 6749 §4.1.2).
* Refresh tokens rotate: a successful refresh returns a new access token and a new refresh token and
  spends the old refresh token; using it again answers ``invalid_grant``. The rest of the family stays
  valid (no reuse detection that would sign out the process that won a refresh race).
* Each refresh token lives ``refresh_token_ttl`` seconds from its own issue (sliding window).
* Access tokens stay valid until their own expiry after a refresh; ``revoke_refresh_tokens`` leaves
  them valid too (use ``expire_access_tokens`` to end them).
* TTL changes apply to tokens issued afterwards. All times use ``now() = time.time() + clock_skew``.

Readings where the official clients disagree (see the reference's last section) are switches, off by
default, so that the sidecar can be tested against each:

* ``exchange_spelling``: ``camel`` (``accessKeyId``..., what the Node.js SDK reads) or ``pascal``
  (``AccessKeyId``..., what the Python SDK reads); the Go CLI reads both.
* ``refresh_token_in_code_grant`` / ``refresh_token_in_refresh``: whether the answer carries a
  ``refresh_token``. Without one in a refresh, the refresh token used is not rotated (it stays good).
* ``exchange_min_access_lifetime``: the exchange refuses an access token with less than this many
  seconds left (``invalid_token``, 401; the real answer is not known). 0: off.
* ``refresh_token_absolute``: every refresh token of a sign-in expires when the first one did
  (set once at authorization, never extended), instead of ``refresh_token_ttl`` after its own issue.
* ``registered_ports_only``: only ``http://127.0.0.1:<port>/cli/callback`` with a port in
  ``registered_ports`` (12345-12349, what the CLI hard-codes) is accepted.
* ``not_authorized_page``: with ``not_authorized``, Authorize shows the "The call is not authorized"
  error page and never redirects to the callback (instead of redirecting with ``access_denied``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from .identity import Identity

#: The public clients of the two sites (client_id → site).
CLIENTS: dict[str, str] = {"4038181954557748008": "CN", "4103531455503354461": "INTL"}

REDIRECT_URI = re.compile(r"http://127\.0\.0\.1:([1-9][0-9]{0,4})/cli/callback")
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
CODE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")

#: The redirect ports registered for the official-cli application (the CLI hard-codes them).
REGISTERED_PORTS = (12345, 12349)
EXCHANGE_SPELLINGS = ("camel", "pascal")
DENIED_DESCRIPTION = "The user denied the authorization request."
NOT_AUTHORIZED_DESCRIPTION = "The call is not authorized."
#: How long the Authorize/Deny page stays answerable.
PENDING_TTL = 600.0
MAX_STATE_LENGTH = 1024

QueryLike = Mapping[str, Sequence[str]]

BOOLEAN_SETTINGS = (
    "auto_approve",
    "not_authorized",
    "send_refresh_expiry",
    "refresh_token_in_code_grant",
    "refresh_token_in_refresh",
    "refresh_token_absolute",
    "registered_ports_only",
    "not_authorized_page",
)
#: The ``/v1/exchange`` answer's fields in each spelling.
EXCHANGE_FIELDS: dict[str, tuple[str, str, str, str]] = {
    "camel": ("accessKeyId", "accessKeySecret", "securityToken", "expiration"),
    "pascal": ("AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"),
}


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def rfc3339(unix: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(unix)))


def _random_text(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class AuthorizeError(Exception):
    """An authorize request (or decision) that the page refuses; the browser is never redirected."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


class OAuthError(Exception):
    """An error answer of the API (``/v1/token``, ``/v1/exchange``): status and JSON fields."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description, "requestId": new_request_id()}


@dataclass
class Config:
    """What a test may change while the emulator runs."""

    auto_approve: bool = False
    #: Emulate an application that is not installed/assigned: Authorize comes back with access_denied.
    not_authorized: bool = False
    access_token_ttl: float = 3600.0
    refresh_token_ttl: float = 30 * 86400.0
    sts_ttl: float = 3600.0
    code_ttl: float = 300.0
    clock_skew: float = 0.0
    #: Add ``refresh_token_expires_in`` to token answers (the real service may not send it).
    send_refresh_expiry: bool = False
    #: Field names of the ``/v1/exchange`` answer: ``camel`` or ``pascal``.
    exchange_spelling: str = "camel"
    refresh_token_in_code_grant: bool = True
    refresh_token_in_refresh: bool = True
    #: Seconds the access token must still have for the exchange (0: no minimum).
    exchange_min_access_lifetime: float = 0.0
    refresh_token_absolute: bool = False
    registered_ports_only: bool = False
    registered_ports: tuple[int, int] = REGISTERED_PORTS
    not_authorized_page: bool = False
    identity: Identity = field(default_factory=Identity)

    def to_json(self) -> dict[str, Any]:
        return {
            "auto_approve": self.auto_approve,
            "not_authorized": self.not_authorized,
            "access_token_ttl": self.access_token_ttl,
            "refresh_token_ttl": self.refresh_token_ttl,
            "sts_ttl": self.sts_ttl,
            "code_ttl": self.code_ttl,
            "clock_skew": self.clock_skew,
            "send_refresh_expiry": self.send_refresh_expiry,
            "exchange_spelling": self.exchange_spelling,
            "refresh_token_in_code_grant": self.refresh_token_in_code_grant,
            "refresh_token_in_refresh": self.refresh_token_in_refresh,
            "exchange_min_access_lifetime": self.exchange_min_access_lifetime,
            "refresh_token_absolute": self.refresh_token_absolute,
            "registered_ports_only": self.registered_ports_only,
            "registered_ports": list(self.registered_ports),
            "not_authorized_page": self.not_authorized_page,
            "identity": self.identity.to_json(),
        }


@dataclass(frozen=True)
class PendingAuthorization:
    """A validated authorize request waiting for the user's Authorize or Deny."""

    id: str = field(repr=False)
    client_id: str
    redirect_uri: str
    state: str
    code_challenge: str = field(repr=False)
    expires_at: float

    @property
    def site(self) -> str:
        return CLIENTS[self.client_id]


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    identity: Identity
    expires_at: float
    used: bool = False
    family_id: str | None = None


@dataclass
class _Family:
    """One browser sign-in and every token that its refreshes issued."""

    id: str
    client_id: str
    identity: Identity
    created_at: float
    revoked: bool = False
    #: When its refresh tokens expire under ``refresh_token_absolute`` (set by the first one).
    refresh_expires_at: float | None = None


@dataclass
class _Refresh:
    family_id: str
    expires_at: float
    spent: bool = False
    revoked: bool = False


@dataclass
class _Access:
    family_id: str
    expires_at: float


@dataclass(frozen=True)
class StsRecord:
    """An issued STS credential, kept for GetCallerIdentity."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str = field(repr=False)
    expires_at: float
    identity: Identity
    family_id: str
    client_id: str


def _single(params: QueryLike, name: str, *, error: type[Exception]) -> str | None:
    """One value of a parameter; a repeated parameter is an invalid request (RFC 6749 §3.1)."""
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise error("invalid_request", f"Parameter '{name}' is repeated.")
    return values[0]


def _required(params: QueryLike, name: str) -> str:
    value = _single(params, name, error=OAuthError)
    if not value:
        raise OAuthError("invalid_request", f"Missing parameter: {name}.")
    return value


class ServiceState:
    """The whole service state. Every public method takes the lock; all are safe from any thread."""

    def __init__(self, config: Config | None = None) -> None:
        self._lock = threading.RLock()
        self.config = config or Config()
        self._pending: dict[str, PendingAuthorization] = {}
        self._codes: dict[str, _Code] = {}
        self._families: dict[str, _Family] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, _Access] = {}
        self._sts: dict[str, StsRecord] = {}
        self._counters: dict[str, int] = {}
        self._requests: dict[str, int] = {}
        self._in_progress: dict[str, int] = {}
        self._errors: dict[str, int] = {}
        self._faults: dict[str, int] = {}

    # -- clock and configuration ------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.config.clock_skew

    def configure(self, **changes: Any) -> Config:
        """Change configuration fields (validated); returns the new configuration."""
        with self._lock:
            for name in changes:
                if not hasattr(self.config, name):
                    raise ValueError(f"unknown setting {name!r}")
            for name in ("access_token_ttl", "refresh_token_ttl", "sts_ttl", "code_ttl", "exchange_min_access_lifetime"):
                if name in changes:
                    value = float(changes[name])
                    if value < 0:
                        raise ValueError(f"{name} must not be negative")
                    changes[name] = value
            if "clock_skew" in changes:
                changes["clock_skew"] = float(changes["clock_skew"])
            for name in BOOLEAN_SETTINGS:
                if name in changes and not isinstance(changes[name], bool):
                    raise ValueError(f"{name} must be a boolean")
            if "exchange_spelling" in changes and changes["exchange_spelling"] not in EXCHANGE_SPELLINGS:
                raise ValueError(f"exchange_spelling must be one of {', '.join(EXCHANGE_SPELLINGS)}")
            if "registered_ports" in changes:
                ports = changes["registered_ports"]
                if (
                    not isinstance(ports, (list, tuple))
                    or len(ports) != 2
                    or not all(isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 65535 for p in ports)
                    or ports[0] > ports[1]
                ):
                    raise ValueError("registered_ports must be [first, last] ports")
                changes["registered_ports"] = (int(ports[0]), int(ports[1]))
            if "identity" in changes and not isinstance(changes["identity"], Identity):
                raise ValueError("identity must be an Identity")
            self.config = replace(self.config, **changes)
            return self.config

    # -- counters ---------------------------------------------------------------------------------

    def _count(self, name: str, by: int = 1) -> None:
        self._counters[name] = self._counters.get(name, 0) + by

    def count(self, name: str) -> None:
        """Count an event under a top-level stats key (e.g. ``caller_identity`` from the STS side)."""
        with self._lock:
            self._count(name)

    def count_request(self, endpoint: str) -> None:
        with self._lock:
            self._requests[endpoint] = self._requests.get(endpoint, 0) + 1

    def in_progress(self, endpoint: str, by: int) -> None:
        """Requests that have arrived and are not answered yet (``by`` +1 on arrival, -1 once the
        answer is sent or the connection dropped): the window in which a client's death loses the
        answer (``stats()["in_progress"]``)."""
        with self._lock:
            self._in_progress[endpoint] = self._in_progress.get(endpoint, 0) + by

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] = self._faults.get(kind, 0) + 1
            self._count("faults_injected")

    def count_error(self, error: str) -> None:
        """Every error answer of the API, by OAuth error code (``invalid_grant`` also gets a top key)."""
        with self._lock:
            self._errors[error] = self._errors.get(error, 0) + 1
            if error == "invalid_grant":
                self._count("invalid_grant")

    def stats(self) -> dict[str, Any]:
        keys = (
            "authorize_requests_rejected",
            "authorizations_approved",
            "authorizations_denied",
            "code_exchanges",
            "code_exchange_failures",
            "refreshes",
            "refresh_failures",
            "exchanges",
            "exchange_failures",
            "invalid_grant",
            "faults_injected",
            "caller_identity",
            "caller_identity_failures",
        )
        with self._lock:
            snapshot: dict[str, Any] = {key: self._counters.get(key, 0) for key in keys}
            snapshot["requests"] = {
                name: self._requests.get(name, 0) for name in ("authorize", "decision", "token", "exchange", "control")
            }
            snapshot["in_progress"] = {name: n for name, n in self._in_progress.items() if n}
            snapshot["errors"] = dict(self._errors)
            snapshot["faults"] = dict(self._faults)
            snapshot["active_families"] = sum(1 for f in self._families.values() if not f.revoked)
            snapshot["sts_issued"] = len(self._sts)
            return snapshot

    # -- authorize --------------------------------------------------------------------------------

    def begin_authorization(self, params: QueryLike) -> PendingAuthorization:
        """Validate an authorize request and remember it until the user decides.

        Client and redirect URI are checked first: when either is wrong nothing may be sent to the
        redirect URI. All failures are shown on the page (never redirected).
        """
        try:
            return self._begin_authorization(params)
        except AuthorizeError:
            with self._lock:
                self._count("authorize_requests_rejected")
            raise

    def _begin_authorization(self, params: QueryLike) -> PendingAuthorization:
        client_id = _single(params, "client_id", error=AuthorizeError)
        if not client_id:
            raise AuthorizeError("invalid_request", "Missing parameter: client_id.")
        if client_id not in CLIENTS:
            raise AuthorizeError("invalid_client", "The client_id is not known to this service.")
        redirect_uri = _single(params, "redirect_uri", error=AuthorizeError)
        if not redirect_uri:
            raise AuthorizeError("invalid_request", "Missing parameter: redirect_uri.")
        match = REDIRECT_URI.fullmatch(redirect_uri)
        if not match or int(match.group(1)) > 65535:
            raise AuthorizeError("invalid_request", "The redirect_uri is not registered for this client.")
        first, last = self.config.registered_ports
        if self.config.registered_ports_only and not first <= int(match.group(1)) <= last:
            raise AuthorizeError("invalid_request", "The redirect_uri is not registered for this client.")
        response_type = _single(params, "response_type", error=AuthorizeError)
        if response_type != "code":
            raise AuthorizeError("unsupported_response_type", "Only response_type=code is supported.")
        state = _single(params, "state", error=AuthorizeError)
        if not state:
            raise AuthorizeError("invalid_request", "Missing parameter: state.")
        if len(state) > MAX_STATE_LENGTH:
            raise AuthorizeError("invalid_request", "The state parameter is too long.")
        challenge = _single(params, "code_challenge", error=AuthorizeError)
        if not challenge:
            raise AuthorizeError("invalid_request", "Missing parameter: code_challenge (PKCE is required).")
        if not CODE_CHALLENGE.fullmatch(challenge):
            raise AuthorizeError("invalid_request", "The code_challenge must be 43 base64url characters.")
        method = _single(params, "code_challenge_method", error=AuthorizeError)
        if method != "S256":
            raise AuthorizeError("invalid_request", "The code_challenge_method must be S256.")
        with self._lock:
            now = self.now()
            self._purge(now)
            pending = PendingAuthorization(
                id=secrets.token_urlsafe(24),
                client_id=client_id,
                redirect_uri=redirect_uri,
                state=state,
                code_challenge=challenge,
                expires_at=now + PENDING_TTL,
            )
            self._pending[pending.id] = pending
            return pending

    def decide(self, pending_id: str, approve: bool) -> str:
        """The user's decision on a pending request: the redirect Location (code or error)."""
        with self._lock:
            pending = self._pending.pop(pending_id, None)
            if pending is None or pending.expires_at <= self.now():
                self._count("authorize_requests_rejected")
                raise AuthorizeError(
                    "invalid_request", "This sign-in request is unknown or has expired; start the sign-in again."
                )
            if not approve:
                self._count("authorizations_denied")
                return self._error_redirect(pending, "access_denied", DENIED_DESCRIPTION)
            if self.config.not_authorized:
                self._count("authorizations_denied")
                if self.config.not_authorized_page:
                    # The documented answer: an error page; the callback never hears of it.
                    raise AuthorizeError("access_denied", NOT_AUTHORIZED_DESCRIPTION, status=403)
                return self._error_redirect(pending, "access_denied", NOT_AUTHORIZED_DESCRIPTION)
            code = secrets.token_urlsafe(32)
            self._codes[code] = _Code(
                client_id=pending.client_id,
                redirect_uri=pending.redirect_uri,
                challenge=pending.code_challenge,
                identity=self.config.identity,
                expires_at=self.now() + self.config.code_ttl,
            )
            self._count("authorizations_approved")
            return f"{pending.redirect_uri}?{urlencode({'code': code, 'state': pending.state})}"

    @staticmethod
    def _error_redirect(pending: PendingAuthorization, error: str, description: str) -> str:
        query = urlencode({"error": error, "error_description": description, "state": pending.state})
        return f"{pending.redirect_uri}?{query}"

    def _purge(self, now: float) -> None:
        """Forget pending requests and codes that can no longer matter (keeps memory bounded)."""
        for key in [k for k, p in self._pending.items() if p.expires_at <= now]:
            del self._pending[key]
        for key in [k for k, c in self._codes.items() if c.expires_at + 3600 <= now]:
            del self._codes[key]

    # -- token endpoint ---------------------------------------------------------------------------

    def token(self, form: QueryLike) -> dict[str, Any]:
        """``POST /v1/token``: the answer body, or ``OAuthError`` (counted)."""
        try:
            grant_type = _single(form, "grant_type", error=OAuthError)
            if grant_type == "authorization_code":
                try:
                    answer = self._code_grant(form)
                except OAuthError:
                    with self._lock:
                        self._count("code_exchange_failures")
                    raise
                with self._lock:
                    self._count("code_exchanges")
                return answer
            if grant_type == "refresh_token":
                try:
                    answer = self._refresh_grant(form)
                except OAuthError:
                    with self._lock:
                        self._count("refresh_failures")
                    raise
                with self._lock:
                    self._count("refreshes")
                return answer
            if not grant_type:
                raise OAuthError("invalid_request", "Missing parameter: grant_type.")
            raise OAuthError("unsupported_grant_type", "The grant_type is not supported.")
        except OAuthError as exc:
            self.count_error(exc.error)
            raise

    def _client(self, form: QueryLike) -> str:
        client_id = _required(form, "client_id")
        if client_id not in CLIENTS:
            raise OAuthError("invalid_client", "The client_id is not known to this service.")
        return client_id

    def _code_grant(self, form: QueryLike) -> dict[str, Any]:
        code = _required(form, "code")
        client_id = self._client(form)
        redirect_uri = _required(form, "redirect_uri")
        verifier = _required(form, "code_verifier")
        if not CODE_VERIFIER.fullmatch(verifier):
            raise OAuthError("invalid_request", "The code_verifier must be 43-128 unreserved characters.")
        with self._lock:
            record = self._codes.get(code)
            if record is None:
                raise OAuthError("invalid_grant", "The authorization code is invalid or has expired.")
            if record.used:
                if record.family_id is not None:
                    self._families[record.family_id].revoked = True
                raise OAuthError("invalid_grant", "The authorization code has already been used.")
            record.used = True
            now = self.now()
            if record.expires_at <= now:
                raise OAuthError("invalid_grant", "The authorization code is invalid or has expired.")
            if record.client_id != client_id:
                raise OAuthError("invalid_grant", "The authorization code was issued to another client.")
            if record.redirect_uri != redirect_uri:
                raise OAuthError("invalid_grant", "The redirect_uri does not match the authorization request.")
            if not hmac.compare_digest(s256(verifier), record.challenge):
                raise OAuthError("invalid_grant", "The code_verifier does not match the code_challenge.")
            family = _Family(
                id=secrets.token_hex(8), client_id=client_id, identity=record.identity, created_at=now
            )
            self._families[family.id] = family
            record.family_id = family.id
            return self._issue_tokens(family, now, with_refresh=self.config.refresh_token_in_code_grant)

    def _refresh_grant(self, form: QueryLike) -> dict[str, Any]:
        token = _required(form, "refresh_token")
        client_id = self._client(form)
        with self._lock:
            record = self._refresh.get(token)
            if record is None:
                raise OAuthError("invalid_grant", "The refresh token is invalid.")
            family = self._families[record.family_id]
            if record.spent:
                raise OAuthError("invalid_grant", "The refresh token has already been used.")
            if record.revoked or family.revoked:
                raise OAuthError("invalid_grant", "The refresh token has been revoked.")
            now = self.now()
            if record.expires_at <= now:
                raise OAuthError("invalid_grant", "The refresh token has expired.")
            if family.client_id != client_id:
                raise OAuthError("invalid_grant", "The refresh token was issued to another client.")
            rotate = self.config.refresh_token_in_refresh
            if rotate:
                record.spent = True  # without a new refresh token in the answer, the old one stays good
            return self._issue_tokens(family, now, with_refresh=rotate)

    def _issue_tokens(self, family: _Family, now: float, with_refresh: bool = True) -> dict[str, Any]:
        config = self.config
        access = secrets.token_urlsafe(32)
        self._access[access] = _Access(family.id, now + config.access_token_ttl)
        answer: dict[str, Any] = {"access_token": access, "expires_in": int(config.access_token_ttl), "token_type": "Bearer"}
        if not with_refresh:
            return answer
        refresh = secrets.token_urlsafe(48)
        if family.refresh_expires_at is None or not config.refresh_token_absolute:
            family.refresh_expires_at = now + config.refresh_token_ttl
        # Sliding: each token lives refresh_token_ttl from its issue; absolute: all end with the first.
        expires_at = family.refresh_expires_at if config.refresh_token_absolute else now + config.refresh_token_ttl
        self._refresh[refresh] = _Refresh(family.id, expires_at)
        answer["refresh_token"] = refresh
        if config.send_refresh_expiry:
            answer["refresh_token_expires_in"] = max(0, int(expires_at - now))
        return answer

    # -- exchange endpoint ------------------------------------------------------------------------

    def exchange(self, authorization: str | None) -> dict[str, Any]:
        """``POST /v1/exchange``: new STS credentials for a valid bearer access token."""
        try:
            answer = self._exchange(authorization)
        except OAuthError as exc:
            with self._lock:
                self._count("exchange_failures")
            self.count_error(exc.error)
            raise
        with self._lock:
            self._count("exchanges")
        return answer

    def _exchange(self, authorization: str | None) -> dict[str, Any]:
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise OAuthError("invalid_token", "A bearer access token is required.", status=401)
        with self._lock:
            record = self._access.get(token)
            if record is None or self._families[record.family_id].revoked:
                raise OAuthError("invalid_token", "The access token is invalid.", status=401)
            now = self.now()
            if record.expires_at <= now:
                raise OAuthError("expired_token", "The access token has expired.", status=401)
            minimum = self.config.exchange_min_access_lifetime
            if minimum and record.expires_at - now < minimum:
                raise OAuthError(
                    "invalid_token",
                    f"The access token has less than {int(minimum)} seconds left; refresh it first.",
                    status=401,
                )
            family = self._families[record.family_id]
            sts = StsRecord(
                access_key_id="STS.NT" + _random_text(string.ascii_letters + string.digits, 26),
                access_key_secret=_random_text(string.ascii_letters + string.digits, 44),
                security_token="CAIS" + secrets.token_urlsafe(300),
                expires_at=float(int(now + self.config.sts_ttl)),
                identity=family.identity,
                family_id=family.id,
                client_id=family.client_id,
            )
            self._sts[sts.access_key_id] = sts
            names = EXCHANGE_FIELDS[self.config.exchange_spelling]
            values = (sts.access_key_id, sts.access_key_secret, sts.security_token, rfc3339(sts.expires_at))
            return {"requestId": new_request_id(), **dict(zip(names, values))}

    # -- operations for tests ---------------------------------------------------------------------

    def revoke_refresh_tokens(self, refresh_token: str | None = None) -> int:
        """Revoke every live refresh token, or those of the family that ``refresh_token`` belongs to.

        Returns how many usable refresh tokens were revoked. Access tokens are left alone.
        """
        with self._lock:
            if refresh_token is None:
                targets = list(self._refresh.values())
            else:
                found = self._refresh.get(refresh_token)
                if found is None:
                    return 0
                targets = [r for r in self._refresh.values() if r.family_id == found.family_id]
            revoked = 0
            for record in targets:
                if not record.spent and not record.revoked:
                    revoked += 1
                record.revoked = True
            return revoked

    def expire_access_tokens(self) -> int:
        """Make every access token expired now (exchange then answers ``expired_token``)."""
        with self._lock:
            now = self.now()
            for record in self._access.values():
                record.expires_at = min(record.expires_at, now - 1)
            return len(self._access)

    def expire_sts(self) -> int:
        """Mark every issued STS credential expired (for GetCallerIdentity and checks)."""
        with self._lock:
            now = self.now()
            for key, record in list(self._sts.items()):
                self._sts[key] = replace(record, expires_at=min(record.expires_at, float(int(now - 1))))
            return len(self._sts)

    def sts_record(self, access_key_id: str) -> StsRecord | None:
        with self._lock:
            return self._sts.get(access_key_id)
