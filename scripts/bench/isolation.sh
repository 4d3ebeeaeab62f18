#!/usr/bin/env bash
# A slow route beside a quick one, in each worker model: `ferry run` of a two-route app
# (GET /hello answers at once, GET /slow computes for 200 ms) with --workers 2 on both
# cores, one client calling /slow in a loop while wrk -c50 measures /hello (1 s after
# the loop starts, 5 s counted), ROUNDS rounds. What a slow handler costs everyone else.
#   scripts/bench/isolation.sh FERRY [ROUNDS]
set -euo pipefail
ferry=$1; rounds=${2:-3}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
cat > "$dir/app.js" <<'EOF'
register("/hello", () => "hello");
register("/slow", () => { const end = Date.now() + 200; while (Date.now() < end) {} return "slow"; });
EOF
for round in $(seq 1 "$rounds"); do
  for model in auto pool thread-per-core; do
    port=$((20000 + RANDOM % 20000))
    "$ferry" run "$dir/app.js" --port "$port" --quiet --no-watch --workers 2 \
      --worker-model "$model" --data-dir "$dir/data-$model-$round" > /dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/hello" > /dev/null && break; sleep 0.1; done
    # Past the auto model's trials for /hello.
    for _ in $(seq 1 20); do curl -s -o /dev/null "http://127.0.0.1:$port/hello"; done
    ( while true; do curl -s -o /dev/null "http://127.0.0.1:$port/slow"; done ) &
    loop=$!
    sleep 1
    out=$(wrk -t1 -c50 -d5s --latency "http://127.0.0.1:$port/hello")
    kill "$loop"; wait "$loop" 2>/dev/null || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rate=$(awk '/Requests\/sec/ { print int($2) }' <<< "$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<< "$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<< "$out")
    echo "round $round  $model  $rate req/s  p50 $p50  p99 $p99"
  done
done
