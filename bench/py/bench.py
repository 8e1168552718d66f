#!/usr/bin/env python3
"""Python reference for the clamator-rs benchmarks: the same scenarios, on the PyPI
packages clamator-protocol / clamator-over-memory / clamator-over-redis 0.1.9
(interop/requirements.txt), with the same metrics and the same JSON output format as
`clamator-bench --json` (see bench/src/main.rs).

    bench.py run   [--smoke] [--duration-ms N] [--warmup-ms N] [--rounds N] [--scenario S]...
                   [--json PATH] [--redis-url URL] [--list]
    bench.py serve --redis-url URL --prefix P      (a pool member: prints READY, serves until SIGTERM)
    bench.py load  --redis-url URL --prefix P --concurrency N --duration-ms N --warmup-ms N
                   (a load generator only, against servers already running on P: prints WINDOW START
                   and WINDOW END around the measured window, then RESULT <json>; clamator-bench's
                   peer scenarios use it to compare clients against the same server process)

Scenarios: memory/c{1,16,64,256}, memory/notify, redis/s1/k1/c{1,16,64,256}, redis/s2/k1/c64,
redis/s4/k1/c64, redis/notify. 0.1.9 has no per-service concurrency option (always 1), hence
k1 everywhere. Concurrency = number of asyncio tasks, each looping typed calls on one shared
client. Pools: one server in this process (same event loop as the client), the others as
separate `bench.py serve` processes on the same prefix. The Redis client is built on a
BlockingConnectionPool (WIRE.md section 6) of 100 connections.

Without --redis-url, Redis scenarios are skipped (bench/run.sh always passes one).
"""
from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import math
import os
import platform
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from clamator_over_memory import MemoryBus, MemoryRpcClient, MemoryRpcServer
from clamator_over_redis import RedisRpcClient, RedisRpcServer
from clamator_protocol import Contract, MethodEntry
from pydantic import BaseModel
from redis.asyncio import BlockingConnectionPool, Redis

NOTIFY_SENDERS = 16
NOTIFY_BACKLOG_MEMORY = 16_384  # as bench/src/main.rs
NOTIFY_BACKLOG_REDIS = 1_024
CALL_CONCURRENCY = (1, 16, 64, 256)
CALL_TIMEOUT_MS = 10_000
CLIENT_POOL_CONNECTIONS = 100

WARMUP, MEASURE, STOP = 0, 1, 2
# CPU use (cores) of the extra pool server processes during the last Redis scenario.
POOL_CPU: list[float | None] = [None]


class AddParams(BaseModel):
    a: float
    b: float


class AddResult(BaseModel):
    sum: float


class RecordParams(BaseModel):
    seq: int


ARITH = Contract(
    service="arith",
    methods={
        "add": MethodEntry(AddParams, AddResult, "add"),
        "record": MethodEntry(RecordParams, None, "record"),
    },
)


class Calculator:
    def __init__(self) -> None:
        self.handled = 0

    async def add(self, p: AddParams) -> AddResult:
        return AddResult(sum=p.a + p.b)

    async def record(self, p: RecordParams) -> None:
        self.handled += 1


# ------------------------------------------------------------------------------------------
# Typed calls, as a generated 0.1.9 client does them: params dumped by alias, result
# validated against its model.
# ------------------------------------------------------------------------------------------


def add_caller(client: Any) -> Callable[[int], Awaitable[None]]:
    async def call(seq: int) -> None:
        a = float(seq % 1024)
        raw = await client.call("arith", "add", AddParams(a=a, b=1.0).model_dump(mode="json", by_alias=True))
        r = AddResult.model_validate(raw)
        if r.sum != a + 1.0:
            raise ValueError(f"wrong sum {r.sum} for {a} + 1")

    return call


def record_caller(client: Any) -> Callable[[int], Awaitable[None]]:
    async def call(seq: int) -> None:
        await client.notify("arith", "record", RecordParams(seq=seq).model_dump(mode="json", by_alias=True))

    return call


# ------------------------------------------------------------------------------------------
# Harness (same rules as bench/src/measure.rs)
# ------------------------------------------------------------------------------------------


def percentile(samples: list[int], q: float) -> float:
    """Nearest rank: the value at rank ceil(q * n)."""
    if not samples:
        return math.nan
    rank = min(max(math.ceil(q * len(samples)), 1), len(samples))
    return float(sorted(samples)[rank - 1])


