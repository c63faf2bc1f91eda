"""The sidecar as the VSIX runs it: ``<python> -m sidecar`` with ``cwd`` = the extension folder and
``PYTHONPATH`` = its ``bundled/libs``, under an interpreter that has nothing installed.

Used by ``python -m benchmarks`` (the start-up part) for the "spawn → initialize, bundled VSIX layout"
row. The layout comes from a packaged VSIX (``--vsix dist/aliyun-sidecar-0.1.0.vsix``, what
``scripts/package.sh`` writes) or, by default, is assembled from this checkout in a few hundred
milliseconds: ``sidecar/`` plus every distribution it requires, copied from the benchmark's own
environment (the same files ``pip install --target bundled/libs`` puts there: every dependency is pure
Python, which package.sh enforces), without bytecode, as a freshly unpacked VSIX has none. Building a
real VSIX needs npm and vsce; the bundle's start-up does not depend on them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PYTHON = "/usr/bin/python3"


def layout_from_vsix(vsix: Path, into: Path) -> Path:
    """The VSIX unpacked; returns its extension folder (the one holding ``bundled/libs``)."""
    with zipfile.ZipFile(vsix) as archive:
        archive.extractall(into)
    return into / "extension"


def _requirement_closure(root: str) -> list[metadata.Distribution]:
    """``root`` and every distribution it requires (transitively), as installed here."""
    found: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        dist = metadata.distribution(name)
        found[name] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return [dist for name, dist in found.items() if name != canonicalize_name(root)]


def layout_from_checkout(into: Path) -> Path:
    """An extension folder whose ``bundled/libs`` holds this checkout's ``sidecar/`` and the installed
    copies of its dependencies; returns the extension folder."""
    ext = into / "extension"
    libs = ext / "bundled" / "libs"
    no_bytecode = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "sidecar", libs / "sidecar", ignore=no_bytecode)
    for dist in _requirement_closure("aliyun-sidecar"):
        for file in dist.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts or file.suffix == ".pyc":
                continue  # console scripts outside site-packages; bytecode
            source = Path(str(dist.locate_file(file)))
            if source.is_file():
                target = libs / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    return ext


def unusable(python: str) -> str | None:
    """Why ``python`` cannot show the bundle's own start-up (None if it can)."""
    if shutil.which(python) is None:
        return f"{python} not found"
    if subprocess.run([python, "-c", "import httpx"], capture_output=True).returncode == 0:
        return f"{python} can import httpx by itself (use a Python with nothing installed)"
    return None


def python_version(python: str) -> str:
    return subprocess.run([python, "--version"], capture_output=True, text=True).stdout.strip()


def initialize_time(python: str, cwd: Path, home: Path, *, pythonpath: Path | None, module: str = "sidecar") -> float:
    """Seconds from spawn to the ``initialize`` answer of ``python -m module`` (closed afterwards).

    ``pythonpath=None`` leaves the interpreter's own ``sys.path`` alone (no ``PYTHON*`` variables at all).
    """
    config = home / ".aliyun" / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('{"current": "", "profiles": [], "meta_path": ""}')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["HOME"] = str(home)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"processId": os.getpid(), "rootUri": None, "capabilities": {},
                    "initializationOptions": {"configPath": str(config), "keepFresh": False, "logLevel": "warning"}}}
    ).encode()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [python, "-m", module], cwd=cwd, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    assert proc.stdin and proc.stdout
    try:
        proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        proc.stdin.flush()
        length = 0
        while (line := proc.stdout.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        answer = json.loads(proc.stdout.read(length) or b"{}")
        elapsed = time.perf_counter() - started
    finally:
        proc.stdin.close()
        proc.kill()
        proc.wait()
    if "result" not in answer:
        raise RuntimeError(f"{python} -m {module}: initialize was not answered")
    return elapsed
