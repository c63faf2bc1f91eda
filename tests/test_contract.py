"""The contract cannot drift: one source (``contract/aliyun-sidecar.contract.json``) against the
generated TypeScript, the domain's error kinds, the edge's error codes and ``docs/contract.md``.

(The sidecar's real answers are checked against the same source by ``tests/rpc_harness.py``: every
result, notification and error an end-to-end test receives is validated.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sidecar import errors
from sidecar.rpc.errors import CODES, EDGE_KINDS

from contract import CONTRACT, generate, schema_for

from .contract_schema import REPO

DOC = (REPO / "docs" / "contract.md").read_text(encoding="utf-8")


def _generator() -> Any:
    return generate


# ------------------------------------------------------------------------------- the source itself


def _schemas(contract: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [(f"$defs/{n}", s) for n, s in contract["$defs"].items()]
    for method, spec in contract["methods"].items():
        found += [(f"{method} params", spec["params"]), (f"{method} result", spec["result"])]
    found += [(f"{m} params", s["params"]) for m, s in contract["notifications"].items()]
    return found


@pytest.mark.parametrize("where,schema", _schemas(CONTRACT), ids=lambda v: v if isinstance(v, str) else "")
def test_every_schema_of_the_source_is_valid_json_schema(where: str, schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_error_kind_has_a_code_an_origin_and_a_valid_data_schema() -> None:
    codes = [spec["code"] for spec in CONTRACT["errors"].values() if spec["origin"] == "domain"]
    assert len(codes) == len(set(codes)), "two domain kinds share a JSON-RPC code"
    for kind, spec in CONTRACT["errors"].items():
        assert spec["origin"] in ("domain", "edge"), kind
        assert set(spec.get("required", [])) <= set(spec["data"]), kind
        jsonschema.Draft202012Validator.check_schema(schema_for("error", kind))


# ------------------------------------------------------------------------------- TypeScript


def test_the_generated_typescript_is_up_to_date() -> None:
    generate = _generator()
    expected = generate.render(generate.load())
    actual = generate.TARGET.read_text(encoding="utf-8")
    assert actual == expected, "vscode-extension/src/model/contract.ts is stale: run python contract/generate.py"


def test_the_generated_typescript_says_it_is_generated_and_names_every_kind_and_method() -> None:
    text = _generator().TARGET.read_text(encoding="utf-8")
    assert "GENERATED" in text.splitlines()[1] and "do not edit" in text.splitlines()[1]
    for kind in CONTRACT["errors"]:
        assert f"'{kind}'," in text
    for method in [*CONTRACT["methods"], *CONTRACT["notifications"]]:
        assert f"'{method}'" in text


def test_the_generator_fails_its_check_on_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate = _generator()
    stale = tmp_path / "contract.ts"
    stale.write_text(generate.TARGET.read_text(encoding="utf-8").replace("'upstream',", ""), encoding="utf-8")
    monkeypatch.setattr(generate, "TARGET", stale)
    assert generate.main(["--check"]) == 1
    monkeypatch.setattr(generate, "TARGET", tmp_path / "fresh.ts")
    assert generate.main([]) == 0 and generate.main(["--check"]) == 0


# ------------------------------------------------------------------------------- the sidecar's kinds


def _kinds(origin: str) -> set[str]:
    return {k for k, spec in CONTRACT["errors"].items() if spec["origin"] == origin}


def test_the_domain_error_kinds_are_the_contracts() -> None:
    assert errors.kinds() == _kinds("domain")


def test_the_edge_kinds_are_the_contracts() -> None:
    assert set(EDGE_KINDS) == _kinds("edge")


def test_the_edge_maps_every_domain_kind_to_the_contracts_code() -> None:
    assert CODES == {k: CONTRACT["errors"][k]["code"] for k in _kinds("domain")}


def test_the_kinds_are_derived_from_the_error_classes() -> None:
    class Probe(errors.SidecarError):
        kind = "probeKindForThisTest"

    try:
        assert "probeKindForThisTest" in errors.kinds()
    finally:
        del Probe
    assert not hasattr(errors, "KINDS"), "the hand list of kinds is gone: kinds() derives them"


# ------------------------------------------------------------------------------- docs/contract.md


def _split_top(text: str) -> list[str]:
    """``a: x, b?: {c, d}, e`` → the top-level comma-separated pieces."""
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
        elif ch == "," and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]


def _signature_fields(signature: str) -> dict[str, bool]:
    """``{profile: string, site?: Site}`` → ``{"profile": True, "site": False}`` (True = required)."""
    inner = signature.strip()
    assert inner.startswith("{") and inner.endswith("}"), signature
    fields = {}
    for piece in _split_top(inner[1:-1]):
        match = re.match(r"(\w+)(\?)?", piece)
        assert match, piece
        fields[match.group(1)] = match.group(2) is None
    return fields


def _schema_fields(schema: dict[str, Any]) -> dict[str, bool]:
    if "$ref" in schema:
        schema = CONTRACT["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    required = set(schema.get("required", []))
    return {name: name in required for name in schema.get("properties", {})}


def _sections(level: str) -> dict[str, str]:
    """Heading text → the body under it, for headings of this level (``##`` or ``###``)."""
    parts = re.split(rf"^{level} (.+)$", DOC, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def _table(body: str) -> list[list[str]]:
    """The rows of the first Markdown table in ``body`` (without header and rule), split in cells."""
    rows = []
    for line in body.splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
        elif rows and not line.startswith("|"):
            break
    return rows[1:]


def _field_rows(body: str) -> dict[str, bool]:
    fields = {}
    for row in _table(body):
        match = re.fullmatch(r"`(\w+)(\?)?`", row[0])
        assert match, row
        fields[match.group(1)] = match.group(2) is None
    return fields


def test_the_doc_documents_exactly_the_methods_with_their_params_and_results() -> None:
    documented: dict[str, tuple[dict[str, bool], str]] = {}
    for heading in _sections("###"):
        match = re.fullmatch(r"`(aliyun/\w+)` `(\{.*\})` → `(.+)`", heading)
        if match:
            documented[match.group(1)] = (_signature_fields(match.group(2)), match.group(3))
    assert set(documented) == set(CONTRACT["methods"])
    for method, (params, result) in documented.items():
        spec = CONTRACT["methods"][method]
        assert params == _schema_fields(spec["params"]), method
        if "$ref" in spec["result"]:
            assert result == spec["result"]["$ref"].rsplit("/", 1)[-1], method
        else:
            assert _signature_fields(result) == _schema_fields(spec["result"]), method


def test_the_doc_documents_every_shared_type_with_exactly_its_fields() -> None:
    sections = _sections("###")
    for name, schema in CONTRACT["$defs"].items():
        if name == "InitializationOptions":
            continue  # the table of the "initialize" section (next test)
        heading = next((h for h in sections if re.search(rf"`{name}`", h) and not h.startswith("`aliyun/")), None)
        assert heading is not None, f"docs/contract.md has no section for {name}"
        if schema.get("properties"):
            assert _field_rows(sections[heading]) == _schema_fields(schema), name
        for value in schema.get("enum", []):
            assert f"`{value}`" in sections[heading], f"{name}: {value}"
    documented_types = {m.group(1) for h in sections for m in re.finditer(r"`([A-Z]\w+)`", h)}
    assert documented_types <= set(CONTRACT["$defs"]), documented_types - set(CONTRACT["$defs"])


def test_the_doc_documents_exactly_the_initialization_options() -> None:
    body = _sections("##")["initialize"]
    assert "`InitializationOptions`" in body
    options = _field_rows(body)
    assert set(options) == set(CONTRACT["$defs"]["InitializationOptions"]["properties"])


def test_the_doc_documents_exactly_the_notifications() -> None:
    rows = {row[0].strip("`"): row[1].strip("`") for row in _table(_sections("##")["Notifications (sidecar → client)"])}
    expected = {m: spec["params"]["$ref"].rsplit("/", 1)[-1] for m, spec in CONTRACT["notifications"].items()}
    assert rows == expected


def test_the_doc_documents_exactly_the_error_kinds_codes_and_data_fields() -> None:
    documented = {}
    for kind, code, data, _meaning in _table(_sections("##")["Errors"]):
        fields = {}
        for item in filter(None, (x.strip() for x in data.split(","))):
            match = re.fullmatch(r"`(\w+)(\?)?`", item)
            assert match, (kind, item)
            fields[match.group(1)] = match.group(2) is None
        documented[kind.strip("`")] = ([int(c) for c in code.split(",")], fields)
    expected = {
        kind: ([spec["code"], *spec.get("otherCodes", [])], {f: f in spec.get("required", []) for f in spec["data"]})
        for kind, spec in CONTRACT["errors"].items()
    }
    assert documented == expected


def test_the_doc_has_no_comment_that_points_nowhere() -> None:
    assert not re.search(r"see issue", DOC, re.I)
