"""``.gitattributes`` checks every script out with LF endings (bash refuses CRLF, which a Windows clone
with ``core.autocrlf`` would otherwise give): every tracked file that is executable, starts with a
shebang or is a shell script has ``eol=lf``; images are binary."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
needs_git = pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def scripts() -> list[str]:
    found = []
    for line in git("ls-files", "-s").splitlines():
        mode, _, _, path = line.split(maxsplit=3)
        file = ROOT / path
        if not file.is_file():
            continue
        with file.open("rb") as f:
            shebang = f.read(2) == b"#!"
        if mode == "100755" or shebang or path.endswith(".sh"):
            found.append(path)
    return found


@needs_git
def test_every_script_checks_out_with_lf() -> None:
    listed = scripts()
    assert ".ci/run" in listed and "scripts/test.sh" in listed
    attrs = git("check-attr", "eol", "--", *listed)
    wrong = [line for line in attrs.splitlines() if not line.endswith(": eol: lf")]
    assert wrong == []


@needs_git
def test_sources_are_lf_and_images_binary() -> None:
    sources = [p for p in git("ls-files").splitlines() if p.endswith((".py", ".ts", ".mjs", ".json", ".md", ".toml"))]
    attrs = git("check-attr", "eol", "--", *sources)
    assert [line for line in attrs.splitlines() if not line.endswith(": eol: lf")] == []
    images = [p for p in git("ls-files").splitlines() if p.endswith(".png")]
    binary = git("check-attr", "binary", "--", *images)
    assert images and all(line.endswith(": binary: set") for line in binary.splitlines())
