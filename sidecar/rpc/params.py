"""Params validation at the edge: plain JSON in, typed values out, ``InvalidParams`` on anything else.

Each method's params are declared as a table of fields (``sidecar/rpc/methods.py``): a :class:`Param`
is one field's check (the functions here) and its schema in the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import schema as S
from ..errors import InvalidParams

#: One field's check: (the params object, the field's name) → its typed value, or ``InvalidParams``.
Field = Callable[[dict[str, Any], str], Any]


@dataclass(frozen=True)
class Param:
    """One field of a method's params: how the edge checks it and how the contract describes it."""

    check: Field
    schema: S.Schema
    required: bool = False


def required_string(description: str) -> Param:
    return Param(req_str, S.string(description), required=True)


def optional_string(description: str, schema: S.Schema | None = None) -> Param:
    """An optional string; ``schema`` when the contract says more (a ``Site``, a ``Language``)."""
    return Param(opt_str, {**(schema or S.string()), "description": description})

MAX_STRING = 4096


def as_object(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise InvalidParams("The params must be a JSON object.", field="params")
    return params


def opt_str(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_STRING:
        raise InvalidParams(f"'{key}' must be a string.", field=key)
    return value


def opt_path(params: dict[str, Any], key: str) -> str | None:
    """A file path option: a string no OS could open (a NUL byte, other control characters) is
    refused here, at ``initialize``, instead of failing every later request as ``internal``."""
    value = opt_str(params, key)
    if not value:
        return None  # absent or empty: the default, as before
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise InvalidParams(f"'{key}' must be a file path (no NUL or other control characters).", field=key)
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


def flag(default: bool) -> Field:
    """An optional boolean field with a default."""
    return lambda params, key: opt_bool(params, key, default)


def progress_token(params: dict[str, Any], _key: str) -> str | int | None:
    return opt_progress_token(params)


def force(params: dict[str, Any], key: str) -> str | None:
    """``aliyun/refresh``'s ``force``: which layer to renew (``true`` means the access token)."""
    value = params.get(key, False)
    if not (isinstance(value, bool) or value in ("sts", "accessToken")):
        raise InvalidParams("'force' must be true, false, \"sts\" or \"accessToken\".", field=key)
    return None if value is False else ("accessToken" if value is True else value)
