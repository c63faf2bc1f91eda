"""Signing one RPC-style Alibaba Cloud call with signature v1 (HMAC-SHA1): RamOAuth ``GenerateAccessToken``.

Why this signature and why ours: the official MCP proxy signs ``GenerateAccessToken`` this way
(``signature_algorithm="v2"`` in its client routes RPC calls to v1), and whether RamOAuth takes
ACS3 is not known, so we sign as it does. The SDK that does it (``alibabacloud-tea-openapi``) pulls
native code (see ``acs3.py``), so, as for ACS3, the algorithm is ours and the SDK is the oracle:
``tests/test_rpcv1.py`` checks our ``Signature`` against ``Utils.get_rpcsignature`` for the same
parameters, and the emulator verifies it with the secret it issued.

The algorithm: every parameter but ``Signature``, sorted by name, each name and value percent-encoded
per RFC 3986 and joined as ``k=v`` with ``&``; the string to sign is
``METHOD&%2F&`` + percent-encode(that string); the signature is base64(hmac_sha1(secret + "&", it)).
Everything travels in the query string; the body is empty.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping

from .acs3 import canonical_query, percent_encode

SIGNATURE_METHOD = "HMAC-SHA1"
SIGNATURE_VERSION = "1.0"


def signature(params: Mapping[str, str], access_key_secret: str, method: str = "POST") -> str:
    """The ``Signature`` of ``params`` (which must not contain it)."""
    to_sign = f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"
    digest = hmac.new(f"{access_key_secret}&".encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_query(
    *,
    action: str,
    version: str,
    params: Mapping[str, str],
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None,
    method: str = "POST",
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The whole query of the call, ``Signature`` included; a fresh nonce makes it single-use."""
    query = {
        "Action": action,
        "Format": "json",
        "Version": version,
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now)),
        "SignatureNonce": nonce or uuid.uuid4().hex,
        **params,
        "SignatureMethod": SIGNATURE_METHOD,
        "SignatureVersion": SIGNATURE_VERSION,
        "AccessKeyId": access_key_id,
    }
    if security_token:
        query["SecurityToken"] = security_token
    query["Signature"] = signature(query, access_key_secret, method)
    return query


__all__ = ["SIGNATURE_METHOD", "SIGNATURE_VERSION", "signature", "signed_query"]
