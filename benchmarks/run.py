"""Benchmarks of the sidecar, as one command printing one table: each figure beside a floor measured
in the same run, the ratio where it means something, and the target it answers (issues 14 and 16).

Run from the repository root (2-3 minutes on 2 vCPUs; ``--quick``: every row at tiny sizes):

    .venv/bin/python -m benchmarks                       # every part, the full table
    .venv/bin/python -m benchmarks --quick               # a small run of every part (a smoke run)
    .venv/bin/python -m benchmarks --only request        # some parts only (see --help for the list)
    .venv/bin/python -m benchmarks --only startup --vsix dist/aliyun-sidecar-0.1.0.vsix
    .venv/bin/python -m benchmarks --imports             # also where the start-up time goes
    .venv/bin/python -m benchmarks --json results.json   # also keep the raw figures

(``python benchmarks/run.py`` works too.) Everything runs locally: the emulator of the sign-in service
on loopback, real ``python -m sidecar`` processes over stdio, temporary HOME folders. Nothing here
prints a token or an STS secret. The exit status is 1 if an invariant (a count, never a timing)
breaks. See benchmarks/README.md for what each figure and each floor means.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # ``python benchmarks/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

from benchmarks import flood, mcp, seed, vsix  # noqa: E402
from benchmarks.lsp import REPO, Client, RpcError, memory_kib  # noqa: E402
from benchmarks import sigkill  # noqa: E402
from benchmarks.sigkill import bench_sigkill, per_hundred  # noqa: E402
from sidecar.config import profiles as P  # noqa: E402
from sidecar.config.store import ConfigStore  # noqa: E402
from emulator import Emulator  # noqa: E402


# =================================================================================================
# sizes and parts
# =================================================================================================


@dataclass(frozen=True)
class Sizes:
    #: spawn → initialize: timed spawns of the dev install and of the floor, after one warm-up each.
    spawns: int = 15
    #: the same for the bundled layout (after its first spawn, which compiles the bundle's bytecode).
    bundled_spawns: int = 10
    sequential: int = 2000
    pipelined: int = 5000
    storm: int = 1000
    storm_rounds: int = 3
    sidecars: int = 8
    writers: int = 8
    cycles: int = 100
    writer_paces_ms: tuple[float, ...] = (20.0, 500.0)
    import_runs: int = 3
    list_calls: dict[int, int] = field(default_factory=lambda: {1: 200, 100: 100, 2000: 20})
    #: SIGKILLs of a process in the middle of forced refreshes, with and without the recovery record.
    sigkills: int = 100
    #: legitimate requests without and during the flood, and the flood's connections.
    flood_requests: int = 50
    flood_connections: int = 256
    #: tool calls through ``aliyun-sidecar mcp`` (and as many direct), and its timed starts.
    mcp_calls: int = 400
    mcp_starts: int = 5


FULL = Sizes()
QUICK = Sizes(
    spawns=2,
    bundled_spawns=1,
    sequential=100,
    pipelined=200,
    storm=100,
    storm_rounds=1,
    sidecars=2,
    writers=2,
    cycles=5,
    writer_paces_ms=(20.0,),
    import_runs=1,
    list_calls={1: 10, 100: 5, 2000: 2},
    sigkills=3,
    flood_requests=10,
    flood_connections=64,
    mcp_calls=16,
    mcp_starts=1,
)

#: The parts of the run, in the order they run; ``--only`` picks some. ``imports`` (where start-up time
#: goes) is not in the table and runs only with ``--imports`` or ``--only imports``.
PARTS = ("startup", "request", "stampede", "list", "multi", "sigkill", "flood", "mcp")
SINGLE_PARTS = {"request", "stampede", "list"}


# =================================================================================================
# small helpers
# =================================================================================================


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    if seconds != seconds:
        return "n/a"
    value = seconds * 1000
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms" if value >= 1 else f"{value:.2f} ms"


def log(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def stats_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    return {key: after[key] - before[key] for key in ("refreshes", "exchanges", "invalid_grant", "code_exchanges")}


def live_refresh_tokens(emu: Emulator, config: Path) -> set[str]:
    """Refresh tokens of the file's sign-in (token family) that the emulator would still accept.

    Reads the emulator's state directly: benchmark bookkeeping, not behaviour under test."""
    state = emu.state
    token = P.get_profile(seed.read_json(config), "dev").get("oauth_refresh_token")
    with state._lock:  # noqa: SLF001
        record = state._refresh.get(token)  # noqa: SLF001
        if record is None:
            return set()
        now = state.now()
        return {
            other
            for other, r in state._refresh.items()  # noqa: SLF001
            if r.family_id == record.family_id and not r.spent and not r.revoked and r.expires_at > now
        }


async def start_sidecar(home: Path, options: dict[str, Any]) -> Client:
    client = await Client.spawn(home)
    await client.initialize(options)
    return client


def summary_of(times: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(times), "p95": pct(times, 95), "n": len(times)}


# =================================================================================================
# 1. start-up: spawn → initialize, dev install and bundled layout, each beside the floor
# =================================================================================================


async def spawn_to_initialize(home: Path, module: str) -> tuple[float, float, Client]:
    """One spawn of ``python -m module`` from this checkout's venv: (→ initialize, → first
    listProfiles or, for the floor, a second request) and the client, still running."""
    config = home / ".aliyun" / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"current": "ak-1", "profiles": [seed.filler_profile(1)], "meta_path": ""}))
    client = await Client.spawn(home, module=module)
    _, init = client.send(
        "initialize",
        {"processId": os.getpid(), "rootUri": None, "capabilities": {},
         "initializationOptions": {"configPath": str(config), "keepFresh": False, "logLevel": "warning"}},
    )
    await client.drain()  # written at once, as an editor does
    await asyncio.wait_for(init, 30)
    t_init = time.perf_counter() - client.spawned_at
    client.notify("initialized", {})
    await client.request("aliyun/listProfiles", {})
    return t_init, time.perf_counter() - client.spawned_at, client


