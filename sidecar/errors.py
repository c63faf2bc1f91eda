"""The domain's typed errors, each kind declared once.

Every failure the sidecar can report has a stable ``kind`` string: the JSON-RPC edge maps it to
``error.data.kind`` and the extension turns it into a sentence. The class that introduces a kind
declares everything about it in one place: its JSON-RPC ``code``, the ``level`` and ``next_step`` of
the one log line a failed request leaves (``sidecar/rpc/errors.py`` reads them), the ``data`` fields
its ``error.data`` carries (JSON Schema, ``required`` ones always sent) and its ``meaning`` for
``docs/contract.md``. ``python -m contract.generate`` writes the contract JSON, the docs' error table
and the extension's types from these classes (``docs/architecture.md``: how to add a kind).

Messages here are for developers and logs; they must never contain a secret (token, code, verifier,
STS key), so no error ever formats a value that came out of the config file's token fields or an
upstream answer body.
"""

from __future__ import annotations

import logging
from typing import Any

from . import schema as S

#: Log levels of a failed request: what the user chose or can fix in a moment is not an error of the
#: sidecar.
INFO, WARNING, ERROR = logging.INFO, logging.WARNING, logging.ERROR

#: The administrator's fix for an account whose users may not use the official-cli application.
_ADMIN_FIX = (
    "a RAM administrator must install the official-cli application in the account and assign it to this user"
)


class SidecarError(Exception):
    """Base of every error the domain raises on purpose; its own kind, ``internal``, is a bug."""

    kind: str = "internal"
    #: ``error.code`` of the JSON-RPC answer.
    code: int = -32603
    #: Level of the request's log line.
    level: int = WARNING
    #: The log line's next step, where the error's own message does not already say it.
    next_step: str | None = None
    #: ``error.data`` fields besides ``kind`` (JSON Schema each), and those always sent.
    data: dict[str, S.Schema] = {}
    required: tuple[str, ...] = ()
    #: For docs/contract.md: what it means, what the user can do.
    meaning: str = "a bug; the message says nothing more, details are in the sidecar log (redacted)"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        #: Extra, secret-free facts for the client (profile names, paths, ranges...).
        self.details: dict[str, Any] = details

    def to_data(self) -> dict[str, Any]:
        """The ``error.data`` object of a JSON-RPC answer."""
        return {"kind": self.kind, **self.details}

    def step(self) -> str | None:
        """The next step of this error's log line (a kind may choose it by its details)."""
        return self.next_step


class InvalidParams(SidecarError):
    kind = "invalidParams"
    code = -32602
    data = {"field": S.string("the offending field")}
    meaning = "the request is malformed"


class Cancelled(SidecarError):
    kind = "cancelled"
    code = -32800
    level = INFO
    meaning = "the request was cancelled"


class ProfileNotFound(SidecarError):
    kind = "profileNotFound"
    code = -32010
    data = {
        "profile": S.string("the name asked for"),
        "existing": S.array(S.string(), "the names that exist"),
    }
    required = ("profile", "existing")
    meaning = "no profile of that name; `existing` lists the names"

    def __init__(self, name: str, existing: list[str]) -> None:
        listing = ", ".join(existing) if existing else "none"
        super().__init__(
            f"Profile '{name}' does not exist (existing profiles: {listing}).",
            profile=name,
            existing=existing,
        )


class ConfigCorrupt(SidecarError):
    """The config file cannot be parsed or has the wrong shape; it is left exactly as it is."""

    kind = "configCorrupt"
    code = -32011
    data = {
        "path": S.string("the file"),
        "where": S.string("what is wrong where"),
        "line": S.integer("1-based line of a JSON syntax error", minimum=1),
        "column": S.integer("1-based column", minimum=1),
    }
    required = ("path", "where")
    meaning = (
        "the file does not parse (`line`/`column`, 1-based, when the syntax error has a position) or has the "
        "wrong shape; it is never overwritten. An empty file is no error: it holds no profiles"
    )

    def __init__(self, path: str, where: str, *, line: int | None = None, column: int | None = None) -> None:
        # line/column (1-based) only when the JSON syntax error has a position; ``where`` says them too.
        position = {"line": line, "column": column} if line is not None and column is not None else {}
        super().__init__(
            f"The config file {path} is not valid ({where}). Fix or move it away; "
            "nothing will be written to it until it is valid again.",
            path=path,
            where=where,
            **position,
        )


