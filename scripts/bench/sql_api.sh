#!/usr/bin/env bash
# Inserts/s and point reads/s through the script SQL API of `ferry run`, on SQLite and on a
# throwaway PostgreSQL cluster (default durability: fsync and synchronous_commit on).
#
#   scripts/bench/sql_api.sh BINARY [ROUNDS=3] [SECONDS=10] [CONNECTIONS=500]
#
# Environment: BACKENDS ("sqlite postgres"), FERRY_ARGS (extra flags, e.g. "--workers 8"),
# PG_SETTINGS (a database setting, e.g. "synchronous_commit = off").
#
# For each back end: ROUNDS rounds of wrk POST /insert (db.prepare().bind().first()), then
# POST /insert-aiwebengine (database.insert), then GET /read (a primary-key read of a random
# row). Prints every round's requests/s and the medians, and checks that every insert
# answered 200 and left a row (the table's count against wrk's request counts).
set -euo pipefail

bin=$(realpath "$1")
rounds=${2:-3}
seconds=${3:-10}
connections=${4:-500}
here=$(cd "$(dirname "$0")" && pwd)
app="$here/sql-api.js"
port=18431
pg_port=18432

work=$(mktemp -d)
chmod 755 "$work"
cleanup() {
  [[ -n "${ferry_pid:-}" ]] && kill "$ferry_pid" 2>/dev/null || true
  if [[ -d "$work/pg" ]]; then as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

pg_bin=${FERRY_TEST_POSTGRES_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u nobody -- "$@"; else "$@"; fi
}

start_postgres() {
  mkdir -p "$work/pg" "$work/sock"
  [[ $(id -u) -eq 0 ]] && chown nobody "$work/pg" "$work/sock"
  as_postgres "$pg_bin/initdb" -D "$work/pg" -U ferry --auth=trust >/dev/null
  as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/sock/log" -w \
    -o "-p $pg_port -k $work/sock -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  as_postgres "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U ferry app
}

start_ferry() {
  # shellcheck disable=SC2086 # FERRY_ARGS: extra flags, split on spaces
  "$bin" run "$app" --port "$port" --quiet --no-watch ${FERRY_ARGS:-} "$@" &
  ferry_pid=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/count" >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "ferry did not start" >&2
  exit 1
}

stop_ferry() {
  kill "$ferry_pid"
  wait "$ferry_pid" 2>/dev/null || true
  ferry_pid=
}

# wrk's requests/s, requests and non-2xx answers for one round.
round() {
  local method=$1 path=$2 script=()
  [[ $method == POST ]] && script=(-s "$here/post.lua")
  wrk -t2 -c"$connections" -d"${seconds}s" --latency "${script[@]}" "http://127.0.0.1:$port$path" >"$work/wrk.txt"
  local rate requests errors p99
  rate=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
  errors=$(awk '/Non-2xx/ {print $5}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  echo "$rate ${requests} ${errors:-0} ${p99}"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() {
  local label=$1
  local inserted=0
  for workload in "POST /insert" "POST /insert-aiwebengine" "GET /read"; do
    local rates=()
    for r in $(seq "$rounds"); do
      read -r rate requests errors p99 < <(round $workload)
      rates+=("$rate")
      [[ $workload == POST* ]] && inserted=$((inserted + requests - errors))
      printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "${workload#* }" "$r" "$rate" "$p99" "$errors"
    done
    printf '| %s | %s | median | **%s** | | |\n' "$label" "${workload#* }" "$(printf '%s\n' "${rates[@]}" | median)"
  done
  local counted
  counted=$(curl -fs "http://127.0.0.1:$port/count")
  echo "$label: rows $counted, inserts answered 2xx $inserted"
}

echo "| back end | workload | round | req/s | p99 | non-2xx |"
echo "|---|---|---:|---:|---:|---:|"
backends=${BACKENDS:-sqlite postgres}
if [[ $backends == *sqlite* ]]; then
  start_ferry --data-dir "$work/data"
  measure sqlite
  stop_ferry
fi
if [[ $backends == *postgres* ]]; then
  start_postgres
  if [[ -n "${PG_SETTINGS:-}" ]]; then
    as_postgres "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U ferry -d app -qc "ALTER DATABASE app SET $PG_SETTINGS"
  fi
  start_ferry --database-url "postgres://ferry@127.0.0.1:$pg_port/app?sslmode=disable" --database-pool 32
  measure postgres
  stop_ferry
fi
