"""The sidecar's contract as data: ``aliyun-sidecar.contract.json`` (JSON Schema 2020-12) and the few
helpers that read it. Not shipped (like ``emulator/``): the generator and the tests use it; the sidecar
itself never reads it at run time, so a wheel needs no data file, and the tests prove that what it
sends fits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).resolve().parent / "aliyun-sidecar.contract.json"


def load(path: Path = SOURCE) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


CONTRACT: dict[str, Any] = load()


def error_data_schema(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The whole ``error.data`` object of one kind: ``kind`` plus exactly its data fields."""
    return {
        "type": "object",
        "properties": {"kind": {"const": kind}, **spec.get("data", {})},
        "required": ["kind", *spec.get("required", [])],
        "additionalProperties": False,
    }


def schema_for(what: str, name: str = "", contract: dict[str, Any] = CONTRACT) -> dict[str, Any]:
    """A standalone schema (the shared ``$defs`` attached) for ``("result" | "params", method)``,
    ``("notification", method)``, ``("error", kind)`` or ``("initialize",)`` (its
    ``capabilities.experimental.aliyun``)."""
    if what == "error":
        sub = error_data_schema(name, contract["errors"][name])
    elif what == "notification":
        sub = contract["notifications"][name]["params"]
    elif what == "initialize":
        sub = contract["initialize"]["result"]["capabilities.experimental.aliyun"]
    else:
        sub = contract["methods"][name][what]
    return {**sub, "$defs": contract["$defs"]}
