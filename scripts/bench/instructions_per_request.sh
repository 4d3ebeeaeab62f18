#!/usr/bin/env bash
# Instructions one request costs Ferry, counted by valgrind's callgrind: repeatable
# whatever else the machine is doing, unlike req/s. The server answers FEW and then MANY
# keep-alive requests from one client in two runs; the difference divided by MANY - FEW is
# the cost of one request, start-up excluded.
#
# Usage: scripts/bench/instructions_per_request.sh FERRY_BINARY [MODEL] [PATH] [FEW] [MANY]
#   MODEL: pool (default) or thread-per-core, for `ferry run examples/apps/bench.js`; or
#          serve, for `ferry serve` of a directory holding a 1 KiB file, /1k.html
#   PATH:  /hello (default), /json, ... (for serve: /1k.html)
set -euo pipefail
binary=$1
model=${2:-pool}
path=${3:-/hello}
few=${4:-500}
many=${5:-3500}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/site"
head -c 1024 /dev/zero | tr '\0' 'x' >"$scratch/site/1k.html"

cat > "$scratch/client.py" <<'PY'
import http.client, sys, time
port, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for _ in range(600):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", path)
        connection.getresponse().read()
        break
    except OSError:
        time.sleep(0.2)
for _ in range(count):
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
PY

# Total instructions of a server that answered `$1` requests.
count() {
  local port=$((20000 + RANDOM % 20000))
  if [ "$model" = serve ]; then
    valgrind --tool=callgrind --callgrind-out-file="$scratch/out" \
      "$binary" serve "$scratch/site" --port "$port" --quiet >"$scratch/log" 2>&1 &
  else
    valgrind --tool=callgrind --callgrind-out-file="$scratch/out" \
      "$binary" run "$repo/examples/apps/bench.js" --port "$port" --quiet --no-watch \
      --data-dir "$scratch/data" --worker-model "$model" --workers 1 >"$scratch/log" 2>&1 &
  fi
  local server=$!
  python3 "$scratch/client.py" "$port" "$path" "$1"
  kill -INT "$server"
  wait "$server" || true
  awk '/^(summary|totals):/ { print $2; exit }' "$scratch/out"
}

low=$(count "$few")
high=$(count "$many")
echo "$(( (high - low) / (many - few) )) instructions per request ($model, GET $path)"
