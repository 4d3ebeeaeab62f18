#!/usr/bin/env python3
"""Side-by-side wrk benchmark of `ferry run` against Node, Deno, Bun and Ferry's Rust example.

Every server answers the same five endpoints (examples/apps/bench.js for ferry run,
examples/rust for the Rust library, scripts/bench/js-peers/ for Node, Deno and Bun). Servers
run one at a time, pinned to CPU 0; wrk runs pinned to CPU 1 with one thread. Within each run
the servers are visited in turn (the order alternates between runs), every endpoint gets a
1-second warm-up that is not counted, and each figure is the median of the runs with its
spread. The wrk runs, boost and CPU accounting come from wrk_compare.py.

Usage:
  scripts/bench/js_compare.py --ferry target/release/ferry \\
      --rust target/release/ferry-example-rust [--deno PATH] [--bun PATH] \\
      [--runs 5] [--duration 5] [--servers ferry-run,ferry-run-pool,ferry-run-auto,rust,node,deno,bun] \\
      [--endpoints hello,json,echo,health,user] [--out docs/benchmarks/result.md]

An old build against a new one (same run): --baseline OLD/ferry adds the servers base-run
and base-run-pool (`ferry run` of that binary), and --reference names the row the ratios
are taken against.

Deno and Bun come from npm (`npm i deno bun`; the packages ship their binaries).
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wrk_compare import boost, free_port, run_wrk, wait_ready  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PEERS = Path(__file__).resolve().parent / "js-peers"

ENDPOINTS = {
    # name: (method, path, description)
    "hello": ("GET", "/hello", "GET /hello (text)"),
    "json": ("GET", "/json", "GET /json (hello-JSON)"),
    "echo": ("POST", "/echo", "POST /echo (1 KiB body echoed)"),
    "health": ("GET", "/health", "GET /health"),
    "user": ("GET", "/users/42", "GET /users/:id"),
}

CONNECTIONS = 50


def server_commands(args, scratch: Path):
    deno_env = {"DENO_NO_UPDATE_CHECK": "1", "DENO_DIR": str(scratch / "deno")}
    return {
        "ferry-run": (lambda port: ferry_run(args, scratch, port, "thread-per-core"), {}),
        "ferry-run-pool": (lambda port: ferry_run(args, scratch, port, "pool"), {}),
        "ferry-run-auto": (lambda port: ferry_run(args, scratch, port, "auto"), {}),
        "base-run": (lambda port: ferry_run(args, scratch, port, "thread-per-core", args.baseline), {}),
        "base-run-pool": (lambda port: ferry_run(args, scratch, port, "pool", args.baseline), {}),
        "rust": (lambda port: [args.rust, f"127.0.0.1:{port}"], {}),
        "node": (lambda port: ["node", str(PEERS / "node.mjs"), str(port)], {}),
        "deno": (lambda port: [args.deno, "run", "--allow-net", str(PEERS / "deno.ts"), str(port)], deno_env),
        "bun": (lambda port: [args.bun, str(PEERS / "bun.js"), str(port)], {}),
    }


def ferry_run(args, scratch: Path, port: int, model: str, binary=None):
    return [
        binary or args.ferry, "run", str(REPO / "examples/apps/bench.js"), "--port", str(port),
        "--quiet", "--no-watch", "--data-dir", str(scratch / "ferry-data"), "--worker-model", model,
    ]


def post_script(scratch: Path) -> Path:
    script = scratch / "post.lua"
    body = "x" * 1024
    script.write_text(
        'wrk.method = "POST"\n'
        f'wrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "text/plain"\n'
    )
    return script


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ferry", default="target/release/ferry")
    parser.add_argument("--rust", default="target/release/ferry-example-rust")
    parser.add_argument("--deno", default=shutil.which("deno") or "deno")
    parser.add_argument("--bun", default=shutil.which("bun") or "bun")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--servers", default="ferry-run,ferry-run-pool,rust,node,deno,bun")
    parser.add_argument("--endpoints", default="hello,json,echo,health,user")
    parser.add_argument("--baseline", help="another ferry binary, served as base-run and base-run-pool")
    parser.add_argument("--reference", help="the server the ratios are against (default: ferry-run)")
    parser.add_argument("--out")
    args = parser.parse_args()
    args.ferry = os.path.abspath(args.ferry)
    if args.baseline:
        args.baseline = os.path.abspath(args.baseline)
    args.rust = os.path.abspath(args.rust)

    servers = [s for s in args.servers.split(",") if s]
    endpoints = [e for e in args.endpoints.split(",") if e]
    scratch = Path(tempfile.mkdtemp(prefix="ferry-js-bench-"))
    try:
        run_all(args, servers, endpoints, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_all(args, servers, endpoints, scratch):
    commands = server_commands(args, scratch)
    lua = post_script(scratch)
    results = {(s, e): [] for s in servers for e in endpoints}
    for run in range(args.runs):
        order = servers if run % 2 == 0 else list(reversed(servers))
        for name in order:
            port = free_port()
            command, extra_env = commands[name]
            log = open(scratch / f"{name}.log", "ab")
            proc = subprocess.Popen(
                ["taskset", "-c", "0"] + command(port),
                stdout=log, stderr=log, start_new_session=True, env={**os.environ, **extra_env},
            )
            boost(proc.pid)
            try:
                wait_ready(port, "/hello", timeout=60)
                for endpoint in endpoints:
                    method, path, _ = ENDPOINTS[endpoint]
                    extra = ["-s", str(lua)] if method == "POST" else []
                    result = run_wrk(port, path, CONNECTIONS, args.duration, proc.pid, extra)
                    results[(name, endpoint)].append(result)
                    print(f"run {run + 1} {name:10} {endpoint:7} {result['rps']:>10,.0f} req/s"
                          f"  p50 {result['p50']:.2f} ms  p99 {result['p99']:.2f} ms"
                          f"  {result['per_cpu_s']:,.0f} req/CPU-s {result['errors']}",
                          file=sys.stderr)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                log.close()
    report = render(args, servers, endpoints, results)
    print(report)
    if args.out:
        Path(args.out).write_text(report)


def render(args, servers, endpoints, results):
    lines = []
    reference = args.reference or ("ferry-run" if "ferry-run" in servers else servers[0])
    for endpoint in endpoints:
        _, _, description = ENDPOINTS[endpoint]
        lines.append(f"### {endpoint}: {description}, {CONNECTIONS} connections "
                     f"({args.runs} runs x {args.duration} s, medians)\n")
        lines.append(f"| server | req/s | req/s min-max | p50 | p99 | p99 min-max | req per server CPU-s | vs {reference} |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        base = statistics.median(r["rps"] for r in results[(reference, endpoint)])
        for name in servers:
            rs = results[(name, endpoint)]
            rps = statistics.median(r["rps"] for r in rs)
            ratio = "1.00" if name == reference else (
                f"{base / rps:.2f}x slower" if rps < base else f"{rps / base:.2f}x faster")
            errors = "; errors: " + ", ".join(r["errors"] for r in rs if r["errors"]) if any(r["errors"] for r in rs) else ""
            lines.append(
                f"| {name} | {rps:,.0f} | {min(r['rps'] for r in rs):,.0f}-{max(r['rps'] for r in rs):,.0f} "
                f"| {statistics.median(r['p50'] for r in rs):.2f} ms | {statistics.median(r['p99'] for r in rs):.2f} ms "
                f"| {min(r['p99'] for r in rs):.2f}-{max(r['p99'] for r in rs):.2f} ms "
                f"| {statistics.median(r['per_cpu_s'] for r in rs):,.0f} | {ratio}{errors} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