async def _drive(
    plan: tuple[float, float],
    callers: list[Callable[[int], Awaitable[None]]],
    gate: Callable[[], bool] | None = None,
    on_sent: Callable[[], None] | None = None,
    on_measure: Callable[[], None] | None = None,
    on_end: Callable[[], None] | None = None,
) -> tuple[list[dict[str, Any]], float]:
    warmup, measure = plan
    phase = [WARMUP]

    async def worker(call: Callable[[int], Awaitable[None]]) -> dict[str, Any]:
        out: dict[str, Any] = {"lat": [], "completed": 0, "errors": 0, "first_error": None}
        lat = out["lat"]
        seq = 0
        clock = time.perf_counter_ns
        while phase[0] != STOP:
            if gate is not None and not gate():
                await asyncio.sleep(0.001)
                continue
            started = clock()
            error = None
            try:
                await call(seq)
            except Exception as e:  # noqa: BLE001 - any failure is counted and reported
                error = e
            elapsed = clock() - started
            seq += 1
            if on_sent is not None:
                on_sent()
            if phase[0] != MEASURE:
                continue
            if error is None:
                out["completed"] += 1
                lat.append(elapsed)
            else:
                out["errors"] += 1
                if out["first_error"] is None:
                    out["first_error"] = f"{type(error).__name__}: {error}"
        return out

    tasks = [asyncio.create_task(worker(c)) for c in callers]
    await asyncio.sleep(warmup)
    phase[0] = MEASURE
    if on_measure is not None:
        on_measure()
    start = time.perf_counter()
    await asyncio.sleep(measure)
    if on_end is not None:
        on_end()
    phase[0] = STOP
    seconds = time.perf_counter() - start
    results = []
    for t in tasks:
        try:
            results.append(await asyncio.wait_for(t, timeout=30))
        except Exception as e:  # noqa: BLE001
            results.append({"lat": [], "completed": 0, "errors": 1, "first_error": f"task failed: {e!r}"})
    return results, seconds


def _summarize(results: list[dict[str, Any]], counted: int, seconds: float) -> dict[str, Any]:
    lat: list[int] = []
    for r in results:
        lat.extend(r["lat"])
    lat.sort()
    first_error = next((r["first_error"] for r in results if r["first_error"]), None)

    def rounded(x: float) -> float | None:
        return None if not math.isfinite(x) else round(x, 2)

    return {
        "calls": counted,
        "seconds": round(seconds, 4),
        "calls_per_sec": rounded(counted / seconds if seconds > 0 else 0.0),
        "p50_us": rounded(percentile(lat, 0.50) / 1000),
        "p99_us": rounded(percentile(lat, 0.99) / 1000),
        "samples": len(lat),
        "errors": sum(r["errors"] for r in results),
        "first_error": first_error,
    }


async def run_calls(plan: tuple[float, float], callers: list[Callable[[int], Awaitable[None]]]) -> dict[str, Any]:
    results, seconds = await _drive(plan, callers)
    return _summarize(results, sum(r["completed"] for r in results), seconds)


async def run_notify(
    plan: tuple[float, float],
    callers: list[Callable[[int], Awaitable[None]]],
    handled: Callable[[], int],
    max_backlog: int,
) -> dict[str, Any]:
    sent = [0]
    marks: dict[str, int] = {}

    def gate() -> bool:
        return sent[0] - handled() <= max_backlog

    def on_sent() -> None:
        sent[0] += 1

    results, seconds = await _drive(
        plan,
        callers,
        gate=gate,
        on_sent=on_sent,
        on_measure=lambda: marks.__setitem__("start", handled()),
        on_end=lambda: marks.__setitem__("end", handled()),
    )
    return _summarize(results, marks["end"] - marks["start"], seconds)


# ------------------------------------------------------------------------------------------
# Scenarios
# ------------------------------------------------------------------------------------------


def fresh_prefix(scenario: str) -> str:
    return f"clamator-bench-py:{scenario.replace('/', '-')}:{uuid.uuid4().hex}"


async def memory_calls(plan: tuple[float, float], concurrency: int) -> dict[str, Any]:
    bus = MemoryBus()
    server = MemoryRpcServer(bus=bus)
    server.register_service(ARITH, Calculator())
    await server.start()
    client = MemoryRpcClient(bus=bus, default_timeout_ms=CALL_TIMEOUT_MS)
    await client.start()
    try:
        return await run_calls(plan, [add_caller(client) for _ in range(concurrency)])
    finally:
        await client.stop()
        await server.stop()


