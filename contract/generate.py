"""Write the extension's TypeScript contract from ``contract/aliyun-sidecar.contract.json``.

Usage: ``python -m contract.generate`` (writes ``vscode-extension/src/model/contract.ts``) or
``python -m contract.generate --check`` (exit 1 when the file is not what the source gives).
``tests/test_contract.py`` runs the check, so a hand edit of the TypeScript or a source change
without a regeneration fails the suite.

Why hand-written and not a JSON-Schema-to-TypeScript package: those are npm tools (a build step and
dependencies for the extension) and name nested types on their own; the contract uses a small subset
of JSON Schema (``$ref``, ``type``, ``enum``, ``const``, ``oneOf``, ``properties``/``required``,
``items``/``prefixItems``, ``additionalProperties``), which maps to TypeScript in the few lines below,
with the names the extension already uses. Standard library only: runs with any Python 3.11.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import error_data_schema, load

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "vscode-extension" / "src" / "model" / "contract.ts"

HEADER = """\
/**
 * GENERATED from contract/aliyun-sidecar.contract.json by contract/generate.py: do not edit.
 * Change the source, then run `python -m contract.generate` (a pytest fails while this file is stale).
 *
 * The JSON-RPC contract with the sidecar, as TypeScript types (docs/contract.md explains it in prose).
 * No vscode import: tests and other modules use it as is.
 */
"""

PRIMITIVES = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean", "null": "null"}


def pascal(method: str) -> str:
    """``aliyun/signIn`` → ``SignIn``."""
    name = method.split("/", 1)[-1]
    return name[:1].upper() + name[1:]


def camel(method: str) -> str:
    """``aliyun/signIn`` → ``signIn``."""
    return method.split("/", 1)[-1]


def _doc(text: str | None, indent: str) -> str:
    return f"{indent}/** {text} */\n" if text else ""


def ts_type(schema: dict[str, Any], indent: str = "") -> str:
    """The TypeScript type of one schema (inline)."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "const" in schema:
        return json.dumps(schema["const"]).replace('"', "'")
    if "enum" in schema:
        return " | ".join(json.dumps(v).replace('"', "'") for v in schema["enum"])
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return " | ".join(ts_type(s, indent) for s in schema[key])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(ts_type({**schema, "type": k}, indent) for k in kind)
    if kind == "array":
        if "prefixItems" in schema:
            return "[" + ", ".join(ts_type(s, indent) for s in schema["prefixItems"]) + "]"
        item = ts_type(schema.get("items", {}), indent)
        return f"({item})[]" if "|" in item else f"{item}[]"
    if kind == "object":
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if not props and isinstance(extra, dict):
            return f"Record<string, {ts_type(extra, indent)}>"
        if not props:
            return "Record<string, never>"
        return "{\n" + _members(schema, indent + "  ") + indent + "}"
    if kind in PRIMITIVES:
        return PRIMITIVES[kind]
    return "unknown"


def _members(schema: dict[str, Any], indent: str) -> str:
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        optional = "" if name in required else "?"
        out.append(_doc(prop.get("description"), indent) + f"{indent}{name}{optional}: {ts_type(prop, indent)};\n")
    if schema.get("patternProperties"):
        out.append(f"{indent}// Per-site keys ({', '.join(schema['patternProperties'])}) are described in the contract source.\n")
    return "".join(out)


def declare(name: str, schema: dict[str, Any]) -> str:
    """``export interface`` for an object with properties, ``export type`` for anything else."""
    doc = _doc(schema.get("description"), "")
    if schema.get("type") == "object" and schema.get("properties"):
        return f"{doc}export interface {name} {{\n{_members(schema, '  ')}}}\n"
    return f"{doc}export type {name} = {ts_type(schema)};\n"


def render(contract: dict[str, Any]) -> str:
    parts = [HEADER]
    for name, schema in contract["$defs"].items():
        parts.append(declare(name, schema))

    requests = []
    for method, spec in contract["methods"].items():
        base = pascal(method)
        params, result = spec["params"], spec["result"]
        parts.append(declare(f"{base}Params", params))
        result_name = ts_type(result) if "$ref" in result else f"{base}Result"
        if "$ref" not in result:
            parts.append(declare(result_name, result))
        requests.append(f"  '{method}': {{ params: {base}Params; result: {result_name} }};\n")
    parts.append("/** Every request: its params and result types. */\nexport interface RequestTypes {\n" + "".join(requests) + "}\n")

    notes = [f"  '{m}': {ts_type(spec['params'])};\n" for m, spec in contract["notifications"].items()]
    parts.append("/** Every notification (sidecar → client): its params type. */\nexport interface NotificationTypes {\n" + "".join(notes) + "}\n")

    methods = "".join(f"  {camel(m)}: '{m}',\n" for m in contract["methods"])
    parts.append(f"export const Methods = {{\n{methods}}} as const;\n")
    notifications = "".join(f"  {camel(m)}: '{m}',\n" for m in contract["notifications"])
    parts.append(f"export const Notifications = {{\n{notifications}}} as const;\n")

    errors = contract["errors"]
    kinds = "".join(f"  '{k}',\n" for k in errors)
    parts.append(f"/** Every `error.data.kind` the sidecar answers. */\nexport const ERROR_KINDS = [\n{kinds}] as const;\n")
    parts.append("export type ErrorKind = (typeof ERROR_KINDS)[number];\n")
    codes = "".join(f"  {k}: {v['code']},\n" for k, v in errors.items())
    parts.append(f"/** The JSON-RPC error code of each kind. */\nexport const ERROR_CODES: Record<ErrorKind, number> = {{\n{codes}}};\n")
    data = "".join(f"  {k}: {ts_type(error_data_schema(k, v), '  ')};\n" for k, v in errors.items())
    parts.append(f"/** The `error.data` object of each kind. */\nexport interface ErrorData {{\n{data}}}\n")
    parts.append(
        "/** The JSON-RPC code the sidecar answers for a cancelled request (LSP RequestCancelled). */\n"
        f"export const REQUEST_CANCELLED = {errors['cancelled']['code']};\n"
    )
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="only check that the TypeScript is up to date")
    args = parser.parse_args(argv)
    text = render(load())
    if args.check:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is stale: run python -m contract.generate", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
