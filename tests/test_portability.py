"""The suite runs on Windows and macOS too: a test that needs a POSIX-only (or Linux-only) feature says
so with a skip marker (``conftest.posix_only``, ``conftest.linux_only``, or any ``skipif``), so that
it skips cleanly where the feature is absent instead of failing. Checked with ``ast``: a test uses a
feature when its own body does, or a helper function or fixture of its module that it names does."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent

#: ``module.attribute`` uses that exist (or mean the same) only on POSIX.
POSIX_ATTRIBUTES = {
    ("os", "getuid"), ("os", "geteuid"), ("os", "getgid"), ("os", "chown"), ("os", "killpg"), ("os", "fork"),
    ("os", "umask"), ("os", "setsid"), ("os", "getpgid"), ("signal", "SIGKILL"), ("signal", "SIGSTOP"),
    ("stat", "S_IMODE"), ("os", "symlink"), ("os", "mkfifo"),
}
#: Method names that need POSIX (or privileges Windows users lack).
POSIX_METHODS = {"symlink_to", "chown", "is_socket", "is_fifo"}
#: Modules that exist only on POSIX.
POSIX_MODULES = {"fcntl", "pty", "pwd", "grp", "termios", "resource"}


def _uses(node: ast.AST) -> set[str]:
    found: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and (sub.value.id, sub.attr) in POSIX_ATTRIBUTES:
            found.add(f"{sub.value.id}.{sub.attr}")
        elif isinstance(sub, ast.Attribute) and sub.attr in POSIX_METHODS:
            found.add(f".{sub.attr}()")
        elif isinstance(sub, ast.Import):
            found |= {a.name for a in sub.names if a.name.split(".")[0] in POSIX_MODULES}
        elif isinstance(sub, ast.ImportFrom) and (sub.module or "").split(".")[0] in POSIX_MODULES:
            found.add(sub.module or "")
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and "/proc/" in sub.value:
            found.add("/proc")
    return found


def _marked(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for deco in func.decorator_list:
        text = ast.unparse(deco)
        if "posix_only" in text or "linux_only" in text or "skipif" in text or "skip(" in text:
            return True
    return False


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        a.arg for f in ast.walk(node) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for a in f.args.args
    }


def unmarked(source: str) -> list[str]:
    """``test_name: feature`` for every test of the module that needs POSIX and does not say so."""
    tree = ast.parse(source)
    if any(isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in n.targets) for n in tree.body):
        return []  # the whole module is marked
    funcs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    helpers = {f.name: _uses(f) for f in funcs if not f.name.startswith("test_")}
    helpers |= {c.name: _uses(c) for c in classes}
    constants = {t.id: _uses(n) for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    helpers = {k: v for k, v in (helpers | constants).items() if v}
    problems = []
    for func in funcs:
        if not func.name.startswith("test_") or _marked(func):
            continue
        needed = _uses(func)
        for name in _names(func) & helpers.keys():
            needed |= helpers[name]
        if needed:
            problems.append(f"{func.name}: {', '.join(sorted(needed))}")
    return problems


def test_every_test_that_needs_posix_says_so() -> None:
    problems = {}
    for path in sorted(TESTS.glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        found = unmarked(path.read_text(encoding="utf-8"))
        if found:
            problems[path.name] = found
    assert problems == {}, "\n".join(f"{f}::{p}" for f, ps in problems.items() for p in ps)


def test_the_scan_finds_an_unmarked_use() -> None:
    source = "import os\ndef helper():\n    return os.getuid()\ndef test_a():\n    helper()\n@posix_only\ndef test_b():\n    os.killpg(1, 9)\n"
    assert unmarked(source) == ["test_a: os.getuid"]
