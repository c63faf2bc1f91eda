"""No long functions: none over 50 lines in Python (``sidecar/``, ``emulator/``), none over 60 in the
extension's hand-written TypeScript (``vscode-extension/src``, the generated ``contract.ts`` aside).

A function's length runs from its first line (its first decorator) to its last, nested functions
included. Python is read with ``ast``; TypeScript with the TypeScript compiler's own parser (the
extension's dev dependency), through ``node``: skipped where node or the extension's packages are not
installed (``npm ci`` in vscode-extension/). An exception must be listed below with its reason.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .contract_schema import REPO

PY_LIMIT = 50
TS_LIMIT = 60
PY_ROOTS = ("sidecar", "emulator")
EXTENSION = REPO / "vscode-extension"

#: "path:function" → why it may be longer. None today.
EXCEPTIONS: dict[str, str] = {}


def python_functions(source: str) -> list[tuple[str, int, int]]:
    """(name, first line, length) of every function and method."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            found.append((node.name, first, (node.end_lineno or node.lineno) - first + 1))
    return found


def long_python_functions() -> list[str]:
    long = []
    for root in PY_ROOTS:
        for path in sorted((REPO / root).rglob("*.py")):
            for name, line, length in python_functions(path.read_text(encoding="utf-8")):
                key = f"{path.relative_to(REPO).as_posix()}:{name}"
                if length > PY_LIMIT and key not in EXCEPTIONS:
                    long.append(f"{key} (line {line}): {length} lines")
    return long


#: Prints [[file, name, first line, length], ...] for every function-like node with a body.
TS_SCAN = r"""
const ts = require(process.argv[1]);
const fs = require('fs'), path = require('path');
const files = JSON.parse(process.argv[2]);
const out = [];
for (const file of files) {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.end).line;
      let name = node.name ? node.name.getText(sf) : '';
      if (!name && node.parent && (ts.isVariableDeclaration(node.parent) || ts.isPropertyAssignment(node.parent))) name = node.parent.name.getText(sf);
      out.push([file, name || '(anonymous)', first + 1, last - first + 1]);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}
process.stdout.write(JSON.stringify(out));
"""


def typescript_sources() -> list[Path]:
    """The hand-written sources: a generated file says so in its first lines."""
    return [p for p in sorted((EXTENSION / "src").rglob("*.ts")) if "GENERATED" not in p.read_text(encoding="utf-8")[:200]]


def typescript_functions(files: list[Path]) -> list[tuple[str, str, int, int]]:
    node = shutil.which("node")
    compiler = EXTENSION / "node_modules" / "typescript"
    if node is None or not compiler.is_dir():
        pytest.skip("node or the extension's packages (npm ci in vscode-extension/) are not installed")
    done = subprocess.run(
        [node, "-e", TS_SCAN, str(compiler), json.dumps([str(f) for f in files])],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return [tuple(row) for row in json.loads(done.stdout)]


def test_no_python_function_is_over_50_lines() -> None:
    assert long_python_functions() == []


def test_no_typescript_function_is_over_60_lines() -> None:
    files = typescript_sources()
    assert any(f.name == "extension.ts" for f in files) and not any(f.name == "contract.ts" for f in files)
    long = [
        f"{Path(file).relative_to(REPO).as_posix()}:{name} (line {line}): {length} lines"
        for file, name, line, length in typescript_functions(files)
        if length > TS_LIMIT and f"{Path(file).relative_to(REPO).as_posix()}:{name}" not in EXCEPTIONS
    ]
    assert long == []


def test_every_exception_is_still_needed_and_says_why() -> None:
    for key, reason in EXCEPTIONS.items():
        assert reason.strip(), key
        assert Path(REPO / key.split(":")[0]).exists(), f"{key}: the file is gone; drop the exception"


def test_the_checks_see_a_long_function(tmp_path: Path) -> None:
    """The same scans on a function that is too long (so they cannot pass vacuously)."""
    body = "\n".join(f"    x{i} = {i}" for i in range(PY_LIMIT))
    assert python_functions(f"@decorator\ndef long():\n{body}\n") == [("long", 1, PY_LIMIT + 2)]
    sample = tmp_path / "sample.ts"
    lines = "\n".join(f"  const x{i} = {i};" for i in range(TS_LIMIT))
    sample.write_text(f"export function long(): void {{\n{lines}\n}}\nconst short = (): number => 1;\n", encoding="utf-8")
    rows = typescript_functions([sample])
    assert [(name, line, length) for _file, name, line, length in rows] == [("long", 1, TS_LIMIT + 2), ("short", TS_LIMIT + 3, 1)]
