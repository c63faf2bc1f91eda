"""Params validation at the edge: plain dicts in, typed values out, ``InvalidParams`` on anything else.

pygls structures the params of methods it does not know into namedtuples (and never answers a request
whose typed params do not fit), so handlers take whatever arrived, turn it back into plain JSON values
here, and check each field themselves.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidParams

MAX_STRING = 4096


def to_plain(value: Any) -> Any:
    """namedtuples (pygls' structuring of unknown params) back into dicts, recursively."""
    if hasattr(value, "_asdict"):
        return {k: to_plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def as_object(params: Any) -> dict[str, Any]:
    plain = to_plain(params)
    if plain is None:
        return {}
    if not isinstance(plain, dict):
        raise InvalidParams("The params must be a JSON object.", field="params")
    return plain


def opt_str(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_STRING:
        raise InvalidParams(f"'{key}' must be a string.", field=key)
    return value


def req_str(params: dict[str, Any], key: str) -> str:
    value = opt_str(params, key)
    if not value:
        raise InvalidParams(f"'{key}' is required (a non-empty string).", field=key)
    return value


def opt_bool(params: dict[str, Any], key: str, default: bool) -> bool:
    value = params.get(key, default)
    if not isinstance(value, bool):
        raise InvalidParams(f"'{key}' must be true or false.", field=key)
    return value


def opt_progress_token(params: dict[str, Any]) -> str | int | None:
    token = params.get("workDoneToken")
    if token is None:
        return None
    if isinstance(token, bool) or not isinstance(token, (str, int)):
        raise InvalidParams("'workDoneToken' must be a string or an integer.", field="workDoneToken")
    return token
