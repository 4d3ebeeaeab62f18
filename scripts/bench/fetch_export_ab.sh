#!/usr/bin/env bash
# hello-JSON through register() and `export default { fetch }` on an OLD and a NEW build,
# same run: each server `ferry run --workers 1` pinned to CPU 0, wrk on CPU 1 (one
# thread, 50 connections, 1 s warm-up, 5 s counted), alternating for ROUNDS rounds.
#   scripts/bench/fetch_export_ab.sh OLD/ferry NEW/ferry [ROUNDS] [HEADERS.lua]
# HEADERS.lua, a wrk script, adds request headers (scripts/bench/browser-headers.lua sends
# what a browser sends).
set -euo pipefail
old=$1; new=$2; rounds=${3:-5}
extra=()
if [ -n "${4:-}" ]; then extra=(-s "$4"); fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/fetch-export"
data=$(mktemp -d); trap 'rm -rf "$data"' EXIT
one() { # binary app
  port=$((20000 + RANDOM % 20000))
  taskset -c 0 "$1" run "$here/$2" --port "$port" --workers 1 --data-dir "$data/$RANDOM" > /dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/json" > /dev/null && break; sleep 0.1; done
  taskset -c 1 wrk -t1 -c50 -d1s "http://127.0.0.1:$port/json" > /dev/null
  taskset -c 1 wrk -t1 -c50 -d5s "${extra[@]}" "http://127.0.0.1:$port/json" | awk '/Requests\/sec/ { print int($2) }'
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
for r in $(seq 1 "$rounds"); do
  echo "round $r old-register $(one "$old" register.js) new-register $(one "$new" register.js)" \
    "old-default $(one "$old" default.js) new-default $(one "$new" default.js)"
done
