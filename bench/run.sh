#!/usr/bin/env bash
# Runs the whole benchmark suite once and writes BENCHMARKS.md at the repository root.
#
#   bench/run.sh [--duration-ms N] [--warmup-ms N] [--rounds N]
#                (defaults: 2000 ms window after a 200 ms warm-up, 3 rounds)
#
# 1. builds clamator-bench in release mode;
# 2. makes sure the Python reference venv (interop/.venv, clamator 0.1.9) exists;
# 3. starts ONE private redis-server on a free loopback port (never 6379), used by every
#    scenario of both languages, one scenario at a time;
# 4. runs the Rust scenarios (the raw Redis floor scenarios and the diagnostic one interleaved,
#    each right before the Redis scenarios of the same concurrency), then the peer scenarios
#    (each server in a process of its own: clamator-rs, the alternating and overlapped raw
#    floors, a JetStream work queue, gRPC, core NATS against a nats-server the bench starts,
#    Python 0.1.9 as server and as client), then the Python 0.1.9 in-process reference; each
#    side runs its whole list N times in turn and reports per-figure medians, to damp drift
#    in machine load;
# 5. runs the Redis Cluster spread comparison (clamator-bench spread: the same services
#    on one redis-server and on a private 3-master cluster, alternating, with each
#    redis-server's CPU);
# 6. generates BENCHMARKS.md from the two result files (clamator-bench report) and appends
#    the spread section.
#
# Raw results (every round) are kept in bench/results/. Total time with the defaults: about
# 8-9 minutes on 2 cores. The peer scenarios need nats-server (Debian package nats-server)
# and are skipped with a message without it.
set -euo pipefail

DURATION_MS=2000
WARMUP_MS=200
ROUNDS=3
while [[ $# -gt 0 ]]; do
    case "$1" in
        --duration-ms) DURATION_MS="$2"; shift 2 ;;
        --warmup-ms) WARMUP_MS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
RESULTS="$HERE/results"
VENV="$ROOT/interop/.venv"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/clamator-bench"
mkdir -p "$RESULTS"
cd "$ROOT"

echo "# building clamator-bench (release)" >&2
cargo build -p clamator-bench --release

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "# creating $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$ROOT/interop/requirements.txt"
fi
PY="$VENV/bin/python"

# One private redis-server for everything.
source "$HERE/private-redis.sh" bench
echo "# redis-server pid $REDIS_PID on $URL" >&2

COMMON=(--duration-ms "$DURATION_MS" --warmup-ms "$WARMUP_MS" --rounds "$ROUNDS" --redis-url "$URL")
status=0

echo "# Rust (clamator-rs), the raw Redis floors and the peers" >&2
"$BIN" "${COMMON[@]}" --diag --json "$RESULTS/rust.json" || status=1

echo "# Python (clamator 0.1.9)" >&2
"$PY" "$HERE/py/bench.py" run "${COMMON[@]}" --json "$RESULTS/python.json" || status=1

echo "# Redis Cluster spread (one node vs 3 masters)" >&2
"$BIN" spread "$RESULTS/spread.md" --duration-ms "$DURATION_MS" --warmup-ms "$WARMUP_MS" --rounds "$ROUNDS" || status=1

BENCH_RUSTC_VERSION="$(rustc --version)" "$BIN" report "$ROOT/BENCHMARKS.md" \
    --rust-json "$RESULTS/rust.json" --python-json "$RESULTS/python.json" --changes "$HERE/changes.md"
if [[ -f "$RESULTS/spread.md" ]]; then cat "$RESULTS/spread.md" >> "$ROOT/BENCHMARKS.md"; fi
exit "$status"
