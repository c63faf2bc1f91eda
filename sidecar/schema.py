"""JSON Schema fragments, for the declarations the contract is generated from.

An error kind (``sidecar/errors.py``: the data it carries) and a method (``sidecar/rpc/methods.py``:
its params and result) are each declared once, in Python, beside the code that raises or serves them;
``python -m contract.generate`` writes them into ``contract/aliyun-sidecar.contract.json``, the
extension's ``contract.ts`` and ``docs/contract.md``. These constructors keep each declaration one
readable line. Plain dicts, no validation here (``tests/test_contract.py`` checks every schema of the
generated contract against JSON Schema 2020-12).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Schema = dict[str, Any]


def _described(schema: Schema, description: str) -> Schema:
    return {**schema, "description": description} if description else schema


def string(description: str = "") -> Schema:
    return _described({"type": "string"}, description)


def integer(description: str = "", *, minimum: int | None = None) -> Schema:
    return _described({"type": "integer", **({"minimum": minimum} if minimum is not None else {})}, description)


def number(description: str = "") -> Schema:
    return _described({"type": "number"}, description)


def boolean(description: str = "") -> Schema:
    return _described({"type": "boolean"}, description)


def types(*names: str, description: str = "") -> Schema:
    """One of several JSON types: ``types("string", "integer")``."""
    return _described({"type": list(names)}, description)


def ref(name: str, description: str = "") -> Schema:
    """A shared type of the contract (``$defs``, hand-written in ``contract/types.json``)."""
    return _described({"$ref": f"#/$defs/{name}"}, description)


def enum(*values: Any, description: str = "") -> Schema:
    return _described({"enum": list(values)}, description)


def const(value: Any, description: str = "") -> Schema:
    return _described({"const": value}, description)


def one_of(*schemas: Schema, description: str = "") -> Schema:
    return _described({"oneOf": list(schemas)}, description)


def array(items: Schema, description: str = "") -> Schema:
    return _described({"type": "array", "items": items}, description)


def pair(item: Schema, description: str = "") -> Schema:
    """``[first, last]``: exactly two items of one schema."""
    return _described({"type": "array", "prefixItems": [item, item], "minItems": 2, "maxItems": 2}, description)


def closed_object(properties: Mapping[str, Schema], required: Iterable[str] = ()) -> Schema:
    """An object with exactly these fields (a result: the sidecar sends no other)."""
    schema: Schema = {"type": "object", "properties": dict(properties)}
    if required := list(required):
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema
