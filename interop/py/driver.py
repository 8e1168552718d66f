#!/usr/bin/env python3
"""Python half of the clamator-rs interoperability suite.

Reference peer built on the PyPI packages clamator-protocol / clamator-over-redis
0.1.9 (see interop/requirements.txt). The Rust driver binary has the identical
CLI and output, so the Rust test runner can drive either one interchangeably.

    driver.py serve  --redis-url URL --prefix P [--claim-idle-ms N] [--marker-file PATH]
                     [--instance-id ID]
    driver.py client --redis-url URL --prefix P --scenario NAME [--run-id ID]

serve:  prints exactly `READY <pid>` on stdout once the server is started, then
        serves until SIGTERM/SIGINT, stops cleanly and exits 0.
client: prints exactly one line of JSON (the outcome) on stdout and exits 0.
        RPC failures are outcomes (printed as data); the exit status is non-zero
        only when the driver itself breaks (bad arguments, crash).

Logs go to stderr only. Uses the standard library and the pinned packages only.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from clamator_over_redis import RedisRpcClient, RedisRpcServer
from clamator_protocol import (
    ClamatorProtocolError,
    ClamatorTransportError,
    Contract,
    MethodEntry,
    RpcError,
)
from pydantic import BaseModel, Field, ValidationError
from redis.asyncio import BlockingConnectionPool, Redis

from typed_contract import TYPED, TYPED_SCENARIOS, TypedService

log = logging.getLogger("interop.driver")

LANGUAGE = "python"

UNICODE_TEXT = (
    "héllo wörld — 日本語 — עברית — 𝄞 😀👍🏽 — e\u0301 — \u0000 tab\t nl\n"
    " quote\" backslash\\ — \U0010FFFF"
)
LARGE_TEXT = "0123456789abcdef" * 16384  # exactly 262144 bytes of UTF-8

# --------------------------------------------------------------------------------------
# Wire models. Field names on the wire are camelCase: Python attributes are snake_case
# with an alias. populate_by_name is deliberately NOT enabled, so the server validates
# by alias only (`sleep_ms` on the wire is ignored as an extra key -> "sleepMs" missing).
# --------------------------------------------------------------------------------------


class AddParams(BaseModel):
    a: float
    b: float


class AddResult(BaseModel):
    sum: float


class SlowAddParams(BaseModel):
    a: float
    b: float
    sleep_ms: int = Field(alias="sleepMs")


class SlowAddResult(BaseModel):
    sum: float
    process_id: int = Field(alias="processId")


class DivideParams(BaseModel):
    a: float
    b: float


class DivideResult(BaseModel):
    quotient: float


class EchoTextParams(BaseModel):
    text: str


class EchoTextResult(BaseModel):
    text: str


class WhoamiParams(BaseModel):
    pass


class WhoamiResult(BaseModel):
    process_id: int = Field(alias="processId")
    # str, not Literal["python"]: the same model validates a Rust server's answer.
    language: str


class PingParams(BaseModel):
    run_id: str = Field(alias="runId")
    seq: int


class ReceivedParams(BaseModel):
    run_id: str = Field(alias="runId")


class ReceivedResult(BaseModel):
    seqs: list[int]


class PutParams(BaseModel):
    key: str
    value: str


class PutResult(BaseModel):
    ok: bool


class GetParams(BaseModel):
    key: str


class GetResult(BaseModel):
    # Defaulted so an answer that omits the key also validates; dumped as null.
    value: str | None = None


ARITH = Contract(
    service="arith",
    methods={
        "add": MethodEntry(AddParams, AddResult, "add"),
        "slowAdd": MethodEntry(SlowAddParams, SlowAddResult, "slow_add"),
        "divide": MethodEntry(DivideParams, DivideResult, "divide"),
        "echoText": MethodEntry(EchoTextParams, EchoTextResult, "echo_text"),
        "whoami": MethodEntry(WhoamiParams, WhoamiResult, "whoami"),
    },
)

NOTIFICATIONS = Contract(
    service="notifications",
    methods={
        "ping": MethodEntry(PingParams, None, "ping"),  # notification: no result model
        "received": MethodEntry(ReceivedParams, ReceivedResult, "received"),
    },
)

KV = Contract(
    service="kv",
    methods={
        "put": MethodEntry(PutParams, PutResult, "put"),
        "get": MethodEntry(GetParams, GetResult, "get"),
    },
)

# --------------------------------------------------------------------------------------
# Server side
# --------------------------------------------------------------------------------------


def _write_marker(path: str) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(tmp, path)


class ArithService:
    def __init__(self, marker_file: str | None) -> None:
        self._marker_file = marker_file

    async def add(self, p: AddParams) -> AddResult:
        return AddResult(sum=p.a + p.b)

    async def slow_add(self, p: SlowAddParams) -> SlowAddResult:
        if self._marker_file:
            _write_marker(self._marker_file)
            log.info("slowAdd started (marker written to %s)", self._marker_file)
        await asyncio.sleep(p.sleep_ms / 1000)
        return SlowAddResult(sum=p.a + p.b, processId=os.getpid())

    async def divide(self, p: DivideParams) -> DivideResult:
        if p.b == 0:
            raise RpcError(-32000, "division by zero", {"a": p.a})
        return DivideResult(quotient=p.a / p.b)

    async def echo_text(self, p: EchoTextParams) -> EchoTextResult:
        return EchoTextResult(text=p.text)

    async def whoami(self, p: WhoamiParams) -> WhoamiResult:
        return WhoamiResult(processId=os.getpid(), language=LANGUAGE)


class NotificationsService:
    def __init__(self) -> None:
        self._seen: dict[str, list[int]] = {}

    async def ping(self, p: PingParams) -> None:
        self._seen.setdefault(p.run_id, []).append(p.seq)

    async def received(self, p: ReceivedParams) -> ReceivedResult:
        return ReceivedResult(seqs=list(self._seen.get(p.run_id, [])))


class KvService:
    def __init__(self) -> None:
        self._data: dict[str, str] = {}

    async def put(self, p: PutParams) -> PutResult:
        self._data[p.key] = p.value
        return PutResult(ok=True)

    async def get(self, p: GetParams) -> GetResult:
        return GetResult(value=self._data.get(p.key))


async def serve(args: argparse.Namespace) -> int:
    server = RedisRpcServer(
        redis_url=args.redis_url,
        key_prefix=args.prefix,
        instance_id=args.instance_id,
        consumer_claim_idle_ms=args.claim_idle_ms,
    )
    server.register_service(ARITH, ArithService(args.marker_file))
    server.register_service(NOTIFICATIONS, NotificationsService())
    server.register_service(KV, KvService())
    server.register_service(TYPED, TypedService())

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    await server.start()
    log.info("serving prefix=%r claim_idle_ms=%d", args.prefix, args.claim_idle_ms)
    sys.stdout.write(f"READY {os.getpid()}\n")
    sys.stdout.flush()

    await stop.wait()
    log.info("signal received, stopping")
    await server.stop()
    log.info("stopped")
    return 0


# --------------------------------------------------------------------------------------
# Client side
# --------------------------------------------------------------------------------------

ERROR_TYPES = (RpcError, ClamatorTransportError, ClamatorProtocolError, ValueError)


def normalize_error(e: BaseException) -> dict[str, Any]:
    if isinstance(e, RpcError):
        return {"kind": "rpc", "code": e.code, "message": e.message, "data": e.data}
    if isinstance(e, ClamatorTransportError):
        return {"kind": "transport", "message": str(e)}
    if isinstance(e, (ClamatorProtocolError, ValueError)):
        return {"kind": "protocol", "message": str(e)}
    raise TypeError(f"not an RPC outcome: {e!r}") from e


async def call_typed(
    client: RedisRpcClient,
    service: str,
    method: str,
    params: BaseModel,
    result_model: type[BaseModel],
    *,
    timeout_ms: int | None = None,
) -> Any:
    """Typed call: params dumped by alias, result validated against its model.

    Returns the raw result as it came off the wire (validated, not re-dumped).
    """
    raw = await client.call(
        service, method, params.model_dump(mode="json", by_alias=True), timeout_ms=timeout_ms
    )
    try:
        result_model.model_validate(raw)
    except ValidationError as e:
        raise ClamatorProtocolError(
            f"result of {service}.{method} does not validate: {e.errors(include_url=False)}"
        ) from e
    return raw


async def outcome_of(coro: Awaitable[Any]) -> dict[str, Any]:
    try:
        return {"result": await coro}
    except ERROR_TYPES as e:
        return {"error": normalize_error(e)}


async def gather_outcomes(coros: list[Awaitable[Any]]) -> list[tuple[bool, Any]]:
    """Run concurrently; returns (ok, result-or-normalized-error) in order."""
    res = await asyncio.gather(*coros, return_exceptions=True)
    out: list[tuple[bool, Any]] = []
    for r in res:
        if isinstance(r, ERROR_TYPES):
            out.append((False, normalize_error(r)))
        elif isinstance(r, BaseException):
            raise r
        else:
            out.append((True, r))
    return out


Scenario = Callable[[RedisRpcClient, str], Awaitable[dict[str, Any]]]


async def sc_basic(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    return await outcome_of(call_typed(c, "arith", "add", AddParams(a=2, b=3), AddResult))


async def sc_unicode(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    r = await call_typed(
        c, "arith", "echoText", EchoTextParams(text=UNICODE_TEXT), EchoTextResult
    )
    return {"sent": UNICODE_TEXT, "received": r["text"]}


async def sc_large(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    r = await call_typed(
        c, "arith", "echoText", EchoTextParams(text=LARGE_TEXT), EchoTextResult
    )
    received = r["text"]
    return {"bytes": len(received.encode("utf-8")), "equal": received == LARGE_TEXT}


async def sc_rpc_error(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    return await outcome_of(
        call_typed(c, "arith", "divide", DivideParams(a=1, b=0), DivideResult)
    )


async def sc_unknown_method(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    return await outcome_of(c.call("arith", "noSuchMethod", {}))


async def sc_invalid_params(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    return await outcome_of(c.call("arith", "add", {"a": "not a number", "b": 1}))


async def sc_snake_case_rejected(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    return await outcome_of(c.call("arith", "slowAdd", {"a": 1, "b": 2, "sleep_ms": 1}))


async def sc_camel_case(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    return await outcome_of(c.call("arith", "slowAdd", {"a": 1, "b": 2, "sleepMs": 1}))


async def sc_notification(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    for seq in range(1, 26):
        await c.notify(
            "notifications", "ping",
            PingParams(runId=run_id, seq=seq).model_dump(mode="json", by_alias=True),
        )
    r = await call_typed(
        c, "notifications", "received", ReceivedParams(runId=run_id), ReceivedResult
    )
    return {"seqs": r["seqs"]}


async def sc_timeout(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    return await outcome_of(
        call_typed(
            c, "arith", "slowAdd", SlowAddParams(a=1, b=2, sleepMs=2000), SlowAddResult,
            timeout_ms=300,
        )
    )


async def sc_concurrent(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    n = 100
    outs = await gather_outcomes(
        [call_typed(c, "arith", "add", AddParams(a=i, b=i), AddResult) for i in range(n)]
    )
    correct = sum(1 for i, (ok, r) in enumerate(outs) if ok and r.get("sum") == 2 * i)
    errors = [r for ok, r in outs if not ok]
    return {"calls": n, "correct": correct, "errors": errors}


async def sc_ordering(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    for i in range(100):
        await call_typed(c, "kv", "put", PutParams(key=run_id, value=str(i)), PutResult)
    r = await call_typed(c, "kv", "get", GetParams(key=run_id), GetResult)
    return {"value": r.get("value")}


async def sc_pool(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    outs = await gather_outcomes(
        [
            call_typed(c, "arith", "slowAdd", SlowAddParams(a=i, b=1, sleepMs=50), SlowAddResult)
            for i in range(40)
        ]
    )
    return {
        "processIds": [r["processId"] for ok, r in outs if ok],
        "errors": [r for ok, r in outs if not ok],
    }


async def sc_crash(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    return await outcome_of(
        call_typed(
            c, "arith", "slowAdd", SlowAddParams(a=1, b=2, sleepMs=3000), SlowAddResult,
            timeout_ms=30_000,
        )
    )


async def sc_patient(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    """One call with a long timeout, for a runner that queues it before any server runs."""
    return await outcome_of(
        call_typed(
            c, "arith", "slowAdd", SlowAddParams(a=1, b=2, sleepMs=50), SlowAddResult,
            timeout_ms=60_000,
        )
    )


async def sc_backlog(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    """10 concurrent calls with a long timeout (queued before a server starts)."""
    outs = await gather_outcomes(
        [
            call_typed(
                c, "arith", "slowAdd", SlowAddParams(a=i, b=1, sleepMs=1), SlowAddResult,
                timeout_ms=60_000,
            )
            for i in range(10)
        ]
    )
    return {
        "sums": [r["sum"] for ok, r in outs if ok],
        "processIds": [r["processId"] for ok, r in outs if ok],
        "errors": [r for ok, r in outs if not ok],
    }


async def sc_late_put(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    """put(runId, "late") with a 200 ms timeout: the caller gives up when no server answers."""
    return await outcome_of(
        call_typed(c, "kv", "put", PutParams(key=run_id, value="late"), PutResult, timeout_ms=200)
    )


async def sc_get(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    return await outcome_of(call_typed(c, "kv", "get", GetParams(key=run_id), GetResult))


async def sc_quick_then_slow(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    """5 sequential adds, then a 4 s slowAdd (30 s timeout)."""
    quick = [
        (await call_typed(c, "arith", "add", AddParams(a=i, b=i), AddResult))["sum"]
        for i in range(5)
    ]
    slow = await outcome_of(
        call_typed(
            c, "arith", "slowAdd", SlowAddParams(a=1, b=2, sleepMs=4000), SlowAddResult,
            timeout_ms=30_000,
        )
    )
    return {"quick": quick, "slow": slow}


async def sc_whoami(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    return await outcome_of(call_typed(c, "arith", "whoami", WhoamiParams(), WhoamiResult))


SCENARIOS: dict[str, Scenario] = {
    "basic": sc_basic,
    "unicode": sc_unicode,
    "large": sc_large,
    "rpc_error": sc_rpc_error,
    "unknown_method": sc_unknown_method,
    "invalid_params": sc_invalid_params,
    "snake_case_rejected": sc_snake_case_rejected,
    "camel_case": sc_camel_case,
    "notification": sc_notification,
    "timeout": sc_timeout,
    "concurrent": sc_concurrent,
    "ordering": sc_ordering,
    "pool": sc_pool,
    "crash": sc_crash,
    "whoami": sc_whoami,
    "patient": sc_patient,
    "backlog": sc_backlog,
    "late_put": sc_late_put,
    "get": sc_get,
    "quick_then_slow": sc_quick_then_slow,
    **TYPED_SCENARIOS,
}


async def client_main(args: argparse.Namespace) -> int:
    # WIRE.md section 6: a client built from redis_url shares a non-blocking pool capped
    # at 100 connections; 100+ calls in flight need a pool that waits instead of raising.
    pool = BlockingConnectionPool.from_url(args.redis_url, max_connections=64)
    redis = Redis(connection_pool=pool)
    client = RedisRpcClient(redis=redis, key_prefix=args.prefix)
    run_id = args.run_id or str(uuid.uuid4())
    try:
        await client.start()
        try:
            outcome = await SCENARIOS[args.scenario](client, run_id)
        except ERROR_TYPES as e:
            # A scenario whose shape has no error slot still reports the RPC failure.
            outcome = {"error": normalize_error(e)}
        sys.stdout.write(json.dumps(outcome, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    finally:
        await stop_client(client)
        await redis.aclose()
        await pool.aclose()
    return 0


async def stop_client(client: RedisRpcClient) -> None:
    """client.stop(), guarded against a hang in 0.1.9 on Python 3.11.

    0.1.9's reply loop is `while True` and only ends on CancelledError. redis-py 8 sends
    each command inside asyncio.wait_for(..., socket_timeout), and Python 3.11's wait_for
    swallows a cancellation that lands while the inner send has just completed
    (CPython gh-86296, fixed in 3.12). stop() right after a call returns hits exactly that
    window (the loop is re-issuing XREAD), the cancel is lost and stop() awaits the loop
    for ever. So: give the loop a moment to park in its blocking read, and re-cancel it
    if stop() is still waiting.
    """
    await asyncio.sleep(0.05)
    stop_task = asyncio.create_task(client.stop())
    while True:
        done, _ = await asyncio.wait({stop_task}, timeout=1.0)
        if done:
            stop_task.result()
            return
        loop_task = getattr(getattr(client, "_transport", None), "_reply_loop_task", None)
        if loop_task is not None and not loop_task.done():
            log.warning("clamator 0.1.9 reply loop lost its cancellation; cancelling again")
            loop_task.cancel()


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="clamator interop driver (Python, clamator 0.1.9)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="serve arith, notifications, kv and typed")
    s.add_argument("--redis-url", required=True)
    s.add_argument("--prefix", required=True)
    s.add_argument("--claim-idle-ms", type=int, default=60_000)
    s.add_argument("--marker-file", default=None)
    s.add_argument("--instance-id", default=None)  # consumers are `<service>:<id>`

    c = sub.add_parser("client", help="run one scenario, print one JSON line")
    c.add_argument("--redis-url", required=True)
    c.add_argument("--prefix", required=True)
    c.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    c.add_argument("--run-id", default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format=f"%(asctime)s py-{args.command}[{os.getpid()}] %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        return asyncio.run(serve(args))
    return asyncio.run(client_main(args))


if __name__ == "__main__":
    sys.exit(main())
