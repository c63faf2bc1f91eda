"""The domain's typed errors.

Every failure the sidecar can report has a stable ``kind`` string: the JSON-RPC edge maps it to
``error.data.kind`` and the extension turns it into a sentence. Messages here are for developers and
logs; they must never contain a secret (token, code, verifier, STS key), so no error ever formats a
value that came out of the config file's token fields or an upstream answer body.
"""

from __future__ import annotations

from typing import Any


class SidecarError(Exception):
    """Base of every error the domain raises on purpose."""

    kind: str = "internal"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        #: Extra, secret-free facts for the client (profile names, paths, ranges...).
        self.details: dict[str, Any] = details

    def to_data(self) -> dict[str, Any]:
        """The ``error.data`` object of a JSON-RPC answer."""
        return {"kind": self.kind, **self.details}


class InvalidParams(SidecarError):
    kind = "invalidParams"


class ProfileNotFound(SidecarError):
    kind = "profileNotFound"

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


class ConfigInsecure(SidecarError):
    """The config file or its folder is owned by another user or writable by others (as ssh refuses
    its files): another user could swap in a profile whose ``process_command`` we would run. Nothing
    is read from it."""

    kind = "configInsecure"

    _WHY = {"owner": "is owned by another user", "writable": "can be written by other users"}

    def __init__(self, path: str, reason: str, fix: str) -> None:
        super().__init__(
            f"{path} {self._WHY.get(reason, reason)}, so the config file is not read. Fix: {fix}",
            path=path,
            reason=reason,
            fix=fix,
        )


class ConfigUnavailable(SidecarError):
    """The config file or its folder cannot be read or written (permissions, disk full, lock held)."""

    kind = "configUnavailable"


class SignInRequired(SidecarError):
    kind = "signInRequired"

    def __init__(self, profile: str, reason: str) -> None:
        super().__init__(f"Profile '{profile}' needs a new browser sign-in: {reason}", profile=profile)


class SignInDenied(SidecarError):
    """The browser came back with ``error=...`` (the user pressed Deny, or the app is not assigned)."""

    kind = "signInDenied"

    def __init__(self, error: str, description: str = "") -> None:
        text = f"Sign-in was refused by the sign-in service ({error})"
        if description:
            text += f": {description}"
        super().__init__(text, error=error, description=description)


class SignInTimeout(SidecarError):
    kind = "signInTimeout"


class Cancelled(SidecarError):
    kind = "cancelled"


class PortsBusy(SidecarError):
    kind = "portsBusy"

    def __init__(self, first: int, last: int) -> None:
        super().__init__(
            f"No free local port for the sign-in callback in {first}-{last}; "
            "close the program using them (another sign-in?) and try again.",
            ports=[first, last],
        )


class NetworkError(SidecarError):
    """Upstream could not be reached or did not answer in time; never means a token expired."""

    kind = "network"


class UpstreamError(SidecarError):
    """The service answered with an error (or an answer we cannot read)."""

    kind = "upstream"

    def __init__(self, message: str, *, error: str = "", status: int = 0, request_id: str = "") -> None:
        super().__init__(message, error=error, status=status, requestId=request_id)
        self.error = error
        self.status = status


class InvalidGrant(UpstreamError):
    """The refresh token (or code) was refused: expired, revoked, or already spent."""


class ClientNotAuthorized(SidecarError):
    """A token call was answered ``invalid_client``, ``unauthorized_client`` or ``invalid_token``.

    The CLI treats these as permanent, and so do we: no retry can succeed until an administrator acts.
    The likely cause is that the official-cli application is not installed in the account, or the
    user is not assigned to it. Not an ``UpstreamError``, so that nothing retries it as a transient one.
    """

    kind = "clientNotAuthorized"

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


class UnknownSite(SidecarError):
    """A profile's ``oauth_site_type`` is not a site we know (the CLI and every SDK refuse it too).

    Nothing is sent anywhere: guessing a site would send the profile's tokens to the wrong service.
    """

    kind = "unknownSite"

    def __init__(self, profile: str, site: str, valid: list[str]) -> None:
        super().__init__(
            f"Profile '{profile}' has oauth_site_type {site!r}, which is not a known site "
            f"(valid: {', '.join(valid)}). Set it to one of those, or sign in again.",
            profile=profile,
            site=site,
            valid=list(valid),
        )


def kinds() -> frozenset[str]:
    """Every ``kind`` the domain raises, read from the subclasses above (no hand list to drift);
    ``tests/test_contract.py`` checks it against the contract source."""
    found: set[str] = set()
    pending: list[type[SidecarError]] = [SidecarError]
    while pending:
        cls = pending.pop()
        found.add(cls.kind)
        pending.extend(cls.__subclasses__())
    return frozenset(found)
