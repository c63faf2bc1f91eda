"""Signing one Alibaba Cloud API request with ``ACS3-HMAC-SHA256`` (the V3 request signature).

Why this is ours and not the official SDK's: the SDK (``alibabacloud-sts20150401`` on
``alibabacloud-tea-openapi`` and ``darabonba-core``) imports ``cryptography`` and ``aiohttp`` at module
level, even for the one HMAC it needs here, and those (with ``yarl``, ``multidict``, ``frozenlist``,
``propcache``, ``cffi``) are native code built per OS, CPU and Python version. With them, the VS Code
extension would need one VSIX per platform *and* per Python minor version; without them it ships one
universal VSIX of pure-Python code that runs on any Python 3.11+. The algorithm is public, versioned
("ACS3") and small (hashlib + hmac); the official SDK stays in the test extras as the oracle:
``tests/test_acs3.py`` checks that this module's ``Authorization`` is byte-for-byte the SDK's for the
same request, and the emulator verifies the signature with the secret it issued.

The algorithm: the canonical request is ``METHOD\\nPATH\\nQUERY\\nHEADERS\\nSIGNED_HEADERS\\nPAYLOAD_HASH``
(query pairs sorted and percent-encoded per RFC 3986; headers lower-cased, trimmed, sorted, one
``name:value`` line each); the string to sign is ``ACS3-HMAC-SHA256\\n`` + hex(sha256(canonical
request)); the signature is hex(hmac_sha256(secret, string to sign)).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping
from urllib.parse import quote

ALGORITHM = "ACS3-HMAC-SHA256"


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding: only unreserved characters stay (``~`` included; space is %20)."""
    return quote(value, safe="~", encoding="utf-8")


def canonical_query(query: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(query.items()))


def canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """``(canonical header lines, signed header names)``: every header given is signed."""
    lower = {k.lower(): v.strip() for k, v in headers.items()}
    names = sorted(lower)
    return "".join(f"{n}:{lower[n]}\n" for n in names), ";".join(names)


def authorization(
    *,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    payload_sha256: str,
    access_key_id: str,
    access_key_secret: str,
) -> str:
    """The ``Authorization`` header value for a request whose signed headers are ``headers``."""
    lines, signed = canonical_headers(headers)
    canonical = "\n".join([method.upper(), path or "/", canonical_query(query), lines, signed, payload_sha256])
    to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
    signature = hmac.new(access_key_secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{ALGORITHM} Credential={access_key_id},SignedHeaders={signed},Signature={signature}"


def signed_headers(
    *,
    host: str,
    action: str,
    version: str,
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None,
    body: bytes = b"",
    method: str = "POST",
    query: Mapping[str, str] | None = None,
    path: str = "/",
    extra: Mapping[str, str] | None = None,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers of a call (``x-acs-action``/``x-acs-version``), ``Authorization`` included.

    ``host``, every ``x-acs-*`` header and ``extra`` (e.g. ``accept``) are signed, as the service
    requires; a fresh nonce and the current time make each request single-use. RPC-style calls go to
    ``/``; ROA-style ones (OpenAPI Explorer's ``GET /apimcpservercores``) name their ``path``.
    """
    payload = hashlib.sha256(body).hexdigest()
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now)),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": payload,
    }
    if security_token:
        headers["x-acs-security-token"] = security_token
    headers.update(extra or {})
    headers["Authorization"] = authorization(
        method=method,
        path=path,
        query=query or {},
        headers=headers,
        payload_sha256=payload,
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
    )
    return headers


__all__ = ["ALGORITHM", "authorization", "canonical_headers", "canonical_query", "percent_encode", "signed_headers"]
