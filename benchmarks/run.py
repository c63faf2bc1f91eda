"""Benchmarks of the sidecar: start-up, credential latency and throughput, the expiry stampede, many
processes on one config file (with CLI-style writers that take no lock), listing cost, memory, and
where start-up time goes.

Run (from the repository root; about 1-2 minutes on 2 vCPUs):

    .venv/bin/python -m benchmarks            # the full run, prints the results table
    .venv/bin/python -m benchmarks --quick    # a small smoke run (seconds)
    .venv/bin/python -m benchmarks --json results.json

(``python benchmarks/run.py`` works too.) Everything runs locally: the emulator of the sign-in service
on loopback, real ``python -m sidecar`` processes over stdio, temporary HOME folders. Nothing here
prints a token or an STS secret. See benchmarks/README.md for what each figure means.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # ``python benchmarks/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"

from benchmarks import seed  # noqa: E402
from benchmarks.lsp import REPO, Client, RpcError, memory_kib  # noqa: E402
from benchmarks.sigkill import bench_sigkill, per_hundred  # noqa: E402
from sidecar.config import profiles as P  # noqa: E402
from sidecar.config.store import ConfigStore  # noqa: E402
from emulator import Emulator  # noqa: E402


# =================================================================================================
# sizes
# =================================================================================================


@dataclass(frozen=True)
class Sizes:
    spawns: int = 15
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


FULL = Sizes()
QUICK = Sizes(
    spawns=2,
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
)


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


# =================================================================================================
# 1. start-up
# =================================================================================================


async def bench_startup(work: Path, sizes: Sizes) -> dict[str, Any]:
    log(f"start-up: {sizes.spawns} spawns (+1 warm-up)")
    init_times: list[float] = []
    list_times: list[float] = []
    idle_rss: list[int] = []
    for index in range(sizes.spawns + 1):
        home = work / f"spawn{index}"
        config = home / ".aliyun" / "config.json"
        config.parent.mkdir(parents=True)
        config.write_text(json.dumps({"current": "ak-1", "profiles": [seed.filler_profile(1)], "meta_path": ""}))
        client = await Client.spawn(home)
        _, init = client.send(
            "initialize",
            {"processId": os.getpid(), "rootUri": None, "capabilities": {},
             "initializationOptions": {"configPath": str(config), "keepFresh": False, "logLevel": "warning"}},
        )
        await client.drain()
        await asyncio.wait_for(init, 30)
        t_init = time.perf_counter() - client.spawned_at
        client.notify("initialized", {})
        await client.request("aliyun/listProfiles", {})
        t_list = time.perf_counter() - client.spawned_at
        if index > 0:  # the first spawn warms the page cache and bytecode
            init_times.append(t_init)
            list_times.append(t_list)
        if index in (1, sizes.spawns):
            await asyncio.sleep(0.3)
            idle_rss.append(memory_kib(client.pid).get("VmRSS", 0))
        await client.stop()

    bare: list[float] = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t0)
    return {
        "initialize": {"median": statistics.median(init_times), "p95": pct(init_times, 95), "n": len(init_times)},
        "first_list": {"median": statistics.median(list_times), "p95": pct(list_times, 95), "n": len(list_times)},
        "bare_python": statistics.median(bare),
        "idle_rss_kib": max(idle_rss) if idle_rss else 0,
    }


# =================================================================================================
# 2. where start-up time goes
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
    init_times = []
    for index in range(runs):
        home = work / f"importtime{index}"
        config = home / ".aliyun" / "config.json"
        config.parent.mkdir(parents=True)
        client = await Client.spawn(home, python_args=("-X", "importtime"))
        await client.initialize({"configPath": str(config), "keepFresh": False, "logLevel": "warning"})
        init_times.append(time.perf_counter() - client.spawned_at)
        await client.request("aliyun/listProfiles", {})
        await client.stop()
        samples.append(parse_importtime(client.stderr.decode("utf-8", "replace")))

    def median_of(extract: Any) -> dict[str, float]:
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
    rows = samples[-1]
    # The lazily imported HTTP stack (first refresh or sign-in), measured on its own.
    probe = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import sidecar.rpc.server, httpx"],
        capture_output=True, text=True, cwd=str(REPO), env={**os.environ, "PYTHONPATH": str(REPO)}, check=True,
    )
    lazy = {name: cum for _d, _s, cum, name in parse_importtime(probe.stderr) if _d == 0}
    return {
        "probes": import_probes(runs * 3),
        "modules": len(rows),
        "total_import_us": total,
        "initialize_with_importtime": statistics.median(init_times),
        "by_package_us": sorted(by_package.items(), key=lambda kv: -kv[1])[:10],
        "top_level_cumulative_us": sorted(((v, k) for k, v in top_level.items()), reverse=True)[:8],
        "top_self_us": sorted(((v, k) for k, v in by_module.items()), reverse=True)[:10],
        "httpx_lazy_cumulative_us": lazy.get("httpx", 0),
    }


#: What each start-up ingredient costs on its own, timed inside a fresh interpreter (no -X importtime,
#: whose bookkeeping inflates the figures). The gc variant shows what the garbage collector's full
#: passes during the imports cost (lsprotocol creates ~1000 attrs classes).
PROBES = {
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
# 3. one sidecar: credential latency, throughput, the expiry stampede, listing cost, memory
# =================================================================================================


async def bench_single(emu: Emulator, work: Path, sizes: Sizes) -> dict[str, Any]:
    home = work / "single"
    config = home / ".aliyun" / "config.json"
    await seed.sign_in(emu, config, "dev")
    client = await start_sidecar(
        home, {"configPath": str(config), "endpoints": seed.emulator_endpoints(emu), "keepFresh": False,
               "logLevel": "warning", "callbackPorts": [29000, 29004]},
    )
    result: dict[str, Any] = {}
    try:
        await client.request("aliyun/listProfiles", {})
        await asyncio.sleep(0.6)  # let the watcher's first look pass
        result["idle_rss_kib"] = memory_kib(client.pid).get("VmRSS", 0)

        log(f"getCredentials: {sizes.sequential} sequential")
        for _ in range(100):
            await client.request("aliyun/getCredentials", {})
        before = emu.stats
        latencies = []
        t_start = time.perf_counter()
        for _ in range(sizes.sequential):
            t0 = time.perf_counter()
            await client.request("aliyun/getCredentials", {})
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - t_start
        result["sequential"] = {
            "median": statistics.median(latencies),
            "p99": pct(latencies, 99),
            "rps": sizes.sequential / elapsed,
            "n": sizes.sequential,
            "upstream": stats_delta(before, emu.stats),
        }

        log(f"getCredentials: {sizes.pipelined} pipelined")
        client.track = True
        t0 = time.perf_counter()
        futures = [client.send("aliyun/getCredentials", {}) for _ in range(sizes.pipelined)]
        await client.drain()
        await asyncio.wait_for(asyncio.gather(*(f for _, f in futures)), 120)
        elapsed = time.perf_counter() - t0
        lat = [client.arrivals[i] - t0 for i, _ in futures]
        client.arrivals.clear()
        result["pipelined"] = {"rps": sizes.pipelined / elapsed, "n": sizes.pipelined, "p99": pct(lat, 99)}

        log(f"expiry stampede: {sizes.storm_rounds} x {sizes.storm} concurrent getCredentials")
        rounds = []
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
        result["storm"] = rounds

        log("listProfiles with 1 / 100 / 2000 profiles")
        listing = {}
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
            listing[count] = {"median": statistics.median(times), "p95": pct(times, 95), "bytes": size}
        result["list"] = listing
        result["peak_rss_kib"] = memory_kib(client.pid).get("VmHWM", 0)
    finally:
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
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} vCPU ({cpu}), {mem} RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}; load average at start {load}")


def render(r: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []
    s = r["startup"]
    rows.append(("spawn → `initialize` answered",
                 f"median {ms(s['initialize']['median'])}, p95 {ms(s['initialize']['p95'])}",
                 f"{s['initialize']['n']} spawns of `python -m sidecar`; bare `python -c pass`: {ms(s['bare_python'])}"))
    rows.append(("spawn → first `aliyun/listProfiles` answer",
                 f"median {ms(s['first_list']['median'])}, p95 {ms(s['first_list']['p95'])}",
                 "sent right after `initialized`"))
    one = r["single"]
    seq = one["sequential"]
    rows.append(("`aliyun/getCredentials`, fresh cached STS",
                 f"median {ms(seq['median'])}, p99 {ms(seq['p99'])}; {seq['rps']:.0f} req/s",
                 f"sequential: one request at a time on one connection, n={seq['n']}; upstream calls: "
                 f"{seq['upstream']['exchanges'] + seq['upstream']['refreshes']}"))
    pipe = one["pipelined"]
    rows.append(("`aliyun/getCredentials`, pipelined",
                 f"{pipe['rps']:.0f} req/s",
                 f"{pipe['n']} requests written at once on one connection; last answer after {ms(pipe['p99'])} (p99)"))
    storm = one["storm"]
    exchanges = ", ".join(str(x["upstream"]["exchanges"]) for x in storm)
    p99 = max(x["p99"] for x in storm)
    errors = sum(x["errors"] for x in storm)
    rows.append((f"{len(storm)}× {r['sizes']['storm']} concurrent `getCredentials` at STS expiry",
                 f"upstream exchanges: {exchanges} (target 1); p99 {ms(p99)}",
                 f"errors {errors}; distinct credentials handed out per round: "
                 f"{', '.join(str(x['distinct_credentials']) for x in storm)}"))
    m = r["multi"]
    alone = m["alone"]
    rows.append((f"{m['sidecars']} sidecar processes, {alone['cycles']} expiry cycles",
                 f"refreshes per cycle {fmt_dist(alone['refreshes_per_cycle'])}; "
                 f"invalid_grant {alone['invalid_grant']}",
                 f"exchanges per cycle {fmt_dist(alone['exchanges_per_cycle'])}; error answers "
                 f"{sum(alone['errors'].values())}; cycle p50 {ms(alone['cycle_p50'])}, p99 {ms(alone['cycle_p99'])}"))
    for ww in m["with_writers"]:
        rate = 1000 / ww["pace_ms"] * m["writers"]
        rows.append((f"… plus {m['writers']} CLI-style writers (no lock, {rate:.0f} edits/s in all), {ww['cycles']} cycles",
                     f"refreshes per cycle {fmt_dist(ww['refreshes_per_cycle'])}; invalid_grant {ww['invalid_grant']}; "
                     f"lost CLI edits {ww['cli_lost']} of {ww['cli_writes']}",
                     f"our token writes undone by a CLI writer: {ww['token_clobbers']}; error answers "
                     f"{fmt_errors(ww['errors'])}; our locked writes {ww['locked_writes']}; "
                     f"exchanges per cycle {fmt_dist(ww['exchanges_per_cycle'])}"))
    lst = one["list"]
    per_profile = (lst[2000]["median"] - lst[1]["median"]) / 1999 if 2000 in lst and 1 in lst else math.nan
    rows.append(("`aliyun/listProfiles`, 1 / 100 / 2000 profiles",
                 " / ".join(f"{ms(v['median'])}" for v in lst.values()),
                 f"median; ≈{per_profile * 1e6:.0f} µs per extra profile (linear); file "
                 + " / ".join(f"{v['bytes'] / 1024:.0f} KiB" for v in lst.values())))
    rows.append(("sidecar memory",
                 f"idle {s['idle_rss_kib'] / 1024:.0f} MiB RSS; peak {one['peak_rss_kib'] / 1024:.0f} MiB",
                 f"peak (VmHWM) after all the single-sidecar load above; max of the {m['sidecars']} sidecars "
                 f"in the multi-process run: {m['peak_rss_kib'] / 1024:.0f} MiB"))
    if "sigkill" in r:
        kill = r["sigkill"]
        with_record, without = kill["with_record"], kill["without_record"]
        rows.append(("sign-outs per 100 SIGKILLs during forced refreshes",
                     f"{per_hundred(with_record):.0f} with the recovery record; "
                     f"{per_hundred(without):.0f} without it (the before, same run)",
                     f"{with_record['kills']} kills each at a random moment of a renewal loop "
                     f"({with_record['renewals']} / {without['renewals']} renewals reached the service); "
                     f"file {with_record['file_kib']} KiB; sign-outs {with_record['signouts']} / {without['signouts']}"))
    out = ["| measurement | result | notes |", "| --- | --- | --- |"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(out)


def fmt_dist(dist: dict[int, int]) -> str:
    return ", ".join(f"{k}×{v}" if len(dist) > 1 else f"{k} (all {v})" for k, v in dist.items())


def fmt_errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in errors.items()) if errors else "0"


def render_imports(imp: dict[str, Any], startup: dict[str, Any]) -> str:
    total = imp["total_import_us"]
    lines = [
        f"Start-up breakdown (`python -X importtime -m sidecar`, {imp['modules']} modules imported, "
        f"{total / 1000:.0f} ms of imports; spawn → initialize median {ms(startup['initialize']['median'])}, "
        f"bare interpreter {ms(startup['bare_python'])}):",
        "",
        "| imported at start-up | self time, summed over its modules | share of import time |",
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
    lines += ["", "Each ingredient alone (wall time of the import inside a fresh interpreter, fastest of 9 runs: the least disturbed by other load):", ""]
    lines += ["| import | time |", "| --- | --- |"]
    lines += [f"| `{name}` | {ms(value)} |" for name, value in imp["probes"].items()]
    return "\n".join(lines)


# =================================================================================================
# main
# =================================================================================================


async def run(sizes: Sizes, work: Path, *, startup: bool = True) -> dict[str, Any]:
    """Every scenario; ``startup=False`` skips the start-up timing (the smoke test does)."""
    results: dict[str, Any] = {"machine": machine(), "sizes": {"storm": sizes.storm}}
    if startup:
        results["startup"] = await bench_startup(work, sizes)
        results["imports"] = await bench_imports(work, sizes.import_runs)
    with Emulator(host="127.0.0.1", port=0, auto_approve=True) as emu:
        results["single"] = await bench_single(emu, work, sizes)
        results["multi"] = await bench_multiprocess(emu, work, sizes)
        results["sigkill"] = await bench_sigkill(emu, work, sizes.sigkills)
    return results


def invariants(results: dict[str, Any]) -> list[str]:
    """What must hold whatever the timings; an empty list when all do."""
    broken = []
    for index, rnd in enumerate(results["single"]["storm"]):
        if rnd["upstream"]["exchanges"] != 1 or rnd["upstream"]["refreshes"] != 0:
            broken.append(f"stampede round {index}: {rnd['upstream']}")
        if rnd["errors"] or rnd["distinct_credentials"] != 1:
            broken.append(f"stampede round {index}: {rnd['errors']} errors, {rnd['distinct_credentials']} credentials")
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
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke run of every scenario")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    work = Path(tempfile.mkdtemp(prefix="aliyun-sidecar-bench-"))
    started = time.perf_counter()
    try:
        results = asyncio.run(run(sizes, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["wall_seconds"] = time.perf_counter() - started
    print(f"Machine: {results['machine']}. Run: {'--quick' if args.quick else 'full'}, "
          f"{results['wall_seconds']:.0f} s.\n")
    print(render(results))
    print()
    print(render_imports(results["imports"], results["startup"]))
    broken = invariants(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    if broken:
        print("\nINVARIANTS BROKEN:\n  " + "\n  ".join(broken))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
