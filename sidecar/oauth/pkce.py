"""PKCE (RFC 7636) and the ``state`` value of the browser sign-in.

The sign-in uses a public client (no secret), so the verifier is what proves that the party that
exchanges the code is the one that started the sign-in, and ``state`` is what ties the browser's
answer to this very attempt. Both come from :mod:`secrets`. Neither value may ever reach a log or an
error message: nothing in this module formats them into text.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import string

#: RFC 7636 section 4.1: ``unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"``.
UNRESERVED = string.ascii_letters + string.digits + "-._~"

#: 64 characters of a 66-letter alphabet: about 387 bits, well inside the 43..128 bounds.
VERIFIER_LENGTH = 64

#: Bytes of randomness in a state: 256 bits, 43 base64url characters.
STATE_BYTES = 32

_VERIFIER_RE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def new_verifier() -> str:
    """A fresh code verifier: 64 random characters of the unreserved set."""
    return "".join(secrets.choice(UNRESERVED) for _ in range(VERIFIER_LENGTH))


def challenge_for(verifier: str) -> str:
    """The S256 code challenge: base64url(sha256(ASCII(verifier))) without padding.

    A verifier outside RFC 7636's grammar is refused here rather than at the token endpoint, where
    it would fail with a far less helpful answer. The message never contains the verifier.
    """
    if not _VERIFIER_RE.fullmatch(verifier):
        raise ValueError("A PKCE verifier must be 43 to 128 characters of [A-Za-z0-9-._~].")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return _b64url(digest)


def new_state() -> str:
    """A fresh ``state``: 256 random bits in base64url (``[A-Za-z0-9_-]``, no padding).

    Only base64url is safe: the value travels through the authorize URL, the browser, and possibly a
    pasted-back URL that went through an editor's URL handling, where ``%2B`` may come back as ``+``
    (and then as a space). These characters never need escaping, so the value survives every hop.
    """
    return _b64url(secrets.token_bytes(STATE_BYTES))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
