"""The token values that move between the OAuth client, the refresher and the config file.

Secrets are excluded from ``repr`` so that a token object in a log line, an assertion message or a
traceback shows which token it is (expiry, fingerprint) and never its value.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


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
