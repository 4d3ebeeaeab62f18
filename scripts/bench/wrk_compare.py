#!/usr/bin/env python3
"""Side-by-side wrk benchmark of static file servers on loopback.

Servers run one at a time, pinned to CPU 0; wrk runs pinned to CPU 1. Within each run the
servers are visited in turn (the order alternates between runs), every workload gets a
1-second warm-up that is not counted, and each figure reported is the median of the runs
with its min-max spread. Run as root to give the server and wrk a scheduling boost
(autogroup nice -10) on a machine shared with other work.

Usage:
  scripts/bench/wrk_compare.py --ferry target/release/ferry [--runs 5] [--duration 5]
      [--servers ferry,ferry-log,python,nginx] [--out docs/benchmarks/result.md]
  --baseline OLD/ferry adds the server `base`: `ferry serve` of that binary, for an old
  build against a new one in the same run.

Requires: wrk, taskset (util-linux), python3; nginx is optional (skipped when missing).
"""

import argparse
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

WORKLOADS = {
    # name: (path, connections, description)
    "small": ("/small.html", 50, "1 KiB HTML file, 50 connections"),
    "wasm": ("/app.wasm", 20, "2 MiB .wasm file, 20 connections"),
    "wasm-c1": ("/app.wasm", 1, "2 MiB .wasm file, 1 connection"),
}

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every process in the server's process group."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp, ..., utime (field 14), stime (15).
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_fixtures(root: Path):
    rng = random.Random(42)
    head = "<!DOCTYPE html>\n<title>small</title>\n<p>"
    tail = "</p>\n"
    (root / "small.html").write_text(head + "x" * (1024 - len(head) - len(tail)) + tail)
    (root / "app.wasm").write_bytes(b"\0asm\x01\0\0\0" + rng.randbytes(2 * 1024 * 1024 - 8))


def nginx_command(root: Path, port: int, scratch: Path):
    conf = scratch / f"nginx-{port}.conf"
    conf.write_text(
        f"""worker_processes {os.cpu_count()};
daemon off;
error_log {scratch}/nginx-error.log;
pid {scratch}/nginx-{port}.pid;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 75s;
  client_body_temp_path {scratch}/body;
  proxy_temp_path {scratch}/proxy;
  fastcgi_temp_path {scratch}/fastcgi;
  uwsgi_temp_path {scratch}/uwsgi;
  scgi_temp_path {scratch}/scgi;
  server {{ listen 127.0.0.1:{port}; root {root}; autoindex on; }}
}}
"""
    )
    return ["nginx", "-c", str(conf), "-p", str(scratch)]


def server_commands(ferry: str, root: Path, scratch: Path, baseline=None):
    return {
        "ferry": lambda port: [ferry, "serve", str(root), "--port", str(port), "--quiet"],
        "base": lambda port: [baseline, "serve", str(root), "--port", str(port), "--quiet"],
        "ferry-log": lambda port: [ferry, "serve", str(root), "--port", str(port)],
        "python": lambda port: [
            sys.executable, "-m", "http.server", str(port),
            "--bind", "127.0.0.1", "--directory", str(root),
        ],
        "nginx": lambda port: nginx_command(root, port, scratch),
    }


