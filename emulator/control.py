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
        return 200, emulator.configure(**changes).to_json()
    if route == ("GET", "faults"):
        return 200, {"faults": emulator.faults.pending()}
    if route == ("POST", "faults"):
        emulator.inject(
            str(data.get("endpoint", "any")),
            str(data.get("fault", "")),
            int(data.get("count", 1)),
            float(data.get("seconds", 0.0)),
        )
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
    if method == "GET" and name.startswith("sts/"):
        record = emulator.sts_credentials(name[len("sts/") :])
        if record is None:
            return 404, {"error": "not_found", "error_description": "No such STS credential."}
        return 200, {
            "accessKeyId": record.access_key_id,
            "expiresAt": record.expires_at,
            "identity": record.identity.to_json(),
        }
    return 404, {"error": "not_found", "error_description": "No such control endpoint."}
