"""``/__emulator/...``: the test control surface, for tests that run the emulator in another process.

Each route maps to one ``Emulator`` method, so an in-process test and an out-of-process test drive the
emulator the same way. Bodies are JSON objects; answers are JSON. Served to loopback clients only.

Routes (``name`` is the path after ``/__emulator/``):

* ``GET stats`` → the counters (``Emulator.stats``)
* ``GET config`` / ``POST config`` ``{auto_approve, not_authorized, access_token_ttl, refresh_token_ttl,
  sts_ttl, code_ttl, clock_skew, send_refresh_expiry, exchange_spelling, refresh_token_in_code_grant,
  refresh_token_in_refresh, exchange_min_access_lifetime, refresh_token_absolute, registered_ports_only,
  registered_ports, not_authorized_page, identity: {kind, name, account_id, ...}}``; also the short
  forms ``ttls: {access, refresh, sts, code}`` and ``skew``
* ``GET faults`` (pending), ``POST faults`` ``{endpoint, fault, count?, seconds?}``,
  ``DELETE faults`` or ``POST faults/clear``
* ``POST revoke`` ``{refresh_token?}`` → ``{"revoked": n}``
* ``POST expire-access-tokens``, ``POST expire-sts`` → ``{"expired": n}``
* ``POST approve`` / ``POST deny`` ``{url}`` → ``{"location": ...}`` (plays the user)
* ``GET sts/<accessKeyId>`` → the identity and expiry of an issued STS credential (no secrets)

The MCP services (see ``mcp_state`` for the switches):

* ``GET mcp/config`` / ``POST mcp/config`` ``{token_ttl, core_exists, response_mode, ...}``
* ``GET ram/denies``, ``POST ram/deny`` ``{action, principal?}``, ``DELETE ram/denies``
* ``GET mcp/log`` or ``GET mcp/log/<service>`` (the request log: service, token fingerprint, session, method, tool,
  status, outcome), ``DELETE mcp/log``
* ``GET mcp/tokens`` (fingerprints, identities, expiry, bound policies; never a token)
* ``POST mcp/expire-tokens`` → ``{"expired": n}``, ``POST mcp/drop-sessions`` → ``{"dropped": n}``
* ``GET mcp/sessions`` → ``{"sessions": [ids]}``
* faults on the endpoints ``ramoauth``, ``openapi``, ``safepolicy``, ``mcp`` through ``POST faults``
  (``after``: let that many matching requests pass first; ``match``: only MCP POSTs of that JSON-RPC
  method)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .identity import Identity
from .state import AuthorizeError

if TYPE_CHECKING:
    from .server import Emulator

Answer = tuple[int, dict[str, Any]]


def handle(emulator: Emulator, method: str, name: str, body: bytes) -> Answer:
    try:
        data = json.loads(body) if body.strip() else {}
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return _route(emulator, method, name.strip("/"), data)
    except AuthorizeError as exc:
        return 400, {"error": exc.error, "error_description": exc.description}
    except (ValueError, TypeError) as exc:
        return 400, {"error": "invalid_request", "error_description": str(exc)}


def _route(emulator: Emulator, method: str, name: str, data: dict[str, Any]) -> Answer:
    route = (method, name)
    if route == ("GET", "stats"):
        return 200, emulator.stats
    if route == ("GET", "config"):
        return 200, emulator.state.config.to_json()
    if route == ("POST", "config"):
        return 200, emulator.configure(**_config_changes(data)).to_json()
    if route == ("GET", "faults"):
        return 200, {"faults": emulator.faults.pending()}
    if route == ("POST", "faults"):
        _inject(emulator, data)
        return 200, {"faults": emulator.faults.pending()}
    if route in (("DELETE", "faults"), ("POST", "faults/clear")):
        emulator.clear_faults()
        return 200, {"faults": []}
    if route == ("POST", "revoke"):
        token = data.get("refresh_token")
        return 200, {"revoked": emulator.revoke_refresh_tokens(str(token) if token is not None else None)}
    if route == ("POST", "expire-access-tokens"):
        return 200, {"expired": emulator.expire_access_tokens()}
    if route == ("POST", "expire-sts"):
        return 200, {"expired": emulator.expire_sts()}
    if route in (("POST", "approve"), ("POST", "deny")):
        url = data.get("url")
        if not isinstance(url, str):
            raise ValueError("'url' (the authorize URL) is required")
        location = emulator.approve(url) if name == "approve" else emulator.deny(url)
        return 200, {"location": location}
    if name.startswith(("mcp/", "ram/")):
        return _route_mcp(emulator, method, name, data)
    if method == "GET" and name.startswith("sts/"):
        return _sts_record(emulator, name[len("sts/") :])
    return 404, {"error": "not_found", "error_description": "No such control endpoint."}


def _config_changes(data: dict[str, Any]) -> dict[str, Any]:
    """``POST config``'s body as ``configure`` keywords (``ttls``: short names; ``skew``; ``identity``)."""
    changes = dict(data)
    ttls = changes.pop("ttls", None) or {}
    if not isinstance(ttls, dict):
        raise ValueError("'ttls' must be an object")
    for short in ttls:
        if short not in ("access", "refresh", "sts", "code"):
            raise ValueError(f"unknown ttl {short!r}")
        changes[f"{short}_token_ttl" if short in ("access", "refresh") else f"{short}_ttl"] = ttls[short]
    if "skew" in changes:
        changes["clock_skew"] = changes.pop("skew")
    if "identity" in changes:
        changes["identity"] = Identity.from_json(dict(changes["identity"]))
    return changes