async def bench_startup(work: Path, sizes: Sizes, bundled_pythons: list[str], vsix_file: Path | None) -> dict[str, Any]:
    log(f"start-up: {sizes.spawns} spawns of the dev install and of the floor, interleaved (+1 warm-up each)")
    times: dict[str, list[float]] = {"init": [], "list": [], "floor": []}
    idle_rss: list[int] = []
    floor_rss: list[int] = []
    for index in range(sizes.spawns + 1):
        t_floor, _, floor = await spawn_to_initialize(work / f"floor{index}", "benchmarks.floor")
        t_init, t_list, client = await spawn_to_initialize(work / f"spawn{index}", "sidecar")
        if index > 0:  # the first spawn of each warms the page cache and bytecode
            times["floor"].append(t_floor)
            times["init"].append(t_init)
            times["list"].append(t_list)
        if index in (1, sizes.spawns):
            await asyncio.sleep(0.3)
            idle_rss.append(memory_kib(client.pid).get("VmRSS", 0))
            floor_rss.append(memory_kib(floor.pid).get("VmRSS", 0))
        await client.stop()
        await floor.stop()

    bare: list[float] = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t0)
    result: dict[str, Any] = {
        "initialize": summary_of(times["init"]),
        "first_list": summary_of(times["list"]),
        "floor": summary_of(times["floor"]),
        "bare_python": statistics.median(bare),
        "idle_rss_kib": max(idle_rss, default=0),
        "floor_rss_kib": max(floor_rss, default=0),
        "bundled": await asyncio.to_thread(bench_bundled, work / "bundled", sizes, bundled_pythons, vsix_file),
    }
    return result


def bench_bundled(work: Path, sizes: Sizes, pythons: list[str], vsix_file: Path | None) -> dict[str, Any]:
    """spawn → initialize of the sidecar in the VSIX layout (``bundled/libs``) under interpreters with
    nothing installed; the floor is the bare loop under the same interpreter, interleaved."""
    work.mkdir(parents=True)
    source = (f"{vsix_file.name}, unpacked" if vsix_file is not None
              else "bundled/libs assembled from this checkout (as scripts/package.sh lays it out)")
    runs: list[dict[str, Any]] = []
    for python in pythons:
        why = vsix.unusable(python)
        if why is not None:
            runs.append({"python": python, "skipped": why})
            continue
        # A fresh layout per interpreter: 3.11.2 and 3.11.7 share bytecode (cpython-311), so a second
        # 3.11 would find the first one's and its "first spawn" would not compile anything.
        into = work / f"layout-{len(runs)}"
        ext = vsix.layout_from_vsix(vsix_file, into) if vsix_file is not None else vsix.layout_from_checkout(into)
        libs = ext / "bundled" / "libs"
        log(f"start-up, bundled layout: {python}, first spawn + {sizes.bundled_spawns}, beside the floor")
        home = work / f"home-{len(runs)}"
        first = vsix.initialize_time(python, ext, home / "first", pythonpath=libs)
        warm: list[float] = []
        floor: list[float] = []
        vsix.initialize_time(python, REPO, home / "floor-warm", pythonpath=None, module="benchmarks.floor")
        for index in range(sizes.bundled_spawns):
            floor.append(vsix.initialize_time(python, REPO, home / f"floor{index}", pythonpath=None,
                                              module="benchmarks.floor"))
            warm.append(vsix.initialize_time(python, ext, home / f"warm{index}", pythonpath=libs))
        runs.append({"python": python, "version": vsix.python_version(python), "first": first,
                     "warm": summary_of(warm), "floor": summary_of(floor)})
    return {"source": source, "runs": runs}


# =================================================================================================
# 2. where start-up time goes (``--imports``)
# =================================================================================================


