#!/usr/bin/env bash
# Delivery latency of stream messages across two `ferry run` nodes on one PostgreSQL, with
# 1,000 subscribers on each node, beside the same measurement within one node.
#
#   [RATE=50] scripts/bench/cluster_latency.sh FERRY_BINARY SSE_FANOUT_BINARY [RUNS=3] [SECONDS=5]
#
# SSE_FANOUT_BINARY is crates/ferry-bench/examples/sse_fanout.rs, built with
# `cargo build --release -p ferry-bench --example sse_fanout`. Node A serves 1,000
# subscribers of /local (a publisher keeps them busy); node B serves the 1,000 measured
# subscribers of /stream. Cross-node: published on A, delivered by B. Same node: published
# on B, delivered by B. Messages go at RATE per second (below what one node can deliver
# to 1,000 clients here), so the latency is that of a node keeping up, not of a backlog. Each message carries its publication time; the tool reports
# p50/p99/max of publication-to-arrival and counts missing deliveries.
set -euo pipefail

ferry=$(realpath "$1")
fanout=$(realpath "$2")
runs=${3:-3}
seconds=${4:-5}
here=$(cd "$(dirname "$0")" && pwd)
app="$here/cluster-fanout.js"
port_a=18441
port_b=18442
pg_port=18443

work=$(mktemp -d)
chmod 755 "$work"
pids=()
pg_bin=${FERRY_TEST_POSTGRES_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u nobody -- "$@"; else "$@"; fi
}
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ -d "$work/pg" ]]; then as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/pg" "$work/sock"
[[ $(id -u) -eq 0 ]] && chown nobody "$work/pg" "$work/sock"
as_postgres "$pg_bin/initdb" -D "$work/pg" -U ferry --auth=trust >/dev/null
as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/sock/log" -w \
  -o "-p $pg_port -k $work/sock -c listen_addresses=127.0.0.1" start >/dev/null
as_postgres "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U ferry app
url="postgres://ferry@127.0.0.1:$pg_port/app?sslmode=disable"

for port in $port_a $port_b; do
  "$ferry" run "$app" --port "$port" --quiet --no-watch --database-url "$url" \
    --data-dir "$work/data-$port" --sse-max-clients 3000 &
  pids+=($!)
done
for port in $port_a $port_b; do
  for _ in $(seq 100); do
    curl -fs -o /dev/null -X POST "http://127.0.0.1:$port/publish-local" && break
    sleep 0.1
  done
done

# The publishing node's own crowd, busy for the whole measurement.
busy=$(( (runs * (seconds + 2) + 4) * 2 + 10 ))
"$fanout" --stream "http://127.0.0.1:$port_a/local" --publish "http://127.0.0.1:$port_a/publish-local" \
  --subscribers 1000 --publishers 1 --rate "${RATE:-50}" --duration "$busy" --runs 1 >"$work/local.txt" &
pids+=($!)
sleep 3

echo "### across nodes: published on A, 1,000 subscribers on B"
"$fanout" --stream "http://127.0.0.1:$port_b/stream" --publish "http://127.0.0.1:$port_a/publish" \
  --subscribers 1000 --publishers 4 --rate "${RATE:-50}" --duration "$seconds" --runs "$runs"
echo
echo "### within one node: published on B, 1,000 subscribers on B"
"$fanout" --stream "http://127.0.0.1:$port_b/stream" --publish "http://127.0.0.1:$port_b/publish" \
  --subscribers 1000 --publishers 4 --rate "${RATE:-50}" --duration "$seconds" --runs "$runs"
wait "${pids[-1]}" || true
echo
echo "### the publishing node's own 1,000 subscribers of /local meanwhile"
cat "$work/local.txt"
