#!/usr/bin/env python3
"""Checks, over HTTP, which static-server features each installed server has out of the box.

Every server is started the way its users start it (default settings, see SERVERS), on the
same fixture directory, and probed with the same requests. The result is a Markdown table
of what was observed; nothing in it comes from documentation.

Usage:
  scripts/bench/feature_matrix.py --ferry target/release/ferry [--out docs/feature-matrix.md]
      [--peers-bin DIR ...]   # where http-server, miniserve, static-web-server are installed

Servers that are not installed are left out of the table (the output says so).
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECRET = "SECRET-OUTSIDE-THE-ROOT"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_fixtures(root: Path, outside: Path):
    (root / "index.html").write_text("<!DOCTYPE html><title>t</title><p>home</p>\n")
    (root / "app.wasm").write_bytes(b"\0asm\x01\0\0\0" + bytes(1000))
    (root / "app.mjs").write_text("export const x = 1;\n")
    (root / "app.js").write_text("export function f(x) { return x * 42; }\n" * 200)
    (root / "ten.txt").write_text("0123456789")
    (root / "big.txt").write_text("abcdefghijklmnopqrstuvwxyz" * 100)
    (root / ".env").write_text(SECRET)
    d = root / "dir"
    d.mkdir()
    (d / "100% sure #1.txt").write_text("odd name")
    (d / "plain.txt").write_text("plain")
    (outside / "secret.txt").write_text(SECRET)
    os.symlink(outside / "secret.txt", root / "escape.txt")


def nginx_command(root, port, scratch):
    conf = scratch / f"nginx-{port}.conf"
    conf.write_text(
        f"""worker_processes 1; daemon off; error_log {scratch}/nginx-error.log; pid {scratch}/nginx-{port}.pid;
events {{ worker_connections 256; }}
http {{ include /etc/nginx/mime.types; access_log off; sendfile on;
  client_body_temp_path {scratch}/b; proxy_temp_path {scratch}/p; fastcgi_temp_path {scratch}/f;
  uwsgi_temp_path {scratch}/u; scgi_temp_path {scratch}/s;
  server {{ listen 127.0.0.1:{port}; root {root}; autoindex on; }} }}
