#!/usr/bin/env bash
# Measures limits-throttle through Redis beside what Redis itself does, in
# one run on one server: redis-benchmark's EVALSHA of a script that only
# returns (the floor any script-based throttle stands on) and of the
# throttle's own script (server time per call), then the criterion bench
# (acquires/s and latency from one process with 1, 8 and 32 tasks, and the
# in-process comparison with governor).
# Usage: scripts/throttle-bench.sh   (uses REDIS_URL, or starts redis-server
# on a free loopback port; needs redis-server and redis-benchmark)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${REDIS_URL:-}" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  dir=$(mktemp -d)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export REDIS_URL="redis://127.0.0.1:$port/"
fi
hostport=${REDIS_URL#redis://}
hostport=${hostport%/}
host=${hostport%:*}
port=${hostport##*:}
echo "redis-server $(redis-server --version | grep -o 'v=[0-9.]*') at $REDIS_URL"

rps() { # clients, command...
  local clients=$1
  shift
  redis-benchmark -h "$host" -p "$port" -c "$clients" -n 200000 -q "$@" 2>&1 | tr '\r' '\n' |
    grep -o '[0-9.]* requests per second' | tail -1
}
noop=$(redis-cli -h "$host" -p "$port" SCRIPT LOAD "return 1")
ours=$(redis-cli -h "$host" -p "$port" SCRIPT LOAD "$(cat "$repo/crates/limits-throttle/src/admission.lua")")
# The throttle's arguments for huge limits, bursty pacing, a 60 s window.
args=(decide "" 60000000 1000000 4000 100000 1000000 4294967295 4294967295 1000000 1000000 500000 100000 100000 100)
for clients in 1 8 32; do
  echo "redis-benchmark, $clients clients: EVALSHA return 1: $(rps "$clients" EVALSHA "$noop" 0)"
  echo "redis-benchmark, $clients clients: EVALSHA admission.lua: $(rps "$clients" EVALSHA "$ours" 3 \
    "{bench-$clients}:h" "{bench-$clients}:s" "{bench-$clients}:m" "${args[@]}")"
done
cd "$repo"
cargo bench -p limits-throttle --features redis --bench acquire 2>&1 |
  grep -E '^acquire|time:|thrpt:|latency' | grep -v '%'