def boost(pid: int):
    """Autogroup nice -10: other sessions' builds otherwise get the same CPU share."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text("-10")
    except OSError:
        pass


def wait_ready(port: int, path: str, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as r:
                if r.status == 200:
                    r.read()
                    return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"server on port {port} did not become ready")


def parse_wrk(text: str):
    def latency_ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = latency_ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = latency_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    errors = re.search(r"Socket errors: (.*)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "errors": (errors.group(1) if errors else "") + (f" non2xx={non2xx.group(1)}" if non2xx else ""),
    }


def run_wrk(port: int, path: str, connections: int, seconds: int, server_pgid: int, extra=()):
    """One measured wrk run (after a 1 s warm-up), with the server's CPU per request;
    `extra` holds further wrk options, such as `-s script.lua`."""
    url = f"http://127.0.0.1:{port}{path}"
    base = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", "--latency", "--timeout", "5s", *extra]
    subprocess.run(base + ["-d1s", url], capture_output=True, check=True)  # warm-up, not counted
    cpu_before = group_cpu_seconds(server_pgid)
    proc = subprocess.Popen(base + [f"-d{seconds}s", url], stdout=subprocess.PIPE, text=True)
    boost(proc.pid)
    out, _ = proc.communicate()
    result = parse_wrk(out)
    cpu = group_cpu_seconds(server_pgid) - cpu_before
    result["per_cpu_s"] = result["rps"] * seconds / cpu if cpu > 0 else float("nan")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ferry", default="target/release/ferry")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--servers", default="ferry,ferry-log,python,nginx")
    parser.add_argument("--workloads", default="small,wasm,wasm-c1")
    parser.add_argument("--baseline", help="another ferry binary, served as `base`")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.baseline:
        args.baseline = os.path.abspath(args.baseline)

    servers = [s for s in args.servers.split(",") if s]
    if "nginx" in servers and not shutil.which("nginx"):
        print("nginx not installed (apt-get install nginx-light); skipped", file=sys.stderr)
        servers.remove("nginx")
    workloads = [w for w in args.workloads.split(",") if w]

    scratch = Path(tempfile.mkdtemp(prefix="ferry-bench-"))
    scratch.chmod(0o755)  # nginx workers run as an unprivileged user
    root = scratch / "root"
    root.mkdir(mode=0o755)
    make_fixtures(root)
    try:
        run_all(args, servers, workloads, scratch, root)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_all(args, servers, workloads, scratch, root):
    commands = server_commands(os.path.abspath(args.ferry), root, scratch, args.baseline)
    results = {(s, w): [] for s in servers for w in workloads}

    for run in range(args.runs):
        order = servers if run % 2 == 0 else list(reversed(servers))
        for name in order:
            port = free_port()
            log = open(scratch / f"{name}.log", "ab")
            proc = subprocess.Popen(
                ["taskset", "-c", "0"] + commands[name](port),
                stdout=log, stderr=log, start_new_session=True,
            )
            boost(proc.pid)
            try:
                wait_ready(port, "/small.html")
                for workload in workloads:
                    path, connections, _ = WORKLOADS[workload]
                    result = run_wrk(port, path, connections, args.duration, proc.pid)
                    results[(name, workload)].append(result)
                    print(f"run {run + 1} {name:10} {workload:7} {result['rps']:>10,.0f} req/s"
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

    lines = []
    for workload in workloads:
        _, connections, description = WORKLOADS[workload]
        lines.append(f"### {workload}: {description} ({args.runs} runs x {args.duration} s, medians)\n")
        lines.append("| server | req/s | req/s min-max | p50 | p99 | p99 min-max | req per server CPU-s | vs ferry (req/s) |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        ferry_rps = statistics.median(r["rps"] for r in results[("ferry", workload)]) if "ferry" in servers else None
        for name in servers:
            rs = results[(name, workload)]
            rps = statistics.median(r["rps"] for r in rs)
            p50 = statistics.median(r["p50"] for r in rs)
            p99 = statistics.median(r["p99"] for r in rs)
            per_cpu = statistics.median(r["per_cpu_s"] for r in rs)
            ratio = ""
            if ferry_rps:
                ratio = "1.00" if name == "ferry" else (
                    f"{ferry_rps / rps:.1f}x slower" if rps < ferry_rps else f"{rps / ferry_rps:.2f}x faster")
            errors = "; errors: " + ", ".join(r["errors"] for r in rs if r["errors"]) if any(r["errors"] for r in rs) else ""
            lines.append(
                f"| {name} | {rps:,.0f} | {min(r['rps'] for r in rs):,.0f}-{max(r['rps'] for r in rs):,.0f} "
                f"| {p50:.2f} ms | {p99:.2f} ms | {min(r['p99'] for r in rs):.2f}-{max(r['p99'] for r in rs):.2f} ms "
                f"| {per_cpu:,.0f} | {ratio}{errors} |"
            )
        lines.append("")
    report = "\n".join(lines)
    print(report)
    if args.out:
        Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