class ConfigUnavailable(SidecarError):
    """The config file or its folder cannot be read or written (permissions, disk full, lock held)."""

    kind = "configUnavailable"
    code = -32012
    level = ERROR
    next_step = "check the config file's permissions and the free disk space"
    data = {"path": S.string("the file or folder, when known")}
    meaning = (
        "the file or its folder cannot be read or written (permissions, disk full, lock held too long, a "
        "symlink to a file that does not exist)"
    )


class ConfigInsecure(SidecarError):
    """The config file or its folder is owned by another user or writable by others (as ssh refuses
    its files): another user could swap in a profile whose ``process_command`` we would run. Nothing
    is read from it."""

    kind = "configInsecure"
    code = -32013
    data = {
        "path": S.string("the folder or file"),
        "reason": S.enum("owner", "writable", description="another user owns it, or others can write it"),
        "fix": S.string("a shell command or sentence that fixes it"),
    }
    required = ("path", "reason", "fix")
    meaning = (
        "the config folder or file is owned by another user (`reason: \"owner\"`) or writable by others "
        "(`\"writable\"`); nothing is read from it; `fix` says how to repair it (POSIX only)"
    )

    _WHY = {"owner": "is owned by another user", "writable": "can be written by other users"}

    def __init__(self, path: str, reason: str, fix: str) -> None:
        super().__init__(
            f"{path} {self._WHY.get(reason, reason)}, so the config file is not read. Fix: {fix}",
            path=path,
            reason=reason,
            fix=fix,
        )


class UnknownSite(SidecarError):
    """A profile's ``oauth_site_type`` is not a site we know (the CLI and every SDK refuse it too).

    Nothing is sent anywhere: guessing a site would send the profile's tokens to the wrong service.
    """

    kind = "unknownSite"
    code = -32014
    data = {
        "profile": S.string("the profile"),
        "site": S.string("its oauth_site_type"),
        "valid": S.array(S.ref("Site"), "the known sites"),
    }
    required = ("site", "valid")
    meaning = "the profile's `oauth_site_type` is no known site (`valid` lists them); no site is called"

    def __init__(self, profile: str, site: str, valid: list[str]) -> None:
        super().__init__(
            f"Profile '{profile}' has oauth_site_type {site!r}, which is not a known site "
            f"(valid: {', '.join(valid)}). Set it to one of those, or sign in again.",
            profile=profile,
            site=site,
            valid=list(valid),
        )


class SignInRequired(SidecarError):
    kind = "signInRequired"
    code = -32020
    next_step = "sign in again in the browser"
    data = {"profile": S.string("the profile"), "reason": S.ref("StateReason", "why")}
    required = ("profile",)
    meaning = "the refresh token is expired, absent or refused (`reason`, a `StateReason`): sign in again"

    def __init__(self, profile: str, reason: str) -> None:
        super().__init__(f"Profile '{profile}' needs a new browser sign-in: {reason}", profile=profile)


class SignInDenied(SidecarError):
    """The browser came back with ``error=...`` (the user pressed Deny, or the app is not assigned).

    ``reason`` tells the two apart for the extension's sentence: ``userDenied`` (the user's own Deny),
    ``notAuthorized`` (the service's "The call is not authorized": the official-cli application is
    not installed in the account or not assigned to the user) or ``other``.
    """

    kind = "signInDenied"
    code = -32021
    next_step = f"sign in again to retry; if the service said the call is not authorized, {_ADMIN_FIX}"
    #: The next step by ``reason``, where it says more than ``next_step``.
    STEPS_BY_REASON = {
        "userDenied": "the user chose Deny; sign in again when ready",
        "notAuthorized": f"{_ADMIN_FIX}, then sign in again",
    }
    data = {
        "error": S.string("the browser's error=, e.g. access_denied"),
        "description": S.string("the browser's error_description"),
        "reason": S.enum(
            "userDenied",
            "notAuthorized",
            "other",
            description="the user's own Deny, the service's not-authorized answer, or another",
        ),
    }
    required = ("error", "description")
    meaning = (
        "the browser answered `error=`; `reason`: `\"userDenied\"` (the user pressed Deny), `\"notAuthorized\"` "
        "(the service's \"The call is not authorized\": the RAM administrator must install the official-cli "
        "application and assign the user), `\"other\"`"
    )

    def __init__(self, error: str, description: str = "", reason: str = "other") -> None:
        text = f"Sign-in was refused by the sign-in service ({error})"
        if description:
            text += f": {description}"
        super().__init__(text, error=error, description=description, reason=reason)

    def step(self) -> str | None:
        return self.STEPS_BY_REASON.get(str(self.details.get("reason")), self.next_step)


