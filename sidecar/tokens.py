"""The token values that move between the OAuth client, the refresher and the config file, who
they belong to (:class:`Identity`), and how their times are written (RFC 3339).

Secrets are excluded from ``repr`` so that a token object in a log line, an assertion message or a
traceback shows which token it is (expiry, fingerprint) and never its value. These are values: no
module here knows HTTP, the config file or the contract's JSON, so every layer may import them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone


def fingerprint(secret: str) -> str:
    """A short, non-reversible name for a secret, safe to log and compare."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class OAuthTokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    #: Unix seconds.
    access_expires_at: int
    #: Unix seconds; ``None`` when the service did not say (the CLI then leaves the field out).
    refresh_expires_at: int | None = None


@dataclass(frozen=True)
class StsCredentials:
    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str = field(repr=False)
    #: Unix seconds.
    expires_at: int


@dataclass(frozen=True)
class Identity:
    """The caller identity of one STS credential, as ``GetCallerIdentity`` describes it."""

    account_id: str
    #: ``RAMUser``, ``AssumedRoleUser`` or ``Account``.
    identity_type: str
    arn: str
    #: The user id for a RAM user; ``<roleId>:<sessionName>`` for an assumed role.
    principal_id: str
    #: Only for a RAM user or the account itself (STS sends no ``UserId`` for an assumed role).
    user_id: str | None
    #: Only for an assumed role (STS ``RoleId``).
    role_id: str | None = None


# ------------------------------------------------------------------------------- times


def parse_rfc3339(value: str) -> int:
    """Unix seconds of an RFC 3339 time such as ``2026-11-25T09:00:00Z``."""
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def format_rfc3339(epoch: int) -> str:
    """``2026-11-25T09:00:00Z`` (UTC, whole seconds): what every SDK parses."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
