"""The STS side of the emulator: ``GetCallerIdentity`` for the STS credentials it issued.

It plays the service, so it verifies request signatures itself, from the public algorithm specs, with
the secret it issued for the AccessKeyId. Two signing schemes are accepted, as the real RPC endpoint
does:

* ``ACS3-HMAC-SHA256`` (what the official SDKs send today, V3): ``Authorization: ACS3-HMAC-SHA256
  Credential=<AccessKeyId>,SignedHeaders=<h1;h2...>,Signature=<hex>`` over the canonical request
  ``METHOD\\nPATH\\nCANONICAL_QUERY\\nCANONICAL_HEADERS\\nSIGNED_HEADERS\\nhex(sha256(body))``; the
  string to sign is ``ACS3-HMAC-SHA256\\n`` + hex(sha256(canonical request)) and the signature is
  hex(hmac_sha256(secret, string to sign)). ``host`` and every ``x-acs-*`` header must be signed; the
  action and version come from ``x-acs-action``/``x-acs-version``, the STS token from
  ``x-acs-security-token``, the time from ``x-acs-date``, the nonce from ``x-acs-signature-nonce``.
* The RPC V1 signature (``SignatureMethod=HMAC-SHA1``, ``SignatureVersion=1.0``; the official CLI and
  older SDKs): every parameter (query and form body) but ``Signature``, sorted and percent-encoded,
  string to sign ``METHOD&%2F&percent(canonical)``, signature base64(hmac_sha1(secret + "&", ...)).

Then, like the real service: the AccessKeyId must be one the emulator issued (else
``InvalidAccessKeyId.NotFound``, also when the STS token is missing), the security token must be the
one issued with it, the request time within 15 minutes of the service's clock, the nonce unused, and
the credential not expired (``InvalidSecurityToken.Expired``). Answers are JSON (the SDKs ask for it);
errors are ``{RequestId, HostId, Code, Message, Recommend}`` with the real status codes. Nothing here
ever puts a secret, token or signature into an answer or a log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from calendar import timegm
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from time import strptime
from typing import Any
from urllib.parse import parse_qsl, quote

from .state import ServiceState, StsRecord, new_request_id

STS_PATH = "/"
ACTION = "GetCallerIdentity"
VERSION = "2015-04-01"
ACS3 = "ACS3-HMAC-SHA256"
#: How far a request's time may be from the service's clock (the real gateways allow 15 minutes).
TIME_WINDOW = 15 * 60.0
MAX_FIELDS = 64


@dataclass(frozen=True)
class StsRequest:
    """What the HTTP edge read; ``headers`` are (lower-case name, value) pairs, repeated names kept."""

    method: str
    path: str
    query: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    content_type: str = ""

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name]
        return values[0] if values else None


class StsError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _encode(value: str) -> str:
    """RFC 3986 percent-encoding: unreserved characters stay, everything else is %XX (UTF-8)."""
    return quote(value, safe="~", encoding="utf-8")


def _parse_time(value: str | None) -> float:
    if not value:
        raise StsError(400, "MissingParameter", "The time stamp of the request is missing.")
    try:
        return float(timegm(strptime(value, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        raise StsError(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.") from None


def gateway_error(exc: StsError, host: str, product: str, **extra: Any) -> dict[str, Any]:
    """The POP gateway's JSON error body: ``{RequestId, HostId, Code, Message, Recommend}`` (+ extra)."""
    return {
        "RequestId": new_request_id(),
        "HostId": host,
        "Code": exc.code,
        "Message": exc.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={exc.code}&product={product}",
        **extra,
    }


