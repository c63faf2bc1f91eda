"""The packaged VSIX: its size, and how long its bundled sidecar takes from spawn to ``initialize``.

    .venv/bin/python -m benchmarks.vsix dist/aliyun-sidecar-0.1.0.vsix [--python /usr/bin/python3] [--spawns 15]

Runs the sidecar exactly as the extension does from an installed VSIX: ``<python> -m sidecar`` with
``cwd`` = the extension folder and ``PYTHONPATH`` = its ``bundled/libs``, with an interpreter that has
nothing installed (default ``/usr/bin/python3``; it must not be able to import ``httpx`` by itself,
else the figure would not be the bundle's). The first spawn compiles the bundle's bytecode into the
extension folder (as it happens on a user's first start); it is reported apart from the warm median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path


def initialize_time(python: str, ext: Path, home: Path, *, bundled: bool = True) -> float:
    """Seconds from spawn to the ``initialize`` answer (one sidecar, closed afterwards).

    ``bundled=False``: the sidecar as installed in ``python``'s own environment (the baseline).
    """
    config = home / ".aliyun" / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('{"current": "", "profiles": [], "meta_path": ""}')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["HOME"] = str(home)
    if bundled:
        env["PYTHONPATH"] = str(ext / "bundled" / "libs")
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"processId": os.getpid(), "rootUri": None, "capabilities": {},
                    "initializationOptions": {"configPath": str(config), "keepFresh": False, "logLevel": "warning"}}}
    ).encode()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [python, "-m", "sidecar"], cwd=ext, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    assert proc.stdin and proc.stdout
    proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    proc.stdin.flush()
    length = 0
    while (line := proc.stdout.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    answer = json.loads(proc.stdout.read(length))
    elapsed = time.perf_counter() - started
    proc.stdin.close()
    proc.kill()
    proc.wait()
    if "result" not in answer:
        raise SystemExit(f"initialize failed: {answer}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("vsix", type=Path)
    parser.add_argument("--python", default="/usr/bin/python3")
    parser.add_argument("--spawns", type=int, default=15)
    args = parser.parse_args()
    bare = subprocess.run([args.python, "-c", "import httpx"], capture_output=True)
    if bare.returncode == 0:
        raise SystemExit(f"{args.python} can import httpx by itself: use a Python with nothing installed")
    version = subprocess.run([args.python, "--version"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="aliyun-vsix-bench-") as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(args.vsix) as z:
            z.extractall(root)
            files = len(z.namelist())
        ext = root / "extension"
        cold = initialize_time(args.python, ext, root / "home0")
        warm = [initialize_time(args.python, ext, root / f"home{i + 1}") for i in range(args.spawns)]
        # Baseline in the same run: this checkout's venv, where the sidecar is pip-installed.
        venv = sorted(initialize_time(sys.executable, Path.cwd(), root / f"venv{i}", bundled=False) for i in range(args.spawns))
        warm.sort()
        p95 = warm[min(len(warm) - 1, round(0.95 * (len(warm) - 1)))]
        print(json.dumps({
            "vsix": str(args.vsix), "bytes": args.vsix.stat().st_size, "files": files, "python": version,
            "first_spawn_ms": round(cold * 1000), "spawns": len(warm),
            "median_ms": round(statistics.median(warm) * 1000), "p95_ms": round(p95 * 1000),
            "venv_median_ms": round(statistics.median(venv) * 1000),
        }, indent=1))


if __name__ == "__main__":
    sys.exit(main())