def _inject(emulator: Emulator, data: dict[str, Any]) -> None:
    emulator.inject(
        str(data.get("endpoint", "any")),
        str(data.get("fault", "")),
        int(data.get("count", 1)),
        float(data.get("seconds", 0.0)),
        after=int(data.get("after", 0)),
        match=str(data.get("match", "")),
    )


def _sts_record(emulator: Emulator, access_key_id: str) -> Answer:
    record = emulator.sts_credentials(access_key_id)
    if record is None:
        return 404, {"error": "not_found", "error_description": "No such STS credential."}
    return 200, {
        "accessKeyId": record.access_key_id,
        "expiresAt": record.expires_at,
        "identity": record.identity.to_json(),
    }


def _route_mcp(emulator: Emulator, method: str, name: str, data: dict[str, Any]) -> Answer:
    route = (method, name)
    if route == ("GET", "mcp/config"):
        return 200, emulator.mcp.config.to_json()
    if route == ("POST", "mcp/config"):
        return 200, emulator.configure_mcp(**data).to_json()
    if route == ("GET", "ram/denies"):
        return 200, {"denies": emulator.permissions.denies()}
    if route == ("POST", "ram/deny"):
        action = data.get("action")
        if not isinstance(action, str):
            raise ValueError("'action' (e.g. ram:GenerateAccessToken) is required")
        emulator.deny_permission(action, str(data.get("principal", "*")))
        return 200, {"denies": emulator.permissions.denies()}
    if route == ("DELETE", "ram/denies"):
        emulator.clear_permission_denies()
        return 200, {"denies": []}
    if method == "GET" and (name == "mcp/log" or name.startswith("mcp/log/")):
        service = name[len("mcp/log/") :] if name.startswith("mcp/log/") else None
        return 200, {"log": emulator.mcp_log(service or None)}
    if route == ("DELETE", "mcp/log"):
        emulator.mcp.clear_log()
        return 200, {"log": []}
    if route == ("GET", "mcp/tokens"):
        return 200, {"tokens": [t.to_json() for t in emulator.mcp.tokens()]}
    if route == ("GET", "mcp/sessions"):
        return 200, {"sessions": emulator.mcp.session_ids()}
    if route == ("POST", "mcp/expire-tokens"):
        return 200, {"expired": emulator.expire_mcp_tokens()}
    if route == ("POST", "mcp/drop-sessions"):
        return 200, {"dropped": emulator.drop_mcp_sessions()}
    return 404, {"error": "not_found", "error_description": "No such control endpoint."}
