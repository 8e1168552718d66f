#!/usr/bin/env bash
# Before/after of a hot-path change, side by side: each given clamator-bench binary in turn
# against ONE private redis-server (never 6379), ROUNDS times, at 64 and 1 in flight, beside
# the overlapped raw floor of the same run. Prints one line per binary and round with the
# ratios to the floor: calls/s and total CPU per call at c64, p50 at c1.
#
#   cargo build --release -p clamator-bench && cp target/release/clamator-bench /tmp/before
#   ... change ...
#   cargo build --release -p clamator-bench && cp target/release/clamator-bench /tmp/after
#   bench/ab.sh 3 /tmp/before /tmp/after
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n '2,11p' "$0"; exit 2; }
ROUNDS="$1"
shift
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/private-redis.sh" ab
OUT="$(mktemp -d -t clamator-ab.XXXXXX)"
for round in $(seq "$ROUNDS"); do
    for bin in "$@"; do
        json="$OUT/$(basename "$bin").$round.json"
        "$bin" --redis-url "$URL" --scenario peer/clamator/c64 --scenario peer/floor-overlapped/c64 \
            --scenario peer/clamator/c1 --scenario peer/floor-overlapped/c1 --duration-ms 2000 --json "$json" >/dev/null
        python3 - "$json" "$(basename "$bin")" "$round" <<'PY'
import json, sys
runs = {r["scenario"]: r for r in json.load(open(sys.argv[1]))["results"]}
c, f = runs["peer/clamator/c64"], runs["peer/floor-overlapped/c64"]
one, floor_one = runs["peer/clamator/c1"], runs["peer/floor-overlapped/c1"]
cpu = lambda r: r["cpu_us_per_call"]["total"]
print(f"{sys.argv[2]:>20} round {sys.argv[3]}: c64 {c['calls_per_sec']:8.0f} calls/s "
      f"({c['calls_per_sec'] / f['calls_per_sec']:.2f}x floor), CPU {cpu(c):5.1f} us/call "
      f"({cpu(c) / cpu(f):.2f}x); c1 p50 {one['p50_us']:6.1f} us ({one['p50_us'] / floor_one['p50_us']:.2f}x)")
PY
    done
done
rm -rf "$OUT"
