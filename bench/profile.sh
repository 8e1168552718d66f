#!/usr/bin/env bash
# Where the CPU per call goes, per process, for bench/PROFILE.md. Output: bench/results/profile/.
#
#   bench/profile.sh perf [PEER...]       perf record (cpu-clock samples, no call graphs) of the
#                                         load generator, the server process and redis-server
#                                         during `peer/PEER/c64`; flat reports per process by
#                                         DSO and by symbol. Timing-based: the machine's load
#                                         shows in it.
#   bench/profile.sh callgrind [PEER...]  instructions per call of the server process and of the
#                                         load generator under `valgrind --tool=callgrind`: two
#                                         runs of different length, (Ir2 - Ir1) / (calls2 - calls1),
#                                         calls counted by the load generator (no warm-up, so
#                                         nearly every call), so start-up cancels out. Repeatable
#                                         on a busy machine.
#
# PEER: clamator (default), floor-alternating, floor-overlapped. Needs perf or valgrind, and
# redis-server; starts its own redis-server on a free loopback port.
set -euo pipefail

MODE="${1:-perf}"
shift || true
PEERS=("$@")
[[ ${#PEERS[@]} -gt 0 ]] || PEERS=(clamator)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
OUT="$HERE/results/profile"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/clamator-bench"
mkdir -p "$OUT"
cd "$ROOT"
cargo build -q -p clamator-bench --release

source "$HERE/private-redis.sh" profile

# The calls the load generator sent over a whole run, warm-up included (clamator-rs servers may
# write several replies in one XADD, so redis-server's XADD count no longer gives the calls).
sent_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["results"][0]["calls_sent"])' "$1"; }
ir_total() { sed -n 's/^totals: *\([0-9]*\).*/\1/p; s/^summary: *\([0-9]*\).*/\1/p' "$1" | head -1; }

for peer in "${PEERS[@]}"; do
    case "$MODE" in
    perf)
        redis-cli -p "$PORT" config resetstat >/dev/null
        "$BIN" --scenario "peer/$peer/c64" --warmup-ms 1500 --duration-ms 6000 --redis-url "$URL" \
            --json "$OUT/$peer.perf-run.json" >"$OUT/$peer.perf-run.txt" 2>&1 &
        BENCH=$!
        sleep 1.2
        SERVER="$(pgrep -P "$BENCH" | head -1)"
        # One recording per process, side by side over the same 4 s of the measured window.
        recorders=()
        for role in "client:$BENCH" "server:$SERVER" "redis:$REDIS_PID"; do
            perf record -q -e cpu-clock -F 1999 -p "${role#*:}" -o "$OUT/$peer.${role%%:*}.perf.data" -- sleep 4 \
                >/dev/null 2>&1 &
            recorders+=($!)
        done
        wait "${recorders[@]}" || true
        wait "$BENCH" || true
        # Redis commands per call over the whole scenario: calls = the requests the load
        # generator sent, warm-up included (`calls_sent`).
        redis-cli -p "$PORT" info commandstats | tr -d '\r' | python3 -c '
import re, sys
stats = {m.group(1): int(m.group(2)) for m in re.finditer(r"cmdstat_(\w+):calls=(\d+)", sys.stdin.read())}
calls = int(sys.argv[1]) or 1
for cmd, n in sorted(stats.items(), key=lambda kv: -kv[1]):
    if cmd not in ("info", "config", "ping", "hello", "client", "scan", "del"):
        print(f"{n / calls:6.3f} {cmd} per call")
' "$(sent_of "$OUT/$peer.perf-run.json")" >"$OUT/$peer.redis-commands.txt"
        for name in client server redis; do
            data="$OUT/$peer.$name.perf.data"
            role="$name"
            [[ "$name" == redis ]] && role=broker
            us="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["results"][0]["cpu_us_per_call"][sys.argv[2]])' \
                "$OUT/$peer.perf-run.json" "$role" 2>/dev/null || echo 0)"
            { perf report -i "$data" --sort dso --stdio 2>/dev/null || true; } | { grep -v -e '^#' -e '^$' || true; } \
                | head -15 >"$OUT/$peer.$name.dso.txt"
            { perf report -i "$data" --sort dso,sym --stdio 2>/dev/null || true; } | { grep -v -e '^#' -e '^$' || true; } \
                >"$OUT/$peer.$name.sym.txt"
            python3 "$HERE/profile_categories.py" perf "$OUT/$peer.$name.sym.txt" "$us" >"$OUT/$peer.$name.categories.txt"
            rm -f "$data"
        done
        echo "# $peer: $(grep "peer/$peer" "$OUT/$peer.perf-run.txt" | tail -1)"
        ;;
    callgrind)
        declare -A IR_S IR_C CALLS
        for ms in 3000 9000; do
            redis-cli -p "$PORT" config resetstat >/dev/null
            BENCH_SERVER_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$OUT/$peer.server.$ms.cg" \
                valgrind --tool=callgrind --callgrind-out-file="$OUT/$peer.client.$ms.cg" \
                "$BIN" --scenario "peer/$peer/c64" --warmup-ms 0 --duration-ms "$ms" --redis-url "$URL" \
                --json "$OUT/$peer.callgrind-run.$ms.json" >"$OUT/$peer.callgrind-run.$ms.txt" 2>&1 || true
            CALLS[$ms]=$(sent_of "$OUT/$peer.callgrind-run.$ms.json")
            IR_S[$ms]=$(ir_total "$OUT/$peer.server.$ms.cg")
            IR_C[$ms]=$(ir_total "$OUT/$peer.client.$ms.cg")
        done
        dc=$(( CALLS[9000] - CALLS[3000] ))
        ir_server=$(( (IR_S[9000] - IR_S[3000]) / dc ))
        ir_client=$(( (IR_C[9000] - IR_C[3000]) / dc ))
        echo "# $peer: calls ${CALLS[3000]} -> ${CALLS[9000]}; instructions per call: server $ir_server, client (load generator) $ir_client" \
            | tee "$OUT/$peer.callgrind.txt"
        for side in server client; do
            per_call=$ir_server
            [[ $side == client ]] && per_call=$ir_client
            callgrind_annotate --inclusive=no --threshold=100 "$OUT/$peer.$side.9000.cg" 2>/dev/null \
                >"$OUT/$peer.$side.annotate.txt" || true
            python3 "$HERE/profile_categories.py" callgrind "$OUT/$peer.$side.annotate.txt" "$per_call" \
                >"$OUT/$peer.$side.ir-categories.txt"
            head -70 "$OUT/$peer.$side.annotate.txt" >"$OUT/$peer.$side.annotate.top.txt"
            rm -f "$OUT/$peer.$side.annotate.txt"
        done
        rm -f "$OUT"/"$peer".*.cg
        ;;
    *) echo "unknown mode $MODE (perf or callgrind)" >&2; exit 2 ;;
    esac
done
