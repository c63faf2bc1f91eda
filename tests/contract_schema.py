"""The contract source for tests: one schema per result, notification, error and the initialize
capabilities, and ``check_*`` functions that raise ``AssertionError`` when a real answer of the
sidecar does not fit it (``tests/rpc_harness.py`` calls them on everything it receives)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema

from contract import CONTRACT, schema_for

REPO = Path(__file__).resolve().parent.parent


@functools.cache
def _validator(what: str, name: str) -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(schema_for(what, name))


def _check(what: str, name: str, value: Any) -> None:
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in _validator(what, name).iter_errors(value)]
    # The messages name fields and schema rules; values are cut short so that no credential in a
    # result (getCredentials) is printed whole.
    assert not problems, f"{what} of {name} does not fit the contract: " + "; ".join(p[:200] for p in problems)


def check_result(method: str, value: Any) -> None:
    if method in CONTRACT["methods"]:
        _check("result", method, value)


def check_notification(method: str, params: Any) -> None:
    if method in CONTRACT["notifications"]:
        _check("notification", method, params)


def check_error(code: int, data: Any) -> None:
    """An error answer: a known kind, its code, and exactly its data fields."""
    assert isinstance(data, dict) and data.get("kind") in CONTRACT["errors"], f"error without a contract kind: {data!r}"
    spec = CONTRACT["errors"][data["kind"]]
    assert code in (spec["code"], *spec.get("otherCodes", ())), f"{data['kind']} answered code {code}"
    _check("error", data["kind"], data)


def check_initialize(result: Any) -> None:
    """``capabilities.experimental.aliyun`` of an ``initialize`` result (plain JSON)."""
    experimental = (result.get("capabilities") or {}).get("experimental") or {}
    _check("initialize", "", experimental.get("aliyun"))
