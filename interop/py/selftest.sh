#!/usr/bin/env bash
# Self-check of the Python interop driver against a private, throwaway redis-server.
# Python client -> Python server for every scenario, plus the crash/reclaim scenario
# (server A killed -9 mid-call, server B reclaims). Prints each outcome line.
# This is not the real interop runner (that one is in Rust); it only shows that the
# Python half works. Never touches port 6379.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INTEROP="$(dirname "$HERE")"
VENV="$INTEROP/.venv"
DRIVER="$HERE/driver.py"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "# creating $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$INTEROP/requirements.txt"
fi
PY="$VENV/bin/python"

WORK="$(mktemp -d -t clamator-interop-selftest.XXXXXX)"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]:-}"; do
        [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]:-}"; do
        [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- private redis -------------------------------------------------------------------
PORT="$("$PY" - <<'EOF'
import socket
while True:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    if port != 6379:
        print(port)
        break
EOF
)"
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
    >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
URL="redis://127.0.0.1:$PORT/0"
for _ in $(seq 1 100); do
    if redis-cli -p "$PORT" ping >/dev/null 2>&1; then break; fi
    sleep 0.05
done
redis-cli -p "$PORT" ping >/dev/null
echo "# redis on port $PORT" >&2

# start_server NAME PREFIX [extra serve args...] -> sets SERVER_PID, waits for READY
start_server() {
    local name="$1" prefix="$2"; shift 2
    local out="$WORK/$name.out"
    : >"$out"
    "$PY" "$DRIVER" serve --redis-url "$URL" --prefix "$prefix" "$@" \
        >"$out" 2>"$WORK/$name.err" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 1 200); do
        if grep -q '^READY ' "$out"; then
            echo "# $name: $(head -n1 "$out")" >&2
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
        sleep 0.05
    done
    echo "server $name did not become READY" >&2
    cat "$WORK/$name.err" >&2
    return 1
}

client() {  # client PREFIX SCENARIO [extra args]  (stderr kept in $WORK/client-SCENARIO.err)
    local prefix="$1" scenario="$2"; shift 2
    local rc=0
    timeout 120 "$PY" "$DRIVER" client --redis-url "$URL" --prefix "$prefix" \
        --scenario "$scenario" "$@" 2>"$WORK/client-$scenario.err" || rc=$?
    if [[ $rc -ne 0 ]]; then
        echo "client $scenario exited $rc" >&2
        cat "$WORK/client-$scenario.err" >&2
        return "$rc"
    fi
}

# --- every scenario, python client -> python server -----------------------------------
PREFIX="selftest/$(date +%s)-$$:main"
start_server main "$PREFIX"
MAIN_PID=$SERVER_PID

for sc in basic unicode large rpc_error unknown_method invalid_params \
          snake_case_rejected camel_case notification timeout concurrent ordering \
          pool whoami; do
    out="$(client "$PREFIX" "$sc")"
    printf '%-20s %s\n' "$sc" "$out"
done

kill -TERM "$MAIN_PID"
if wait "$MAIN_PID"; then echo "# main server exited 0 on SIGTERM" >&2
else echo "# main server exit status $? on SIGTERM" >&2; exit 1; fi

# --- crash: server A killed -9 mid-call, server B reclaims ----------------------------
CPREFIX="selftest/$(date +%s)-$$:crash"
MARKER="$WORK/marker"
start_server crashA "$CPREFIX" --claim-idle-ms 1000 --marker-file "$MARKER"
A_PID=$SERVER_PID

client "$CPREFIX" crash >"$WORK/crash.out" &
CLIENT_PID=$!
for _ in $(seq 1 200); do [[ -s "$MARKER" ]] && break; sleep 0.05; done
[[ -s "$MARKER" ]] || { echo "marker file never appeared" >&2; exit 1; }
kill -9 "$A_PID"
wait "$A_PID" 2>/dev/null || true
echo "# killed server A (pid $A_PID) mid-call" >&2

start_server crashB "$CPREFIX" --claim-idle-ms 1000
B_PID=$SERVER_PID
wait "$CLIENT_PID"
printf '%-20s %s\n' crash "$(cat "$WORK/crash.out")"
echo "# crash: server A pid $A_PID, server B pid $B_PID" >&2
kill -TERM "$B_PID"
wait "$B_PID"