"""
    )
    return ["nginx", "-c", str(conf), "-p", str(scratch)]


def servers(ferry, peers_bin, root, scratch):
    def bin_(name):
        for directory in peers_bin:
            if (Path(directory) / name).exists():
                return str(Path(directory) / name)
        return shutil.which(name)

    table = {
        "ferry": (ferry, lambda p: [ferry, "serve", str(root), "--port", str(p), "--quiet"]),
        "python http.server": (sys.executable, lambda p: [sys.executable, "-m", "http.server", str(p), "--bind", "127.0.0.1", "--directory", str(root)]),
        "http-server": (bin_("http-server"), lambda p: [bin_("http-server"), str(root), "-a", "127.0.0.1", "-p", str(p), "-s"]),
        "miniserve": (bin_("miniserve"), lambda p: [bin_("miniserve"), "--interfaces", "127.0.0.1", "--port", str(p), "--index", "index.html", str(root)]),
        "static-web-server": (bin_("static-web-server"), lambda p: [bin_("static-web-server"), "--host", "127.0.0.1", "--port", str(p), "--root", str(root), "--directory-listing", "true"]),
        "caddy": (shutil.which("caddy"), lambda p: ["caddy", "file-server", "--root", str(root), "--listen", f"127.0.0.1:{p}", "--browse"]),
        "nginx": (shutil.which("nginx"), lambda p: nginx_command(root, p, scratch)),
    }
    return table


class Probe:
    def __init__(self, port):
        self.port = port

    def request(self, method, path, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body, resp.version


def yes(value):
    return "yes" if value else "no"


def check(port):
    p = Probe(port)
    results = {}

    def run(name, fn):
        try:
            results[name] = fn()
        except Exception as error:  # a server that fails a probe gets "no", with the reason
            results[name] = f"no ({type(error).__name__})"

    def ctype(path):
        return p.request("GET", path)[1].get("content-type", "(none)")

    run("`.wasm` type", lambda: ctype("/app.wasm"))
    run("`.mjs` type", lambda: ctype("/app.mjs"))

    def listing():
        status, headers, body, _ = p.request("GET", "/dir/")
        return yes(status == 200 and b"plain.txt" in body)

    run("directory listing", listing)

    def listing_json():
        status, headers, body, _ = p.request("GET", "/dir/", {"Accept": "application/json"})
        if status != 200 or "json" not in headers.get("content-type", ""):
            return "no"
        json.loads(body)
        return "yes"

    run("listing as JSON (Accept)", listing_json)

    def odd_names():
        status, _, body, _ = p.request("GET", "/dir/")
        text = body.decode("utf-8", "replace")
        for href in ["100%25%20sure%20%231.txt", "100%25%20sure%20%231.txt".replace("%20", "+")]:
            if href in text:
                status, _, content, _ = p.request("GET", "/dir/" + href)
                return yes(status == 200 and content == b"odd name")
        return "no (link not found)"

    run("listing link to `100% sure #1.txt`", odd_names)

    def range_single():
        status, headers, body, _ = p.request("GET", "/ten.txt", {"Range": "bytes=2-4"})
        return yes(status == 206 and body == b"234")

    run("single range", range_single)

    def range_multi():
        status, headers, body, _ = p.request("GET", "/big.txt", {"Range": "bytes=0-9,1000-1009"})
        return yes(status == 206 and headers.get("content-type", "").startswith("multipart/byteranges"))

    run("multi-range (multipart/byteranges)", range_multi)

    def range_416():
        status, headers, _, _ = p.request("GET", "/ten.txt", {"Range": "bytes=10-"})
        return yes(status == 416 and headers.get("content-range") == "bytes */10")

    run("range past the end: 416 + `bytes */len`", range_416)

    def etag_304():
        _, headers, _, _ = p.request("GET", "/ten.txt")
        etag = headers.get("etag")
        if not etag:
            return "no ETag"
        status = p.request("GET", "/ten.txt", {"If-None-Match": etag})[0]
        return yes(status == 304)

    run("ETag + If-None-Match 304", etag_304)

    def ims_304():
        _, headers, _, _ = p.request("GET", "/ten.txt")
        lm = headers.get("last-modified")
        if not lm:
            return "no Last-Modified"
        return yes(p.request("GET", "/ten.txt", {"If-Modified-Since": lm})[0] == 304)

    run("If-Modified-Since 304", ims_304)

    def if_range():
        if results.get("single range") != "yes":
            return "n/a (no Range)"
        status, _, body, _ = p.request("GET", "/ten.txt", {"Range": "bytes=0-1", "If-Range": '"stale"'})
        return yes(status == 200 and body == b"0123456789")

    run("If-Range (stale tag: whole file)", if_range)

    def coding(name):
        def probe():
            _, headers, _, _ = p.request("GET", "/app.js", {"Accept-Encoding": name})
            return yes(headers.get("content-encoding") == name)
        return probe

    for name in ["gzip", "br", "zstd"]:
        run(f"`{name}` on the fly", coding(name))

    def h2c():
        out = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_version}", "--http2-prior-knowledge", "--max-time", "5",
             f"http://127.0.0.1:{port}/ten.txt"], capture_output=True, text=True)
        return yes(out.stdout.strip() == "2")

    run("HTTP/2 cleartext (prior knowledge)", h2c)

    def isolation():
        _, headers, _, _ = p.request("GET", "/")
        return yes(headers.get("cross-origin-opener-policy") == "same-origin"
                   and headers.get("cross-origin-embedder-policy") in ("require-corp", "credentialless"))

    run("COOP + COEP by default", isolation)

    def hidden():
        status, _, body, _ = p.request("GET", "/.env")
        return "refused" if status in (403, 404) and SECRET.encode() not in body else "served"

    run("`.env` (hidden file)", hidden)

    def symlink():
        status, _, body, _ = p.request("GET", "/escape.txt")
        return "refused" if SECRET.encode() not in body else "followed"

    run("symlink out of the root", symlink)

    def cache_control():
        return p.request("GET", "/ten.txt")[1].get("cache-control", "(none)")

    run("`Cache-Control` default", cache_control)

    def keep_alive():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/ten.txt")
        first = conn.getresponse()
        first.read()
        try:
            conn.request("GET", "/ten.txt")
            second = conn.getresponse()
            second.read()
            return yes(first.version == 11 and second.status == 200)
        except Exception:
            return "no"
        finally:
            conn.close()

    run("HTTP/1.1 keep-alive", keep_alive)
    return results


def wait_ready(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ferry", default="target/release/ferry")
    parser.add_argument("--peers-bin", nargs="*", default=[])
    parser.add_argument("--out")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="ferry-features-"))
    scratch.chmod(0o755)
    root, outside = scratch / "root", scratch / "outside"
    root.mkdir(mode=0o755)
    outside.mkdir(mode=0o755)
    make_fixtures(root, outside)
    columns, missing = {}, []
    try:
        for name, (program, command) in servers(os.path.abspath(args.ferry), args.peers_bin, root, scratch).items():
            if not program:
                missing.append(name)
                continue
            port = free_port()
            proc = subprocess.Popen(command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True, cwd=scratch)
            try:
                wait_ready(port)
                time.sleep(0.2)
                columns[name] = check(port)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    names = list(columns)
    features = list(next(iter(columns.values())).keys())
    lines = ["| feature | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for feature in features:
        lines.append(f"| {feature} | " + " | ".join(str(columns[n][feature]) for n in names) + " |")
    report = "\n".join(lines) + "\n"
    if missing:
        report += "\nNot installed, so not checked: " + ", ".join(missing) + ".\n"
    print(report)
    if args.out:
        Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