async def memory_notify(plan: tuple[float, float], concurrency: int) -> dict[str, Any]:
    bus = MemoryBus()
    calc = Calculator()
    server = MemoryRpcServer(bus=bus)
    server.register_service(ARITH, calc)
    await server.start()
    client = MemoryRpcClient(bus=bus, default_timeout_ms=CALL_TIMEOUT_MS)
    await client.start()
    try:
        callers = [record_caller(client) for _ in range(concurrency)]
        return await run_notify(plan, callers, lambda: calc.handled, NOTIFY_BACKLOG_MEMORY)
    finally:
        await client.stop()
        await server.stop()


def client_redis(url: str) -> Redis:
    pool = BlockingConnectionPool.from_url(url, max_connections=CLIENT_POOL_CONNECTIONS, timeout=30)
    return Redis(connection_pool=pool)


async def delete_prefix(url: str, prefix: str) -> None:
    r = Redis.from_url(url)
    try:
        keys = [k async for k in r.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await r.delete(*keys)
    finally:
        await r.aclose()


async def spawn_server_process(url: str, prefix: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        os.path.abspath(__file__),
        "serve",
        "--redis-url",
        url,
        "--prefix",
        prefix,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
    if not line.startswith(b"READY"):
        proc.kill()
        raise RuntimeError(f"pool server did not start: {line!r}")
    return proc


def proc_cpu_secs(pid: int) -> float | None:
    """utime + stime of another process, from /proc (clock ticks of 1/100 s)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / 100


async def redis_scenario(
    plan: tuple[float, float], url: str, scenario: str, servers: int, concurrency: int, notify: bool
) -> dict[str, Any]:
    prefix = fresh_prefix(scenario)
    pool_cpu = POOL_CPU
    pool_cpu[0] = None
    calc = Calculator()
    server = RedisRpcServer(redis_url=url, key_prefix=prefix)
    server.register_service(ARITH, calc)
    await server.start()
    extra = [await spawn_server_process(url, prefix) for _ in range(servers - 1)]
    started = time.perf_counter()
    extra_cpu_start = [proc_cpu_secs(proc.pid) or 0.0 for proc in extra]
    redis = client_redis(url)
    client = RedisRpcClient(redis=redis, key_prefix=prefix, default_timeout_ms=CALL_TIMEOUT_MS)
    await client.start()
    try:
        if notify:
            callers = [record_caller(client) for _ in range(concurrency)]
            return await run_notify(plan, callers, lambda: calc.handled, NOTIFY_BACKLOG_REDIS)
        return await run_calls(plan, [add_caller(client) for _ in range(concurrency)])
    finally:
        await client.stop()
        await redis.aclose()
        await server.stop()
        if extra:
            wall = time.perf_counter() - started
            used = sum((proc_cpu_secs(proc.pid) or 0.0) - s for proc, s in zip(extra, extra_cpu_start))
            pool_cpu[0] = round(used / wall, 2)
        for proc in extra:
            proc.terminate()
        for proc in extra:
            try:
                await asyncio.wait_for(proc.wait(), timeout=10)
            except TimeoutError:
                proc.kill()
        await delete_prefix(url, prefix)


def all_scenarios() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in CALL_CONCURRENCY:
        out.append({"scenario": f"memory/c{c}", "group": "memory", "mode": "call", "servers": 1,
                    "service_concurrency": 0, "concurrency": c, "redis": False})
    out.append({"scenario": "memory/notify", "group": "notify", "mode": "notify", "servers": 1,
                "service_concurrency": 0, "concurrency": NOTIFY_SENDERS, "redis": False})
    for c in CALL_CONCURRENCY:
        out.append({"scenario": f"redis/s1/k1/c{c}", "group": "redis-k1", "mode": "call", "servers": 1,
                    "service_concurrency": 1, "concurrency": c, "redis": True})
    for s in (2, 4):
        out.append({"scenario": f"redis/s{s}/k1/c64", "group": "redis-pool", "mode": "call", "servers": s,
                    "service_concurrency": 1, "concurrency": 64, "redis": True})
    out.append({"scenario": "redis/notify", "group": "notify", "mode": "notify", "servers": 1,
                "service_concurrency": 1, "concurrency": NOTIFY_SENDERS, "redis": True})
    return out


async def run_one(s: dict[str, Any], plan: tuple[float, float], url: str | None) -> dict[str, Any]:
    name, c = s["scenario"], s["concurrency"]
    if name.startswith("memory/"):
        return await (memory_notify(plan, c) if s["mode"] == "notify" else memory_calls(plan, c))
    assert url is not None
    return await redis_scenario(plan, url, name, s["servers"], c, s["mode"] == "notify")


def loadavg() -> str | None:
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return None


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


async def redis_cpu_secs(url: str | None) -> float | None:
    if url is None:
        return None
    r = Redis.from_url(url)
    try:
        info = await r.info("cpu")
        return float(info.get("used_cpu_user", 0.0)) + float(info.get("used_cpu_sys", 0.0))
    except Exception:  # noqa: BLE001
        return None
    finally:
        await r.aclose()


def self_cpu_secs() -> float:
    t = os.times()
    return t.user + t.system


async def redis_version(url: str) -> str | None:
    r = Redis.from_url(url)
    try:
        return str((await r.info("server")).get("redis_version"))
    except Exception:  # noqa: BLE001
        return None
    finally:
        await r.aclose()


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Same rule as bench/src/main.rs: per-figure medians (upper median), counts summed."""
    if len(records) == 1:
        return records[0]
    failed = next((r["failed"] for r in records if "failed" in r), None)
    if failed is not None:
        return {"failed": failed, "rounds": records}

    def median(field: str) -> float | None:
        xs = sorted(r[field] for r in records if isinstance(r.get(field), (int, float)))
        return xs[len(xs) // 2] if xs else None

    return {
        "calls_per_sec": median("calls_per_sec"),
        "p50_us": median("p50_us"),
        "p99_us": median("p99_us"),
        "process_cpu_cores": median("process_cpu_cores"),
        "redis_cpu_cores": median("redis_cpu_cores"),
        "pool_processes_cpu_cores": median("pool_processes_cpu_cores"),
        "calls": sum(r["calls"] for r in records),
        "samples": sum(r["samples"] for r in records),
        "errors": sum(r["errors"] for r in records),
        "first_error": next((r["first_error"] for r in records if r.get("first_error")), None),
        "aggregate": "median over rounds",
        "rounds": records,
    }


async def cmd_run(args: argparse.Namespace) -> int:
    selected = [s for s in all_scenarios() if not args.scenario or any(f in s["scenario"] for f in args.scenario)]
    if args.list:
        for s in selected:
            print(s["scenario"])
        return 0
    if not selected:
        print(f"error: no scenario matches {args.scenario}", file=sys.stderr)
        return 2
    duration_ms = args.duration_ms if args.duration_ms is not None else (200 if args.smoke else 3000)
    warmup_ms = args.warmup_ms if args.warmup_ms is not None else min(max(duration_ms // 10, 20), 500)
    plan = (warmup_ms / 1000, duration_ms / 1000)
    print(
        f"# bench.py: {len(selected)} scenario(s) x {args.rounds} round(s), "
        f"warm-up {warmup_ms} ms + {duration_ms} ms each, asyncio",
        file=sys.stderr,
    )
    print(f"{'scenario':<24} {'calls/s':>12} {'p50 µs':>10} {'p99 µs':>10} {'errors':>8}", flush=True)
    started_at = utc_now()
    loadavg_start = loadavg()
    per_round: list[list[dict[str, Any]]] = [[] for _ in selected]
    all_ok = True
    for rnd in range(1, args.rounds + 1):
        if args.rounds > 1:
            print(f"# round {rnd}/{args.rounds}", flush=True)
        for s, records in zip(selected, per_round):
            if s["redis"] and not args.redis_url:
                print(f"{s['scenario']:<24} skipped (no --redis-url)", flush=True)
                continue
            redis_url = args.redis_url if s["redis"] else None
            cpu_before = (time.perf_counter(), self_cpu_secs(), await redis_cpu_secs(redis_url))
            POOL_CPU[0] = None
            try:
                o = await run_one(s, plan, args.redis_url)
            except Exception as e:  # noqa: BLE001
                print(f"{s['scenario']:<24} FAILED: {e!r}", flush=True)
                records.append({"failed": repr(e)})
                all_ok = False
                continue
            cpu_after = (time.perf_counter(), self_cpu_secs(), await redis_cpu_secs(redis_url))
            wall = cpu_after[0] - cpu_before[0]
            o["process_cpu_cores"] = round((cpu_after[1] - cpu_before[1]) / wall, 2)
            o["redis_cpu_cores"] = (
                None
                if cpu_after[2] is None or cpu_before[2] is None
                else round((cpu_after[2] - cpu_before[2]) / wall, 2)
            )
            o["pool_processes_cpu_cores"] = POOL_CPU[0]
            records.append(o)
            print(
                f"{s['scenario']:<24} {o['calls_per_sec'] or 0:>12.0f} {o['p50_us'] or math.nan:>10.1f} "
                f"{o['p99_us'] or math.nan:>10.1f} {o['errors']:>8}",
                flush=True,
            )
            if o["first_error"]:
                print(f"  first error: {o['first_error']}", file=sys.stderr)
            all_ok = all_ok and o["errors"] == 0 and o["calls"] > 0
    results = []
    for s, records in zip(selected, per_round):
        if records:
            record = {k: v for k, v in s.items() if k != "redis"}
            record.update(aggregate(records))
            results.append(record)

    if args.json:
        versions = {p: importlib.metadata.version(p) for p in
                    ("clamator-protocol", "clamator-over-memory", "clamator-over-redis", "redis", "pydantic")}
        doc = {
            "tool": "bench.py",
            "language": "python",
            "implementation": (
                f"clamator {versions['clamator-over-redis']} on CPython {platform.python_version()} "
                f"(redis-py {versions['redis']}, pydantic {versions['pydantic']})"
            ),
            "versions": versions,
            "runtime": "asyncio, one event loop",
            "pool_mode": "one server in the client's process, the others as separate `bench.py serve` processes",
            "started_at": started_at,
            "loadavg_start": loadavg_start,
            "loadavg_end": loadavg(),
            "duration_ms": duration_ms,
            "rounds": args.rounds,
            "warmup_ms": warmup_ms,
            "smoke": args.smoke,
            "redis": args.redis_url,
            "redis_version": await redis_version(args.redis_url) if args.redis_url else None,
            "notify_senders": NOTIFY_SENDERS,
            "notify_backlog": {"memory": NOTIFY_BACKLOG_MEMORY, "redis": NOTIFY_BACKLOG_REDIS},
            "results": results,
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print(f"# wrote {args.json}", file=sys.stderr)
    return 0 if all_ok else 1


async def cmd_serve(args: argparse.Namespace) -> int:
    server = RedisRpcServer(redis_url=args.redis_url, key_prefix=args.prefix)
    server.register_service(ARITH, Calculator())
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {os.getpid()}", flush=True)
    await stop.wait()
    await server.stop()
    return 0


async def cmd_load(args: argparse.Namespace) -> int:
    redis = client_redis(args.redis_url)
    client = RedisRpcClient(redis=redis, key_prefix=args.prefix, default_timeout_ms=CALL_TIMEOUT_MS)
    await client.start()
    plan = (args.warmup_ms / 1000, args.duration_ms / 1000)
    try:
        results, seconds = await _drive(
            plan,
            [add_caller(client) for _ in range(args.concurrency)],
            on_measure=lambda: print("WINDOW START", flush=True),
            on_end=lambda: print("WINDOW END", flush=True),
        )
    finally:
        await client.stop()
        await redis.aclose()
    outcome = _summarize(results, sum(r["completed"] for r in results), seconds)
    print("RESULT " + json.dumps(outcome), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run scenarios")
    run.add_argument("--smoke", action="store_true")
    run.add_argument("--duration-ms", type=int)
    run.add_argument("--warmup-ms", type=int)
    run.add_argument("--rounds", type=int, default=1)
    run.add_argument("--scenario", action="append", default=[])
    run.add_argument("--json")
    run.add_argument("--redis-url")
    run.add_argument("--list", action="store_true")
    serve = sub.add_parser("serve", help="one pool member")
    serve.add_argument("--redis-url", required=True)
    serve.add_argument("--prefix", required=True)
    load = sub.add_parser("load", help="a load generator only, against running servers")
    load.add_argument("--redis-url", required=True)
    load.add_argument("--prefix", required=True)
    load.add_argument("--concurrency", type=int, required=True)
    load.add_argument("--duration-ms", type=int, required=True)
    load.add_argument("--warmup-ms", type=int, required=True)
    args = parser.parse_args()
    commands = {"run": cmd_run, "serve": cmd_serve, "load": cmd_load}
    return asyncio.run(commands[args.command](args))


if __name__ == "__main__":
    sys.exit(main())