class CallerIdentityService:
    """Answers STS requests against the issued credentials of one ``ServiceState``. Thread-safe."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state
        self._lock = threading.Lock()
        #: Nonces seen, with when they may be forgotten (a replay after that fails the time check).
        self._nonces: dict[str, float] = {}

    def answer(self, request: StsRequest) -> tuple[int, dict[str, Any]]:
        """Status and JSON body for one request to the STS endpoint (counted in the stats)."""
        host = request.header("host") or "sts.aliyuncs.com"
        try:
            body = self._answer(request)
        except StsError as exc:
            self.state.count("caller_identity_failures")
            self.state.count_error(exc.code)
            return exc.status, gateway_error(exc, host, "Sts")
        self.state.count("caller_identity")
        return 200, body

    # -- the request ------------------------------------------------------------------------------

    def _answer(self, request: StsRequest) -> dict[str, Any]:
        return self._identity_answer(self.verify(request, ACTION, VERSION))

    def verify(
        self, request: StsRequest, action: str, version: str, schemes: frozenset[str] = frozenset({"acs3", "rpc_v1"})
    ) -> StsRecord:
        """Check a signed request for ``action``/``version`` against the issued STS credentials.

        ``schemes`` names the signatures accepted (``acs3``, ``rpc_v1``). Returns the credential the
        request was signed with; raises ``StsError`` as the gateway would answer. Other emulated
        services (RamOAuth, OpenAPI Explorer) verify through here, so every service shares one nonce
        store and one set of rules.
        """
        if request.method not in ("GET", "POST"):
            raise StsError(400, "UnsupportedHTTPMethod", "This http method is not supported.")
        params = self.params(request)
        authorization = request.header("authorization") or ""
        if authorization.startswith("ACS3-") and "acs3" in schemes:
            signed = self._acs3(request, params, authorization)
        elif "Signature" in params and "rpc_v1" in schemes:
            signed = self._rpc_v1(request, params)
        elif authorization or "Signature" in params:
            raise StsError(400, "IncompleteSignature", "This signature style is not accepted by this API.")
        else:
            raise StsError(400, "MissingAccessKeyId", "AccessKeyId is mandatory for this action.")
        if signed.action != action:
            raise StsError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        if signed.version != version:
            raise StsError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        now = self.state.now()
        if abs(now - signed.timestamp) > TIME_WINDOW:
            raise StsError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        record = self._credential(signed.access_key_id, signed.security_token)
        expected = signed.signature_with(record.access_key_secret)
        if not hmac.compare_digest(expected.encode("ascii"), signed.signature.encode("ascii", "replace")):
            raise StsError(400, "SignatureDoesNotMatch", "Specified signature does not match our calculation.")
        if record.expires_at <= now:
            raise StsError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
        self._spend_nonce(signed.nonce, now)
        return record

    def params(self, request: StsRequest) -> dict[str, str]:
        """RPC parameters from the query and a form body; a repeated name is refused."""
        pairs = parse_qsl(request.query, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        if request.body and request.content_type == "application/x-www-form-urlencoded":
            try:
                pairs += parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
            except (UnicodeDecodeError, ValueError):
                raise StsError(400, "InvalidParameter", "The request body could not be read.") from None
        params: dict[str, str] = {}
        for name, value in pairs:
            if name in params:
                raise StsError(400, "InvalidParameter", f"The parameter {name} is repeated.")
            params[name] = value
        return params

    def _acs3(self, request: StsRequest, params: Mapping[str, str], authorization: str) -> _Signed:
        key_id, signed_names, signature = _acs3_fields(authorization)
        canonical_request = _acs3_canonical_request(request, signed_names)
        string_to_sign = f"{ACS3}\n{hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()}"

        def sign(secret: str) -> str:
            return hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()

        return _Signed(
            action=request.header("x-acs-action") or params.get("Action", ""),
            version=request.header("x-acs-version") or params.get("Version", ""),
            access_key_id=key_id,
            security_token=request.header("x-acs-security-token") or params.get("SecurityToken"),
            timestamp=_parse_time(request.header("x-acs-date")),
            nonce=request.header("x-acs-signature-nonce") or "",
            signature=signature,
            sign=sign,
        )

    def _rpc_v1(self, request: StsRequest, params: Mapping[str, str]) -> _Signed:
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            raise StsError(400, "IncompleteSignature", "Only SignatureMethod=HMAC-SHA1 with SignatureVersion=1.0 is supported.")
        key_id = params.get("AccessKeyId")
        if not key_id:
            raise StsError(400, "MissingAccessKeyId", "AccessKeyId is mandatory for this action.")
        canonical = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()) if k != "Signature")
        string_to_sign = f"{request.method}&{_encode('/')}&{_encode(canonical)}"

        def sign(secret: str) -> str:
            digest = hmac.new(f"{secret}&".encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
            return base64.b64encode(digest).decode("ascii")

        return _Signed(
            action=params.get("Action", ""),
            version=params.get("Version", ""),
            access_key_id=key_id,
            security_token=params.get("SecurityToken"),
            timestamp=_parse_time(params.get("Timestamp")),
            nonce=params.get("SignatureNonce", ""),
            signature=params["Signature"],
            sign=sign,
        )

    # -- the rules --------------------------------------------------------------------------------

    def _credential(self, access_key_id: str, security_token: str | None) -> StsRecord:
        record = self.state.sts_record(access_key_id)
        if record is None or not security_token:
            # STS keys exist only together with their token: without it the key is unknown.
            raise StsError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if not hmac.compare_digest(record.security_token.encode("utf-8"), security_token.encode("utf-8")):
            raise StsError(400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey.")
        return record

    def _spend_nonce(self, nonce: str, now: float) -> None:
        if not nonce:
            raise StsError(400, "MissingSignatureNonce", "SignatureNonce is mandatory for this action.")
        with self._lock:
            for old in [n for n, until in self._nonces.items() if until <= now]:
                del self._nonces[old]
            if nonce in self._nonces:
                raise StsError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces[nonce] = now + 2 * TIME_WINDOW

    @staticmethod
    def _identity_answer(record: StsRecord) -> dict[str, Any]:
        identity = record.identity
        answer: dict[str, Any] = {
            "RequestId": new_request_id(),
            "AccountId": identity.account_id,
            "Arn": identity.arn,
            "IdentityType": identity.identity_type,
        }
        if identity.kind == "user":
            answer["UserId"] = identity.principal_id
            answer["PrincipalId"] = identity.principal_id
        else:
            answer["RoleId"] = identity.principal_id
            answer["PrincipalId"] = f"{identity.principal_id}:{identity.session_name}"
        return answer


@dataclass(frozen=True)
class _Signed:
    """A request's claims and how to recompute its signature with a given secret."""

    action: str
    version: str
    access_key_id: str
    security_token: str | None
    timestamp: float
    nonce: str
    signature: str
    sign: Callable[[str], str]

    def signature_with(self, secret: str) -> str:
        return str(self.sign(secret))