class SignInTimeout(SidecarError):
    kind = "signInTimeout"
    code = -32022
    data = {
        "seconds": S.number("how long it waited"),
        "mayBeNotAuthorized": S.const(True, "the not-authorized page may never redirect"),
    }
    meaning = (
        "no answer from the browser in time (`seconds`); `mayBeNotAuthorized: true`: the not-authorized page "
        "may never redirect, so the administrator's two steps may be the fix"
    )


class PortsBusy(SidecarError):
    kind = "portsBusy"
    code = -32023
    data = {"ports": S.pair(S.integer(), "[first, last]")}
    required = ("ports",)
    meaning = "every callback port (`[first, last]`) is taken"

    def __init__(self, first: int, last: int) -> None:
        super().__init__(
            f"No free local port for the sign-in callback in {first}-{last}; "
            "close the program using them (another sign-in?) and try again.",
            ports=[first, last],
        )


class ClientNotAuthorized(SidecarError):
    """A token call was answered ``invalid_client``, ``unauthorized_client`` or ``invalid_token``.

    The CLI treats these as permanent, and so do we: no retry can succeed until an administrator acts.
    The likely cause is that the official-cli application is not installed in the account, or the
    user is not assigned to it. Not an ``UpstreamError``, so that nothing retries it as a transient one.
    """

    kind = "clientNotAuthorized"
    code = -32024
    next_step = f"{_ADMIN_FIX}, then sign in again"
    data = {
        "profile": S.string("the profile"),
        "error": S.string("invalid_client, unauthorized_client or invalid_token"),
        "requestId": S.string("the service's request id"),
    }
    meaning = (
        "a token call answered `invalid_client`, `unauthorized_client` or `invalid_token`: the official-cli "
        "application is not installed in the account or not assigned to the user. Permanent: the sidecar does "
        "not retry"
    )

    def __init__(self, error: str, request_id: str = "", profile: str = "") -> None:
        who = f"profile '{profile}'" if profile else "this sign-in"
        super().__init__(
            f"The sign-in service refused the client for {who} ({error}): the official-cli application is "
            "probably not installed in the Alibaba Cloud account, or the user is not assigned to it. "
            "A RAM administrator must install it and assign the user; retrying will not help.",
            profile=profile,
            error=error,
            requestId=request_id,
        )
        self.error = error
        self.request_id = request_id

    def for_profile(self, profile: str) -> ClientNotAuthorized:
        return ClientNotAuthorized(self.error, self.request_id, profile)


class NetworkError(SidecarError):
    """Upstream could not be reached or did not answer in time; never means a token expired."""

    kind = "network"
    code = -32030
    next_step = "check the network connection (or proxy) to the sign-in service, then retry"
    data = {"host": S.string("the host that could not be reached")}
    meaning = "the service could not be reached; tokens are kept, try again"


class UpstreamError(SidecarError):
    """The service answered with an error (or an answer we cannot read)."""

    kind = "upstream"
    code = -32031
    level = ERROR
    next_step = "retry later; if it keeps failing, report the requestId"
    data = {
        "error": S.string("the service's error code"),
        "status": S.integer("the HTTP status"),
        "requestId": S.string("the service's request id"),
    }
    meaning = "the service answered with an error"

    def __init__(self, message: str, *, error: str = "", status: int = 0, request_id: str = "") -> None:
        super().__init__(message, error=error, status=status, requestId=request_id)
        self.error = error
        self.status = status


class InvalidGrant(UpstreamError):
    """The refresh token (or code) was refused: expired, revoked, or already spent."""


def declarations() -> dict[str, type[SidecarError]]:
    """Every ``kind`` the domain raises → the class that declares it (the first to set ``kind``), in
    the order of this file; read from the subclasses (no hand list to drift)."""
    found: dict[str, type[SidecarError]] = {}

    def visit(cls: type[SidecarError]) -> None:
        if "kind" in vars(cls):
            found.setdefault(cls.kind, cls)
        for sub in cls.__subclasses__():
            visit(sub)

    visit(SidecarError)
    return found


def contract_kinds() -> dict[str, type[SidecarError]]:
    """The declarations of the sidecar's own kinds, the ones the contract lists (a subclass a test
    defines for itself, which may outlive the test until the next garbage collection, is left out)."""
    return {kind: cls for kind, cls in declarations().items() if cls.__module__.split(".")[0] == __name__.split(".")[0]}


def kinds() -> frozenset[str]:
    """Every ``kind`` the domain raises (``tests/test_contract.py`` checks it against the contract)."""
    return frozenset(declarations())
