#!/usr/bin/env bash
# hello-JSON through register() against `export default { fetch }`, same binary, same run:
# each app served by `ferry run --workers 1` pinned to CPU 0, wrk pinned to CPU 1 (one
# thread, 50 connections), the two alternating for RUNS rounds; prints each round and the
# medians.
#   scripts/bench/fetch_export.sh target/release/ferry [RUNS] [SECONDS]
set -euo pipefail
ferry=${1:?the ferry binary}
runs=${2:-3}
seconds=${3:-5}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

serve() { # app port
  taskset -c 0 "$ferry" run "$here/fetch-export/$1" --port "$2" --workers 1 --data-dir "$data/$1" \
    > "$data/$1.log" 2>&1 &
  echo $!
}
rate() { # port
  taskset -c 1 wrk -t1 -c50 -d"${seconds}s" "http://127.0.0.1:$1/json" | awk '/Requests\/sec/ { print int($2) }'
}
declare -A results
for round in $(seq 1 "$runs"); do
  for app in register.js default.js; do
    port=$((20000 + RANDOM % 20000))
    pid=$(serve "$app" "$port")
    for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/json" > /dev/null && break; sleep 0.1; done
    taskset -c 1 wrk -t1 -c50 -d1s "http://127.0.0.1:$port/json" > /dev/null
    value=$(rate "$port")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "round $round $app $value req/s"
    results[$app]+="$value "
  done
done
for app in register.js default.js; do
  median=$(echo ${results[$app]} | tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  echo "median $app $median req/s"
done