def _acs3_fields(authorization: str) -> tuple[str, str, str]:
    """``Credential``, ``SignedHeaders`` and ``Signature`` of an ``ACS3-HMAC-SHA256`` header."""
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != ACS3:
        raise StsError(400, "IncompleteSignature", f"The signature algorithm {algorithm[:32]} is not supported.")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise StsError(400, "IncompleteSignature", "The Authorization header is malformed.")
        fields[key] = value
    key_id, signed_names, signature = fields.get("Credential"), fields.get("SignedHeaders"), fields.get("Signature")
    if not key_id or not signed_names or not signature:
        raise StsError(400, "IncompleteSignature", "The Authorization header is malformed.")
    return key_id, signed_names, signature


def _acs3_canonical_request(request: StsRequest, signed_names: str) -> str:
    """The canonical request ACS3 signs, after checking the signed headers and the body's hash."""
    names = signed_names.split(";")
    present = {k for k, _ in request.headers}
    required = {"host"} | {k for k in present if k.startswith("x-acs-")}
    if names != sorted(set(names)) or not required <= set(names) or not set(names) <= present:
        raise StsError(
            400, "IncompleteSignature", "SignedHeaders must list host and every x-acs-* header, sorted, and only sent ones."
        )
    canonical_headers = "".join(
        f"{name}:{','.join(sorted(v.strip() for k, v in request.headers if k == name))}\n" for name in names
    )
    canonical_query = "&".join(
        f"{_encode(k)}={_encode(v)}"
        for k, v in sorted(parse_qsl(request.query, keep_blank_values=True, max_num_fields=MAX_FIELDS))
    )
    body_hash = hashlib.sha256(request.body).hexdigest()
    claimed = request.header("x-acs-content-sha256")
    if claimed is not None and claimed.strip().lower() != body_hash:
        raise StsError(400, "SignatureDoesNotMatch", "The x-acs-content-sha256 header does not match the body.")
    return "\n".join((request.method, request.path or "/", canonical_query, canonical_headers, signed_names, body_hash))


__all__ = ["ACTION", "STS_PATH", "VERSION", "CallerIdentityService", "StsError", "StsRequest", "gateway_error"]
