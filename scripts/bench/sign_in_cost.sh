#!/usr/bin/env bash
# What a signed-in request costs against an anonymous one, on the same server and route:
# `ferry run examples/apps/bench.js --dev` (the development sign-in opens a session without
# a provider), GET /hello with and without the session cookie.
#
# Two measures, in one run:
#   1. callgrind instructions per request (steady on a noisy machine): the server answers
#      500 and then 3,500 keep-alive requests; the difference / 3,000; median of 3;
#   2. wrk requests per second, server pinned to CPU 0 and wrk to CPU 1, ROUNDS rounds that
#      alternate anonymous and signed-in, DURATION seconds each; medians.
# A third figure is anonymous requests with sign-in off, the cost of the step itself.
#
# Usage: scripts/bench/sign_in_cost.sh FERRY_BINARY [ROUNDS] [DURATION]
set -euo pipefail
binary=$(realpath "$1")
rounds=${2:-5}
duration=${3:-5}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
scratch=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$scratch"' EXIT

# A session id for the server on `$1`: the development sign-in's form, posted by curl.
session_for() {
  curl -s -o /dev/null -D - -X POST "http://127.0.0.1:$1/auth/login/dev" \
    --data 'name=Bench&email=bench@example.com&role=authenticated&redirect=/' |
    awk -F'[=;]' 'tolower($1) ~ /^set-cookie: ferry_session$/ { print $2 }' | tr -d '\r'
}

wait_for() {
  for _ in $(seq 1 300); do
    curl -s -o /dev/null "http://127.0.0.1:$1/hello" && return 0
    sleep 0.1
  done
  echo "the server on port $1 did not start" >&2
  return 1
}

cat > "$scratch/client.py" <<'PY'
import http.client, sys
port, count, cookie = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
headers = {"Cookie": f"ferry_session={cookie}"} if cookie else {}
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(count):
    connection.request("GET", "/hello", headers=headers)
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
PY

# Instructions per request of a server started with `$1` (extra flags), as `$2`
# (anonymous | signed-in): the median of three measurements.
instructions() {
  local results=()
  for _ in 1 2 3; do
    results+=("$(instructions_once "$1" "$2")")
  done
  printf '%s\n' "${results[@]}" | sort -n | sed -n 2p
}

instructions_once() {
  local flags=$1 who=$2 totals=()
  for count in 500 3500; do
    local port=$((20000 + RANDOM % 20000))
    rm -rf "$scratch/data"
    # shellcheck disable=SC2086
    valgrind --tool=callgrind --callgrind-out-file="$scratch/out" \
      "$binary" run "$repo/examples/apps/bench.js" --port "$port" --quiet --no-watch \
      --data-dir "$scratch/data" --workers 1 $flags >"$scratch/log" 2>&1 &
    local server=$!
    wait_for "$port"
    local cookie=""
    [ "$who" = signed-in ] && cookie=$(session_for "$port")
    python3 "$scratch/client.py" "$port" "$count" "$cookie"
    kill -INT "$server"
    wait "$server" || true
    totals+=("$(awk '/^(summary|totals):/ { print $2; exit }' "$scratch/out")")
  done
  echo $(( (totals[1] - totals[0]) / 3000 ))
}

echo "callgrind, instructions per request (GET /hello, one worker, median of 3):"
off=$(instructions "" anonymous)
anonymous=$(instructions "--dev" anonymous)
signed_in=$(instructions "--dev" signed-in)
echo "  sign-in off, anonymous: $off"
echo "  sign-in on, anonymous:  $anonymous"
echo "  sign-in on, signed in:  $signed_in"
awk -v a="$anonymous" -v s="$signed_in" -v o="$off" 'BEGIN {
  printf "  signed in / anonymous: %.3f; sign-in on / off (anonymous): %.3f\n", s / a, a / o }'

# wrk: one server, rounds alternating anonymous and signed-in.
port=$((20000 + RANDOM % 20000))
rm -rf "$scratch/data"
taskset -c 0 "$binary" run "$repo/examples/apps/bench.js" --port "$port" --quiet --no-watch \
  --data-dir "$scratch/data" --workers 1 --dev >"$scratch/wrk-server.log" 2>&1 &
wait_for "$port"
cookie=$(session_for "$port")
rate() {
  taskset -c 1 wrk -t1 -c50 -d"${duration}s" "$@" "http://127.0.0.1:$port/hello" |
    awk '/^Requests\/sec:/ { print $2 }'
}
taskset -c 1 wrk -t1 -c50 -d1s "http://127.0.0.1:$port/hello" >/dev/null
declare -a anon_rates signed_rates
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then
    anon_rates+=("$(rate)")
    signed_rates+=("$(rate -H "Cookie: ferry_session=$cookie")")
  else
    signed_rates+=("$(rate -H "Cookie: ferry_session=$cookie")")
    anon_rates+=("$(rate)")
  fi
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
anon_median=$(median "${anon_rates[@]}")
signed_median=$(median "${signed_rates[@]}")
echo "wrk -t1 -c50 -d${duration}s, $rounds rounds, req/s (median; all):"
echo "  anonymous: $anon_median (${anon_rates[*]})"
echo "  signed in: $signed_median (${signed_rates[*]})"
awk -v a="$anon_median" -v s="$signed_median" 'BEGIN { printf "  signed in / anonymous: %.3f\n", s / a }'
