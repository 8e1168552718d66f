# Sourced by bench/run.sh and bench/profile.sh: starts one private redis-server on a free
# loopback port (never 6379), stops it (by its pid) when the sourcing script exits, and sets
# PORT, URL, REDIS_PID and REDIS_DIR.
#
#   source "$HERE/private-redis.sh" <tag>    # <tag> names the temporary directory
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
REDIS_DIR="$(mktemp -d -t "clamator-${1:-bench}-redis.XXXXXX")"
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$REDIS_DIR" \
    --loglevel warning >"$REDIS_DIR/redis.log" 2>&1 &
REDIS_PID=$!
cleanup() {
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    rm -rf "$REDIS_DIR"
}
trap cleanup EXIT
for _ in $(seq 100); do
    if redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG; then break; fi
    sleep 0.05
done
redis-cli -p "$PORT" ping | grep -q PONG || { echo "redis-server did not start" >&2; cat "$REDIS_DIR/redis.log" >&2; exit 1; }
URL="redis://127.0.0.1:$PORT"
