#!/usr/bin/env bash
# hello-JSON over one connection (what a request's latency allows, not a core's
# throughput): `ferry run examples/apps/bench.js` of an OLD and a NEW build in the pool
# model, NEW in the auto and thread-per-core models, and Node
# (scripts/bench/js-peers/node.mjs), each pinned to CPU 0 with wrk -c1 on CPU 1, 1 s
# warm-up, 5 s counted, ROUNDS rounds.
#   scripts/bench/single_connection.sh OLD/ferry NEW/ferry [ROUNDS]
set -euo pipefail
old=$1; new=$2; rounds=${3:-3}
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
data=$(mktemp -d); trap 'rm -rf "$data"' EXIT
one() { # label command... (the port is appended)
  local label=$1; shift
  local port=$((20000 + RANDOM % 20000))
  taskset -c 0 "$@" "$port" > /dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/json" > /dev/null && break; sleep 0.1; done
  taskset -c 1 wrk -t1 -c1 -d1s "http://127.0.0.1:$port/json" > /dev/null
  local rate
  rate=$(taskset -c 1 wrk -t1 -c1 -d5s "http://127.0.0.1:$port/json" | awk '/Requests\/sec/ { print int($2) }')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  printf '%s %s  ' "$label" "$rate"
}
run() { # binary model
  echo "$1" run "$repo/examples/apps/bench.js" --quiet --no-watch --data-dir "$data/$RANDOM" --worker-model "$2" --port
}
for round in $(seq 1 "$rounds"); do
  printf 'round %s  ' "$round"
  # shellcheck disable=SC2046
  one old-pool $(run "$old" pool)
  # shellcheck disable=SC2046
  one new-pool $(run "$new" pool)
  # shellcheck disable=SC2046
  one new-auto $(run "$new" auto)
  # shellcheck disable=SC2046
  one new-thread-per-core $(run "$new" thread-per-core)
  one node node "$repo/scripts/bench/js-peers/node.mjs"
  echo
done