def parse_importtime(stderr: str) -> list[tuple[int, int, int, str]]:
    """``-X importtime`` lines → (depth, self µs, cumulative µs, module)."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = line[len("import time:"):].split("|", 2)
        depth = (len(name) - len(name.lstrip(" "))) // 2
        rows.append((depth, int(self_us), int(cumulative), name.strip()))
    return rows


async def bench_imports(work: Path, runs: int = 3) -> dict[str, Any]:
    log(f"start-up breakdown: {runs} x python -X importtime -m sidecar")
    samples: list[list[tuple[int, int, int, str]]] = []
    for index in range(runs):
        home = work / f"importtime{index}"
        config = home / ".aliyun" / "config.json"
        config.parent.mkdir(parents=True)
        client = await Client.spawn(home, python_args=("-X", "importtime"))
        await client.initialize({"configPath": str(config), "keepFresh": False, "logLevel": "warning"})
        await client.request("aliyun/listProfiles", {})
        await client.stop()
        samples.append(parse_importtime(client.stderr.decode("utf-8", "replace")))

    def median_of(extract: Callable[[list[tuple[int, int, int, str]]], dict[str, int]]) -> dict[str, float]:
        per_run = [extract(rows) for rows in samples]
        keys = set().union(*per_run)
        return {k: statistics.median(run.get(k, 0) for run in per_run) for k in keys}

    def packages(rows: list[tuple[int, int, int, str]]) -> dict[str, int]:
        found: collections.Counter[str] = collections.Counter()
        for _depth, self_us, _cum, name in rows:
            found[name.split(".")[0]] += self_us
        return dict(found)

    by_package = median_of(packages)
    by_module = median_of(lambda rows: {r[3]: r[1] for r in rows})
    top_level = median_of(lambda rows: {r[3]: r[2] for r in rows if r[0] == 0})
    total = statistics.median(sum(r[1] for r in rows) for rows in samples)
    # The lazily imported HTTP stack (first refresh or sign-in), measured on its own.
    probe = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import sidecar.rpc.server, httpx"],
        capture_output=True, text=True, cwd=str(REPO), env={**os.environ, "PYTHONPATH": str(REPO)}, check=True,
    )
    lazy = {name: cum for _d, _s, cum, name in parse_importtime(probe.stderr) if _d == 0}
    return {
        "probe_runs": runs * 3,
        "probes": import_probes(runs * 3),
        "modules": len(samples[-1]),
        "total_import_us": total,
        "by_package_us": sorted(by_package.items(), key=lambda kv: -kv[1])[:10],
        "top_level_cumulative_us": sorted(((v, k) for k, v in top_level.items()), reverse=True)[:8],
        "top_self_us": sorted(((v, k) for k, v in by_module.items()), reverse=True)[:10],
        "httpx_lazy_cumulative_us": lazy.get("httpx", 0),
    }


#: What each start-up ingredient costs on its own, timed inside a fresh interpreter (no -X importtime,
#: whose bookkeeping inflates the figures). The gc variant shows what the garbage collector's full
#: passes during the imports cost (lsprotocol creates ~1000 attrs classes).
PROBES = {
    "import asyncio, json (the floor's imports)": "import asyncio, json",
    "the sidecar without pygls (app, service, the edge's own modules)":
        "import sidecar.app, sidecar.service, sidecar.rpc.methods, sidecar.rpc.framing, sidecar.rpc.errors",
    "import lsprotocol.types": "import lsprotocol.types",
    "import pygls.lsp.server": "import pygls.lsp.server",
    "import sidecar.rpc.server": "import sidecar.rpc.server",
    "same, gc disabled while importing": "import gc; gc.disable(); import sidecar.rpc.server",
    "import httpx (lazy)": "import httpx",
}


def import_probes(runs: int) -> dict[str, float]:
    code = "import time; t = time.perf_counter(); {}; print(time.perf_counter() - t)"
    samples: dict[str, list[float]] = {name: [] for name in PROBES}
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(runs):  # interleaved, so that a burst of load elsewhere hits every probe alike
        for name, snippet in PROBES.items():
            out = subprocess.run([sys.executable, "-c", code.format(snippet)], capture_output=True, text=True,
                                 cwd=str(REPO), env=env, check=True).stdout
            samples[name].append(float(out.strip()))
    return {name: min(values) for name, values in samples.items()}


# =================================================================================================
# 3. one sidecar: the request path beside the floor, the expiry stampede, listing cost, memory
# =================================================================================================


async def sequential(client: Client, n: int) -> tuple[list[float], float]:
    """``n`` requests one at a time; the latencies and the elapsed time."""
    latencies = []
    t_start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        await client.request("aliyun/getCredentials", {})
        latencies.append(time.perf_counter() - t0)
    return latencies, time.perf_counter() - t_start


async def pipelined(client: Client, n: int) -> dict[str, float]:
    """``n`` requests written at once; the time until the last answer and the p99 arrival time."""
    client.track = True
    t0 = time.perf_counter()
    futures = [client.send("aliyun/getCredentials", {}) for _ in range(n)]
    await client.drain()
    await asyncio.wait_for(asyncio.gather(*(f for _, f in futures)), 120)
    elapsed = time.perf_counter() - t0
    lat = [client.arrivals[i] - t0 for i, _ in futures]
    client.arrivals.clear()
    client.track = False
    return {"rps": n / elapsed, "n": n, "p99": pct(lat, 99), "elapsed": elapsed}


async def measure_request_path(side: Client, floor: Client, sizes: Sizes) -> dict[str, Any]:
    """``getCredentials`` on the sidecar beside the floor (a bare asyncio JSON-RPC loop answering the
    same request from memory, ``benchmarks/floor.py``), in alternating blocks so that both see the
    same load on a shared machine."""
    for target in (side, floor):
        for _ in range(100):  # warm-up
            await target.request("aliyun/getCredentials", {})
    log(f"getCredentials: {sizes.sequential} sequential, beside the floor")
    lat: dict[str, list[float]] = {"side": [], "floor": []}
    elapsed = {"side": 0.0, "floor": 0.0}
    blocks = 8
    for _ in range(blocks):
        for key, target in (("floor", floor), ("side", side)):
            values, took = await sequential(target, sizes.sequential // blocks)
            lat[key] += values
            elapsed[key] += took

    def seq(key: str) -> dict[str, Any]:
        return {"median": statistics.median(lat[key]), "p99": pct(lat[key], 99),
                "rps": len(lat[key]) / elapsed[key], "n": len(lat[key])}

    log(f"getCredentials: {sizes.pipelined} pipelined, beside the floor (twice each, alternating; the better kept)")
    side_runs, floor_runs = [], []
    for _ in range(2):
        floor_runs.append(await pipelined(floor, sizes.pipelined))
        side_runs.append(await pipelined(side, sizes.pipelined))
    return {
        "sequential": seq("side"),
        "pipelined": min(side_runs, key=lambda r: r["elapsed"]),
        "floor": {"sequential": seq("floor"), "pipelined": min(floor_runs, key=lambda r: r["elapsed"])},
    }


async def stampede(client: Client, emu: Emulator, config: Path, sizes: Sizes) -> list[dict[str, Any]]:
    log(f"expiry stampede: {sizes.storm_rounds} x {sizes.storm} concurrent getCredentials")
    rounds = []
    client.track = True
    for _ in range(sizes.storm_rounds):
        seed.expire(config, "dev")
        before = emu.stats
        t0 = time.perf_counter()
        futures = [client.send("aliyun/getCredentials", {}) for _ in range(sizes.storm)]
        await client.drain()
        answers = await asyncio.wait_for(asyncio.gather(*(f for _, f in futures), return_exceptions=True), 120)
        lat = [client.arrivals[i] - t0 for i, _ in futures if i in client.arrivals]
        client.arrivals.clear()
        errors = [a for a in answers if isinstance(a, BaseException)]
        key_ids = {a["accessKeyId"] for a in answers if isinstance(a, dict)}
        rounds.append({
            "upstream": stats_delta(before, emu.stats),
            "errors": len(errors),
            "distinct_credentials": len(key_ids),
            "p99": pct(lat, 99),
            "max": max(lat) if lat else math.nan,
        })
        await asyncio.sleep(0.2)
    client.track = False
    return rounds


async def listing(client: Client, config: Path, sizes: Sizes) -> dict[int, dict[str, Any]]:
    log("listProfiles with " + " / ".join(str(n) for n in sizes.list_calls) + " profiles")
    found = {}
    for count, calls in sizes.list_calls.items():
        size = seed.write_profiles(config, count, keep="dev")
        await asyncio.sleep(0.7)  # the watcher's notification of the new file is out of the way
        for _ in range(3):
            await client.request("aliyun/listProfiles", {})
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            answer = await client.request("aliyun/listProfiles", {})
            times.append(time.perf_counter() - t0)
        assert len(answer["profiles"]) == count
        found[count] = {"median": statistics.median(times), "p95": pct(times, 95), "bytes": size}
    return found


async def bench_single(emu: Emulator, work: Path, sizes: Sizes, parts: set[str]) -> dict[str, Any]:
    """One sidecar with a signed-in profile (and the floor beside it): the parts of ``SINGLE_PARTS``
    that were asked for, plus its memory (idle, and peak after the load)."""
    home = work / "single"
    config = home / ".aliyun" / "config.json"
    await seed.sign_in(emu, config, "dev")
    client = await start_sidecar(
        home, {"configPath": str(config), "endpoints": seed.emulator_endpoints(emu), "keepFresh": False,
               "logLevel": "warning", "callbackPorts": [29000, 29004]},
    )
    floor = await Client.spawn(home, module="benchmarks.floor")
    result: dict[str, Any] = {}
    try:
        await floor.initialize({})
        await client.request("aliyun/listProfiles", {})
        await client.request("aliyun/getCredentials", {})
        await floor.request("aliyun/getCredentials", {})
        await asyncio.sleep(0.6)  # let the watcher's first look pass
        result["idle_rss_kib"] = memory_kib(client.pid).get("VmRSS", 0)
        result["floor_rss_kib"] = memory_kib(floor.pid).get("VmRSS", 0)
        if "request" in parts:
            before = emu.stats
            result.update(await measure_request_path(client, floor, sizes))
            result["sequential"]["upstream"] = stats_delta(before, emu.stats)
        if "stampede" in parts:
            result["storm"] = await stampede(client, emu, config, sizes)
        if "list" in parts:
            result["list"] = await listing(client, config, sizes)
        result["peak_rss_kib"] = memory_kib(client.pid).get("VmHWM", 0)
    finally:
        await floor.stop()
        await client.stop()
    return result


# =================================================================================================
# 4. many processes on one config file
# =================================================================================================


@dataclass
class CycleLog:
    refreshes: list[int] = field(default_factory=list)
    exchanges: list[int] = field(default_factory=list)
    invalid_grant: int = 0
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    token_clobbers: int = 0
    durations: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "cycles": len(self.refreshes),
            "refreshes_per_cycle": dict(sorted(collections.Counter(self.refreshes).items())),
            "exchanges_per_cycle": dict(sorted(collections.Counter(self.exchanges).items())),
            "invalid_grant": self.invalid_grant,
            "errors": dict(self.errors),
            "token_clobbers": self.token_clobbers,
            "cycle_p50": statistics.median(self.durations) if self.durations else math.nan,
            "cycle_p99": pct(self.durations, 99),
        }


async def run_cycles(emu: Emulator, clients: list[Client], config: Path, cycles: int) -> CycleLog:
    """Each cycle: our side moves both token layers into the past (as time would), then every sidecar
    asks for credentials at the same moment. One refresh and one exchange per cycle is the target."""
    store = ConfigStore(config)
    logbook = CycleLog()
    for _ in range(cycles):
        live = live_refresh_tokens(emu, config)
        clobbered = False

        def expire(doc: dict[str, Any]) -> None:
            nonlocal clobbered
            profile = P.get_profile(doc, "dev")
            if profile.get("oauth_refresh_token") not in live and live:
                # An unlocked writer put back a file from before our last rotation: the newest refresh
                # token is gone from the file. Count it and put the live one back so the run goes on.
                clobbered = True
                profile["oauth_refresh_token"] = next(iter(live))
            past = int(time.time()) - 10
            profile["sts_expiration"] = past
            profile["oauth_access_token_expire"] = past

        before = emu.stats
        await asyncio.to_thread(store.update, expire)
        logbook.token_clobbers += clobbered
        t0 = time.perf_counter()
        answers = await asyncio.gather(
            *(c.request("aliyun/getCredentials", {"profile": "dev"}, timeout=60) for c in clients),
            return_exceptions=True,
        )
        logbook.durations.append(time.perf_counter() - t0)
        delta = stats_delta(before, emu.stats)
        logbook.refreshes.append(delta["refreshes"])
        logbook.exchanges.append(delta["exchanges"])
        logbook.invalid_grant += delta["invalid_grant"]
        for answer in answers:
            if isinstance(answer, RpcError):
                logbook.errors[answer.kind or str(answer.code)] += 1
            elif isinstance(answer, BaseException):
                logbook.errors[type(answer).__name__] += 1
    return logbook


async def bench_multiprocess(emu: Emulator, work: Path, sizes: Sizes) -> dict[str, Any]:
    home = work / "multi"
    config = home / ".aliyun" / "config.json"
    await seed.sign_in(emu, config, "dev")

    def add_cli_profiles(doc: dict[str, Any]) -> None:
        for k in range(sizes.writers):
            P.profiles_of(doc).append({"name": f"cli-{k}", "mode": "AK", "access_key_id": f"LTAIcli{k}",
                                       "access_key_secret": "cli-writer-not-a-secret", "region_id": "cn-hangzhou",
                                       "output_format": "json", "language": "en", "bench_seq": 0})

    ConfigStore(config).update(add_cli_profiles)
    log(f"many processes: starting {sizes.sidecars} sidecars")
    options = {"configPath": str(config), "endpoints": seed.emulator_endpoints(emu), "keepFresh": True,
               "logLevel": "warning", "callbackPorts": [29010, 29014]}
    clients = list(await asyncio.gather(*(start_sidecar(home, options) for _ in range(sizes.sidecars))))
    result: dict[str, Any] = {"sidecars": sizes.sidecars, "writers": sizes.writers}
    writers: list[subprocess.Popen[str]] = []
    try:
        for c in clients:
            await c.request("aliyun/listProfiles", {})
        log(f"many processes: {sizes.cycles} expiry cycles, sidecars only")
        result["alone"] = (await run_cycles(emu, clients, config, sizes.cycles)).summary()

        result["with_writers"] = []
        for pace in sizes.writer_paces_ms:
            log(f"many processes: {sizes.cycles} expiry cycles with {sizes.writers} CLI-style writers, "
                f"one edit per {pace:.0f} ms each on average")
            stop_file = work / f"multi-stop-{pace:.0f}"
            summary = await with_cli_writers(emu, clients, config, sizes, pace, work, stop_file, writers)
            summary["pace_ms"] = pace
            result["with_writers"].append(summary)
        result["peak_rss_kib"] = max(memory_kib(c.pid).get("VmHWM", 0) for c in clients)
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
        codes = await asyncio.gather(*(c.stop() for c in clients))
        result["exit_codes"] = sorted(set(codes))
    return result


async def with_cli_writers(
    emu: Emulator, clients: list[Client], config: Path, sizes: Sizes, pace: float, work: Path, stop_file: Path,
    writers: list[subprocess.Popen[str]],
) -> dict[str, Any]:
    """The expiry cycles again, while CLI-style writers rewrite the file without our lock."""
    # Repair what an earlier run may have left: the newest refresh token in the file, no dead marks.
    live = live_refresh_tokens(emu, config)
    if live:
        token = next(iter(live))
        ConfigStore(config).update(lambda doc: P.get_profile(doc, "dev").update(oauth_refresh_token=token))
    started = [
        subprocess.Popen(
            [sys.executable, str(REPO / "benchmarks" / "cli_writer.py"), "--config", str(config), "--index", str(k),
             "--stop-file", str(stop_file), "--cli-lock", str(work / "cli.lock"), "--interval-ms", str(pace)],
            stdout=subprocess.PIPE, text=True,
        )
        for k in range(sizes.writers)
    ]
    writers.extend(started)
    await asyncio.sleep(0.3)
    logbook = await run_cycles(emu, clients, config, sizes.cycles)
    stop_file.touch()
    reports = []
    for w in started:
        out, _ = await asyncio.to_thread(w.communicate, timeout=30)
        reports.append(json.loads(out.strip().splitlines()[-1]))
    final = seed.read_json(config)
    final_lost = 0
    for report in reports:
        profile = P.find_profile(final, f"cli-{report['index']}") or {}
        final_lost += int(profile.get("bench_seq", 0)) < report["seq"]
    summary = logbook.summary()
    summary.update({
        "cli_writes": sum(r["writes"] for r in reports),
        "cli_lost": sum(r["lost"] for r in reports) + final_lost,
        "cli_unreadable": sum(r["unreadable"] for r in reports),
    })
    # Our side's writes: one expiry write per cycle (the benchmark's, through the same ConfigStore) plus
    # the sidecars' token and STS writes (one per refresh and one per exchange).
    summary["locked_writes"] = sizes.cycles + sum(k * v for k, v in summary["refreshes_per_cycle"].items()) + sum(
        k * v for k, v in summary["exchanges_per_cycle"].items()
    )
    return summary


# =================================================================================================
# the table
# =================================================================================================


def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return (f"{os.cpu_count()} vCPU ({cpu}), {mem} RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


@dataclass
class Row:
    measurement: str
    result: str
    floor: str = "—"
    ratio: str = "—"
    target: str = "—"
    notes: str = ""


#: The first words of every row of the full table, in order (the smoke test checks each is printed).
ROW_LABELS = (
    "spawn → `initialize`, dev install",
    "spawn → first `aliyun/listProfiles`, dev install",
    "spawn → `initialize`, bundled VSIX layout",
    "`getCredentials`, fresh cached STS, one at a time",
    "`getCredentials`, fresh cached STS, pipelined",
    "`getCredentials` stampede at STS expiry",
    "sidecar processes on one file",
    "… plus CLI-style writers",
    "`listProfiles`",
    "sidecar memory",
    "sign-outs per 100 kills of the process tree during refresh",
    "legitimate requests served during a connection flood",
    "MCP tool call round trip through `aliyun-sidecar mcp`",
    "MCP spawn → first `tools/list`",
)

#: The start-up goal (spawn → initialize answered).
STARTUP_GOAL = 0.250


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def times(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "n/a"


def not_run(label: str, why: str = "not run (see --only)") -> Row:
    return Row(label, why)


def startup_rows(s: dict[str, Any] | None) -> list[Row]:
    if s is None:
        return [not_run(ROW_LABELS[0]), not_run(ROW_LABELS[1]), not_run(ROW_LABELS[2])]
    init, first, floor = s["initialize"], s["first_list"], s["floor"]
    rows = [
        Row(ROW_LABELS[0], f"median {ms(init['median'])}, p95 {ms(init['p95'])}",
            f"{ms(floor['median'])} (bare loop)", times(init["median"], floor["median"]),
            f"< {ms(STARTUP_GOAL)}: {verdict(init['median'] < STARTUP_GOAL)}",
            f"timed spawns: {init['n']} of `.venv/bin/python -m sidecar`, interleaved with as many of the floor "
            f"(`python -m benchmarks.floor`, same interpreter); bare `python -c pass`: {ms(s['bare_python'])}"),
        Row(ROW_LABELS[1], f"median {ms(first['median'])}, p95 {ms(first['p95'])}", notes="sent right after `initialized`"),
    ]
    bundled = s["bundled"]
    for run in bundled["runs"]:
        if "skipped" in run:
            rows.append(Row(f"{ROW_LABELS[2]} ({run['python']})", f"not measured: {run['skipped']}"))
            continue
        warm, fl = run["warm"], run["floor"]
        rows.append(Row(
            f"{ROW_LABELS[2]} ({run['version']}, nothing installed)",
            f"median {ms(warm['median'])}, p95 {ms(warm['p95'])}; first spawn {ms(run['first'])}",
            f"{ms(fl['median'])} (bare loop, same interpreter)", times(warm["median"], fl["median"]),
            f"< {ms(STARTUP_GOAL)}: {verdict(warm['median'] < STARTUP_GOAL)}",
            f"`{run['python']} -m sidecar`, `PYTHONPATH=bundled/libs`, cwd the extension folder; {bundled['source']}; "
            f"timed spawns: {warm['n']}, after the first, which compiles the bundle's bytecode",
        ))
    return rows


def request_rows(one: dict[str, Any] | None) -> list[Row]:
    if one is None or "sequential" not in one:
        return [not_run(ROW_LABELS[3]), not_run(ROW_LABELS[4])]
    seq, pipe = one["sequential"], one["pipelined"]
    fseq, fpipe = one["floor"]["sequential"], one["floor"]["pipelined"]
    ratio = seq["median"] / fseq["median"]
    upstream = seq["upstream"]["exchanges"] + seq["upstream"]["refreshes"]
    return [
        Row(ROW_LABELS[3], f"p50 {ms(seq['median'])}, p99 {ms(seq['p99'])}; {seq['rps']:.0f} req/s",
            f"p50 {ms(fseq['median'])}, p99 {ms(fseq['p99'])}",
            f"p50 {ratio:.1f}×, p99 {times(seq['p99'], fseq['p99'])}",
            f"p50 ≤ 4× floor: {verdict(ratio <= 4)}; p99 < 2 ms: {verdict(seq['p99'] < 0.002)}",
            f"n={seq['n']}, alternating blocks of {seq['n'] // 8} with the floor; upstream calls: {upstream}"),
        Row(f"{ROW_LABELS[4]} ({pipe['n']})", f"{ms(pipe['elapsed'])} to the last answer; {pipe['rps']:.0f} req/s",
            ms(fpipe["elapsed"]), times(pipe["elapsed"], fpipe["elapsed"]),
            f"< 2 s: {verdict(pipe['elapsed'] < 2.0)}" if pipe["n"] == 5000 else "(5000 in the full run)",
            f"all written at once on one connection; better of two runs each, alternating with the floor"),
    ]


def fmt_dist(dist: dict[int, int]) -> str:
    return ", ".join(f"{k}×{v}" if len(dist) > 1 else f"{k} (all {v})" for k, v in dist.items())


def fmt_errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in errors.items()) if errors else "0"


def stampede_row(one: dict[str, Any] | None, storm_size: int) -> Row:
    if one is None or "storm" not in one:
        return not_run(ROW_LABELS[5])
    storm = one["storm"]
    exchanges = [x["upstream"]["exchanges"] for x in storm]
    return Row(f"{ROW_LABELS[5]} ({len(storm)}× {storm_size} concurrent)",
               f"upstream exchanges per round: {', '.join(map(str, exchanges))}; p99 {ms(max(x['p99'] for x in storm))}",
               "1 exchange (the least possible)", "—",
               f"1 per expiry: {verdict(set(exchanges) == {1})}",
               f"errors {sum(x['errors'] for x in storm)}; distinct credentials handed out per round: "
               f"{', '.join(str(x['distinct_credentials']) for x in storm)}")


def multi_rows(m: dict[str, Any] | None) -> list[Row]:
    if m is None:
        return [not_run(ROW_LABELS[6]), not_run(ROW_LABELS[7])]
    alone = m["alone"]
    ok = set(alone["refreshes_per_cycle"]) == {1} and set(alone["exchanges_per_cycle"]) == {1} and not alone["invalid_grant"]
    rows = [Row(f"{ROW_LABELS[6]} ({m['sidecars']}), {alone['cycles']} expiry cycles",
                f"refreshes per cycle {fmt_dist(alone['refreshes_per_cycle'])}; "
                f"exchanges per cycle {fmt_dist(alone['exchanges_per_cycle'])}; invalid_grant {alone['invalid_grant']}",
                "1 refresh, 1 exchange per cycle", "—",
                f"1 and 1, no invalid_grant: {verdict(ok)}",
                f"`keepFresh` on, as {m['sidecars']} windows; error answers {sum(alone['errors'].values())}; "
                f"cycle p50 {ms(alone['cycle_p50'])}, p99 {ms(alone['cycle_p99'])}")]
    for ww in m["with_writers"]:
        rate = 1000 / ww["pace_ms"] * m["writers"]
        rows.append(Row(
            f"{ROW_LABELS[7]} ({m['writers']}, no lock, {rate:.0f} edits/s in all), {ww['cycles']} cycles",
            f"refreshes per cycle {fmt_dist(ww['refreshes_per_cycle'])}; invalid_grant {ww['invalid_grant']}; "
            f"lost CLI edits {ww['cli_lost']} of {ww['cli_writes']}",
            "the row above (no writers)", "—", "measured, not a target (the CLI takes no lock)",
            f"our token writes undone by a CLI writer: {ww['token_clobbers']}; error answers {fmt_errors(ww['errors'])}; "
            f"our locked writes {ww['locked_writes']}; exchanges per cycle {fmt_dist(ww['exchanges_per_cycle'])}"))
    return rows


def list_row(one: dict[str, Any] | None) -> Row:
    if one is None or "list" not in one:
        return not_run(ROW_LABELS[8])
    lst = one["list"]
    counts = list(lst)
    per_profile = (lst[counts[-1]]["median"] - lst[counts[0]]["median"]) / max(1, counts[-1] - counts[0])
    return Row(f"{ROW_LABELS[8]}, " + " / ".join(map(str, counts)) + " profiles",
               " / ".join(ms(v["median"]) for v in lst.values()), notes=(
                   f"median; ≈{per_profile * 1e6:.0f} µs per extra profile (the file is read and parsed on every "
                   "call); file " + " / ".join(f"{v['bytes'] / 1024:.0f} KiB" for v in lst.values())))


def memory_row(r: dict[str, Any]) -> Row:
    one, s, m = r.get("single"), r.get("startup"), r.get("multi")
    if one is None:
        return not_run(ROW_LABELS[9])
    notes = [f"idle = `VmRSS` of a sidecar with a signed-in profile after `initialize`, `listProfiles`, "
             "`getCredentials`; floor = the bare loop's, same run"]
    if s is not None:
        notes.append(f"idle in the start-up spawns (one AK profile): {s['idle_rss_kib'] / 1024:.0f} MiB")
    if m is not None:
        notes.append(f"max peak of the {m['sidecars']} sidecars of the multi-process run: {m['peak_rss_kib'] / 1024:.0f} MiB")
    return Row(ROW_LABELS[9],
               f"idle {one['idle_rss_kib'] / 1024:.0f} MiB RSS; peak {one['peak_rss_kib'] / 1024:.0f} MiB after the load above",
               f"{one['floor_rss_kib'] / 1024:.0f} MiB", times(one["idle_rss_kib"], one["floor_rss_kib"]),
               notes="; ".join(notes))


def sigkill_row(kill: dict[str, Any] | None) -> Row:
    if kill is None:
        return not_run(ROW_LABELS[10])
    mine, before, cost = kill["courier"], kill["in_process"], kill["cost"]
    mine_100, before_100 = per_hundred(mine), per_hundred(before)
    met = mine_100 <= 1 and mine["in_window_signouts"] == 0
    return Row(ROW_LABELS[10],
               f"{mine_100:.0f} with the refresh courier ({mine['signouts']} of {mine['kills']}); inside the in-flight "
               f"window {mine['in_window_signouts']} of {mine['in_window']}",
               f"{before_100:.0f} in-process with the recovery record ({before['signouts']} of {before['kills']}); inside "
               f"the window {before['in_window_signouts']} of {before['in_window']} (the before)",
               times(mine_100, before_100) if before_100 else "—",
               f"≤ 1 per 100 and 0 inside the window: {verdict(met)}",
               f"each kill of the process tree (group + descendants) at a random moment (10-800 ms) of a forced-renewal "
               f"loop, or (half of them) the moment a refresh reached the service; the service answering token calls "
               f"after {sigkill.SERVICE_LATENCY * 1000:.0f} ms; renewals that reached "
               f"the service {mine['renewals']} / {before['renewals']}; file {mine['file_kib']} KiB; the courier's cost: "
               f"{cost['courier']['spawns_per_refresh']:.0f} processes per refresh, {ms(cost['courier']['seconds'])} per "
               f"refresh against {ms(cost['in_process']['seconds'])} in-process")


def flood_row(result: dict[str, Any] | None) -> Row:
    if result is None:
        return not_run(ROW_LABELS[11])
    floor, during = result["floor"], result["during"]
    attacker = result.get("attacker", {})
    return Row(f"{ROW_LABELS[11]} ({result['connections']} half-sent requests, re-opened when dropped)",
               f"{during['served']} of {during['requests']}, p50 {ms(during['p50'])}",
               f"{floor['served']} of {floor['requests']} without the flood, p50 {ms(floor['p50'])}",
               f"{100 * during['served'] / max(1, floor['served']):.0f}% served",
               f"all served: {verdict(during['served'] == during['requests'])}",
               f"credentials endpoint of a real sidecar, one fresh connection per request, {flood.CLIENT_TIMEOUT:g} s "
               f"timeout; answers during the flood {during['statuses']}; the attacker opened "
               f"{attacker.get('opened', '?')} connections")


def mcp_rows(result: dict[str, Any] | None) -> list[Row]:
    if result is None:
        return [not_run(ROW_LABELS[12]), not_run(ROW_LABELS[13])]
    through, floor, first, first_floor = result["through"], result["floor"], result["first"], result["first_floor"]
    return [
        Row(f"{ROW_LABELS[12]} ({len(through)} calls)", f"p50 {ms(pct(through, 50))}, p99 {ms(pct(through, 99))}",
            f"direct on an open session: p50 {ms(pct(floor, 50))}, p99 {ms(pct(floor, 99))}",
            times(pct(through, 50), pct(floor, 50)), "measured",
            "a read tool call (CallCLI GetCallerIdentity) from a stdio client through the proxy process to the emulator's "
            "MCP server, in blocks alternating with the same call made directly; the difference is the stdio hop, the "
            "profile lookup and the cached token"),
        Row(f"{ROW_LABELS[13]} ({len(first)} starts)", f"median {ms(pct(first, 50))}",
            f"a direct client in process (token, initialize, tools/list): median {ms(pct(first_floor, 50))}",
            times(pct(first, 50), pct(first_floor, 50)), "measured",
            "spawn of python -m sidecar mcp, initialize, tools/list: the first STS read, GenerateAccessToken, the "
            "read-only policy, Core discovery and the upstream initialize included"),
    ]


def render(r: dict[str, Any]) -> str:
    one = r.get("single")
    rows = [
        *startup_rows(r.get("startup")),
        *request_rows(one),
        stampede_row(one, r["sizes"]["storm"]),
        *multi_rows(r.get("multi")),
        list_row(one),
        memory_row(r),
        sigkill_row(r.get("sigkill")),
        flood_row(r.get("flood")),
        *mcp_rows(r.get("mcp")),
    ]
    out = ["| measurement | result | floor, same run | ratio | target | notes |", "| --- | --- | --- | --- | --- | --- |"]
    out += [f"| {x.measurement} | {x.result} | {x.floor} | {x.ratio} | {x.target} | {x.notes} |" for x in rows]
    return "\n".join(out)


def render_imports(imp: dict[str, Any]) -> str:
    total = imp["total_import_us"]
    lines = [
        f"Where start-up time goes (`python -X importtime -m sidecar`, {imp['modules']} modules imported, "
        f"{total / 1000:.0f} ms of imports, self time summed per top-level package):",
        "",
        "| imported at start-up | self time | share of import time |",
        "| --- | --- | --- |",
    ]
    for name, us in imp["by_package_us"][:8]:
        lines.append(f"| `{name}` | {us / 1000:.0f} ms | {100 * us / total:.0f}% |")
    lines += ["", "Heaviest single modules (self time): " + ", ".join(
        f"`{name}` {us / 1000:.0f} ms" for us, name in imp["top_self_us"][:6])]
    lines.append("Top-level imports (cumulative): " + ", ".join(
        f"`{name}` {us / 1000:.0f} ms" for us, name in imp["top_level_cumulative_us"][:5]))
    lines.append(f"Imported later, on the first refresh or sign-in: `httpx` {imp['httpx_lazy_cumulative_us'] / 1000:.0f} ms "
                 "(cumulative, on top of what is already loaded).")
    lines += ["", f"Each ingredient alone (wall time of the import inside a fresh interpreter, fastest of "
                  f"{imp['probe_runs']} runs: the least disturbed by other load):", ""]
    lines += ["| import | time |", "| --- | --- |"]
    lines += [f"| `{name}` | {ms(value)} |" for name, value in imp["probes"].items()]
    return "\n".join(lines)


# =================================================================================================
# main
# =================================================================================================


async def run(
    sizes: Sizes, work: Path, parts: set[str] | None = None, *, bundled_pythons: list[str] | None = None,
    vsix_file: Path | None = None,
) -> dict[str, Any]:
    """The parts asked for (all of ``PARTS`` by default; add ``"imports"`` for the start-up breakdown)."""
    parts = set(PARTS) if parts is None else parts
    results: dict[str, Any] = {"machine": machine(), "load_at_start": load_average(), "sizes": {"storm": sizes.storm}}
    if "startup" in parts:
        results["startup"] = await bench_startup(work, sizes, bundled_pythons or [vsix.DEFAULT_PYTHON], vsix_file)
    if "imports" in parts:
        results["imports"] = await bench_imports(work, sizes.import_runs)
    if parts & (SINGLE_PARTS | {"multi", "sigkill", "flood", "mcp"}):
        with Emulator(host="127.0.0.1", port=0, auto_approve=True) as emu:
            if parts & SINGLE_PARTS:
                results["single"] = await bench_single(emu, work, sizes, parts)
            if "multi" in parts:
                results["multi"] = await bench_multiprocess(emu, work, sizes)
            if "sigkill" in parts:
                log(f"tree kills during refresh: {sizes.sigkills} in-process, {sizes.sigkills} with the refresh courier")
                results["sigkill"] = await bench_sigkill(emu, work, sizes.sigkills)
            if "flood" in parts:
                log(f"connection flood: {sizes.flood_requests} requests without, then during, a flood")
                results["flood"] = await flood.bench_flood(emu, work, requests=sizes.flood_requests,
                                                           connections=sizes.flood_connections)
            if "mcp" in parts:
                log(f"MCP: {sizes.mcp_starts} starts to the first tool list, {sizes.mcp_calls} tool calls through the proxy and direct")
                results["mcp"] = await mcp.bench_mcp(emu, work, calls=sizes.mcp_calls, starts=sizes.mcp_starts)
    results["load_at_end"] = load_average()
    return results


def invariants(results: dict[str, Any]) -> list[str]:
    """What must hold whatever the timings (counts only); an empty list when all do."""
    broken = []
    for index, rnd in enumerate(results.get("single", {}).get("storm", [])):
        if rnd["upstream"]["exchanges"] != 1 or rnd["upstream"]["refreshes"] != 0:
            broken.append(f"stampede round {index}: {rnd['upstream']}")
        if rnd["errors"] or rnd["distinct_credentials"] != 1:
            broken.append(f"stampede round {index}: {rnd['errors']} errors, {rnd['distinct_credentials']} credentials")
    if "multi" in results:
        alone = results["multi"]["alone"]
        if set(alone["refreshes_per_cycle"]) != {1} or set(alone["exchanges_per_cycle"]) != {1}:
            broken.append(f"sidecars alone: refreshes {alone['refreshes_per_cycle']}, exchanges {alone['exchanges_per_cycle']}")
        if alone["invalid_grant"] or alone["errors"] or alone["token_clobbers"]:
            broken.append(f"sidecars alone: invalid_grant {alone['invalid_grant']}, errors {alone['errors']}")
        for ww in results["multi"]["with_writers"]:
            if any(k > 1 for k in ww["refreshes_per_cycle"]):
                broken.append(f"with writers: a cycle refreshed more than once {ww['refreshes_per_cycle']}")
        if results["multi"]["exit_codes"] != [0]:
            broken.append(f"sidecar exit codes {results['multi']['exit_codes']}")
    return broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke run of every part")
    parser.add_argument("--only", metavar="PART[,PART]",
                        help=f"run only these parts: {', '.join(PARTS)}, imports (default: all but imports)")
    parser.add_argument("--imports", action="store_true", help="also where the start-up time goes (-X importtime)")
    parser.add_argument("--vsix", type=Path, metavar="FILE",
                        help="time the bundled layout of this VSIX (default: bundled/libs assembled from this checkout)")
    parser.add_argument("--bundled-python", action="append", metavar="PYTHON",
                        help=f"an interpreter with nothing installed for the bundled layout (repeatable; default "
                             f"{vsix.DEFAULT_PYTHON})")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    parts = set(PARTS) if args.only is None else {p.strip() for p in args.only.split(",") if p.strip()}
    unknown = parts - set(PARTS) - {"imports"}
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; known: {', '.join(PARTS)}, imports")
    if args.imports:
        parts.add("imports")
    work = Path(tempfile.mkdtemp(prefix="aliyun-sidecar-bench-"))
    started = time.perf_counter()
    try:
        results = asyncio.run(run(sizes, work, parts, bundled_pythons=args.bundled_python, vsix_file=args.vsix))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["wall_seconds"] = time.perf_counter() - started
    print(f"Machine: {results['machine']}. Run: {'--quick' if args.quick else 'full'}"
          f"{'' if args.only is None else ' --only ' + args.only}, {results['wall_seconds']:.0f} s; "
          f"load average (1, 5, 15 min) at start {results['load_at_start']}, at end {results['load_at_end']}.\n")
    if parts - {"imports"}:
        print(render(results))
    if "imports" in results:
        print()
        print(render_imports(results["imports"]))
    broken = invariants(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    if broken:
        print("\nINVARIANTS BROKEN:\n  " + "\n  ".join(broken))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
