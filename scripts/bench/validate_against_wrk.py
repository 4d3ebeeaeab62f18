#!/usr/bin/env python3
"""Checks ferry bench's load generator against wrk on the same targets and settings.

For each target URL, wrk and `ferry bench --target` take turns (alternating which goes first)
for --runs rounds, both pinned to CPU 1 with one thread and the same connection count,
duration and warm-up, while the server under test runs pinned to CPU 0. The script prints the
medians of requests/s and p50 latency of each tool and their difference.

Usage:
  scripts/bench/validate_against_wrk.py --ferry target/release/ferry --runs 5 \\
      --duration 5 --connections 50 URL [URL ...]

The servers must already be running (see docs/benchmarks/ferry-bench-vs-wrk.md).
"""

import argparse
import json
import re
import statistics
import subprocess
import tempfile
from pathlib import Path


def wrk(url, connections, seconds, warmup):
    base = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", "--latency", "--timeout", "5s"]
    subprocess.run(base + [f"-d{warmup}s", url], capture_output=True, check=True)
    out = subprocess.run(base + [f"-d{seconds}s", url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    number, unit = re.search(r"^\s+50%\s+([\d.]+)(\w+)", out, re.M).groups()
    p50 = float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rps, p50


def ferry_bench(ferry, url, connections, seconds, warmup):
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "run.json"
        subprocess.run(
            [ferry, "bench", "--target", url, "--pin", "--connections", str(connections),
             "--duration", f"{seconds}s", "--warmup", f"{warmup}s", "--runs", "1", "--json", str(out)],
            capture_output=True, check=True)
        sample = json.loads(out.read_text())["results"]["samples"][0]
        return sample["requests_per_second"], sample["latency"]["p50"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ferry", default="target/release/ferry")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()

    print("| target | wrk req/s | ferry bench req/s | difference | wrk p50 | ferry bench p50 | difference |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for url in args.urls:
        results = {"wrk": [], "ferry": []}
        for run in range(args.runs):
            order = ["wrk", "ferry"] if run % 2 == 0 else ["ferry", "wrk"]
            for tool in order:
                if tool == "wrk":
                    results[tool].append(wrk(url, args.connections, args.duration, args.warmup))
                else:
                    results[tool].append(ferry_bench(args.ferry, url, args.connections, args.duration, args.warmup))
        med = lambda tool, index: statistics.median(r[index] for r in results[tool])
        w_rps, f_rps, w_p50, f_p50 = med("wrk", 0), med("ferry", 0), med("wrk", 1), med("ferry", 1)
        print(f"| {url} | {w_rps:,.0f} | {f_rps:,.0f} | {100 * (f_rps - w_rps) / w_rps:+.1f}% "
              f"| {w_p50:.2f} ms | {f_p50:.2f} ms | {100 * (f_p50 - w_p50) / w_p50:+.1f}% |", flush=True)


if __name__ == "__main__":
    main()
