"""docs/security.md names, for each defence, the test that proves it: every test it names exists (a
renamed or deleted test makes this fail, so the page cannot drift from the suite)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "security.md"

#: `tests/x.py::name` or `::name` (the file named last before it, on the same line).
_PY = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`")
#: `test/x.test.ts` followed by quoted titles (up to an ellipsis), e.g. "created 0700 under umask…".
_TS_FILE = re.compile(r"`test/([\w.]+\.test\.ts)`")
_TS_TITLE = re.compile(r'"([^"…]{8,})(?:…)?"')


def test_every_python_test_the_page_names_exists() -> None:
    named = 0
    for line in DOC.read_text(encoding="utf-8").splitlines():
        current: Path | None = None
        for match in _PY.finditer(line):
            file, name = match.groups()
            if file:
                current = ROOT / file
                assert current.exists(), f"docs/security.md names {file}, which does not exist"
            if name:
                assert current is not None, f"::{name} without a file before it"
                assert re.search(rf"^(async )?def {name}\b", current.read_text(encoding="utf-8"), re.M), (
                    f"docs/security.md names {current.name}::{name}, which does not exist"
                )
                named += 1
    assert named >= 20


def test_every_extension_test_and_real_editor_step_the_page_quotes_exists() -> None:
    """Quoted titles after `test/x.test.ts` are that file's tests; after "real editor:", steps of
    e2e/real-editor/run.mjs (matched by their beginning)."""
    steps = (ROOT / "e2e" / "real-editor" / "run.mjs").read_text(encoding="utf-8")
    named = 0
    for line in DOC.read_text(encoding="utf-8").splitlines():
        for cell in line.split("|"):
            unit, _, editor = cell.partition("real editor:")
            files = _TS_FILE.findall(unit)
            if files:
                source = (ROOT / "vscode-extension" / "test" / files[0]).read_text(encoding="utf-8")
                for title in _TS_TITLE.findall(unit):
                    assert title.strip() in source, f"docs/security.md quotes {title!r}, not a test in {files[0]}"
                    named += 1
            for title in _TS_TITLE.findall(editor):
                words = title.strip().split()[:4]
                assert all(w in steps for w in words), f"docs/security.md quotes {title!r}, not a real-editor step"
                named += 1
    assert named >= 8
