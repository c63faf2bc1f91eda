"""The one place where the domain's typed values become the contract's JSON.

``contract/aliyun-sidecar.contract.json`` says what each object holds; this module writes it, so that a
field is named once: a dataclass field ``sts_expires_at`` is the JSON field ``stsExpiresAt`` by one
rule (``to_json``), and the three shapes of STS credentials (our contract's ``Credentials``, the SDKs'
``External`` process output, the ``ALIBABA_CLOUD_CREDENTIALS_URI`` answer) sit side by side below.
The end-to-end tests validate what leaves the sidecar against the contract source.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from .tokens import Identity, StsCredentials, format_rfc3339

if TYPE_CHECKING:
    from .sites import Endpoints


#: ``dataclasses.field(metadata={"omitWhenNone": True})``: the field is optional in the contract
#: (``name?``) and left out of the JSON when it is None; other None fields are written as ``null``.
OMIT_WHEN_NONE = "omitWhenNone"


def camel(name: str) -> str:
    """``access_token_expires_at`` → ``accessTokenExpiresAt``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def to_json(value: Any) -> Any:
    """A dataclass (recursively, in lists and dicts too) as the contract's camelCase JSON object.

    Only for dataclasses whose every field is meant for the client (summaries, identities): secrets
    live in ``tokens`` types, which go through the explicit shapes below.
    """
    if isinstance(value, StsCredentials):
        raise TypeError("STS credentials have explicit shapes: see credentials_json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            camel(f.name): to_json(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not (f.metadata.get(OMIT_WHEN_NONE) and getattr(value, f.name) is None)
        }
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def identity_json(profile: str, identity: Identity) -> dict[str, Any]:
    """The contract's ``Identity`` (``aliyun/whoAmI``)."""
    return {"profile": profile, **to_json(identity)}


# ----------------------------------------------------------------- STS credentials, three shapes


#: The four facts of STS credentials under each shape's names: key id, secret, security token, and
#: the expiry as RFC 3339 (``%Y-%m-%dT%H:%M:%SZ``, what every SDK parses).
_CONTRACT_NAMES = ("accessKeyId", "accessKeySecret", "securityToken", "expiration")
_EXTERNAL_NAMES = ("access_key_id", "access_key_secret", "sts_token", "expiration")
_URI_NAMES = ("AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration")


def _sts_fields(sts: StsCredentials, names: tuple[str, str, str, str]) -> dict[str, Any]:
    values = (sts.access_key_id, sts.access_key_secret, sts.security_token, format_rfc3339(sts.expires_at))
    return dict(zip(names, values, strict=True))


def credentials_json(profile: str, sts: StsCredentials) -> dict[str, Any]:
    """The contract's ``Credentials`` (``aliyun/getCredentials``)."""
    return {"profile": profile, **_sts_fields(sts, _CONTRACT_NAMES), "expiresAt": sts.expires_at}


def external_json(sts: StsCredentials) -> dict[str, Any]:
    """What the SDKs' ``External`` mode reads from a ``process_command`` (``python -m sidecar credentials``)."""
    return {"mode": "StsToken", **_sts_fields(sts, _EXTERNAL_NAMES)}


def uri_payload(sts: StsCredentials) -> dict[str, str]:
    """The answer the SDKs' credentials-URI providers parse."""
    return {"Code": "Success", **_sts_fields(sts, _URI_NAMES)}


# ----------------------------------------------------------------- initialize


def aliyun_capabilities(endpoints: Endpoints, version: str) -> dict[str, Any]:
    """``capabilities.experimental.aliyun`` of the ``initialize`` result: the site table (with the
    endpoints in effect), from which clients build their site pickers. No client id: clients never
    call the service themselves."""
    return {
        "sites": [
            {"name": s.name, "label": s.label, "signinBase": s.signin_base, "oauthBase": s.oauth_base}
            for s in endpoints.sites.values()
        ],
        "version": version,
    }
