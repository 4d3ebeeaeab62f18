//! `ferry bench`, run as a user runs it (short runs: this checks behaviour, not speed).

use crate::support::{Ferry, ferry_command, run_to_end, site};

#[test]
fn bench_measures_ferry_on_the_chosen_workloads_and_writes_reports() {
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("out.json");
    let markdown = out.path().join("out.md");
    let output = ferry_command()
        .args([
            "bench",
            "--workload",
            "small,listing",
            "--duration",
            "300ms",
            "--warmup",
            "100ms",
        ])
        .args(["--runs", "2", "--connections", "4", "--json"])
        .arg(&json)
        .arg("--markdown")
        .arg(&markdown)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("small (1 KiB HTML, 4 connections, 0.3 s, 2 runs)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("listing (listing of 100 files, 4 connections"),
        "{stdout}"
    );
    let ferry_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("ferry"))
        .unwrap();
    assert!(ferry_line.ends_with("1.00"), "{ferry_line}");

    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let samples = raw["results"]["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 4, "2 workloads x 2 runs");
    assert!(
        samples
            .iter()
            .all(|s| s["errors"]["read"] == 0 && s["requests_per_second"].as_f64().unwrap() > 0.0)
    );
    assert!(raw["machine"]["cores"].as_u64().unwrap() >= 1);
    let servers = raw["results"]["servers"].as_array().unwrap();
    assert!(
        servers
            .iter()
            .all(|s| s["peak_rss_bytes"].as_u64().unwrap() > 0)
    );
    assert!(
        servers
            .iter()
            .all(|s| s["startup_ms"].as_f64().unwrap() > 0.0)
    );

    let report = std::fs::read_to_string(&markdown).unwrap();
    assert!(report.contains("- Machine: "), "{report}");
    assert!(report.contains("- Command: `"), "{report}");
    assert!(report.contains("| server | req/s (median) |"), "{report}");
}

#[test]
fn bench_compares_with_python_and_gives_a_verdict() {
    let output = ferry_command()
        .args([
            "bench",
            "--compare",
            "python",
            "--workload",
            "small",
            "--duration",
            "300ms",
        ])
        .args(["--warmup", "100ms", "--runs", "1", "--connections", "4"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.trim_start().starts_with("python")),
        "{stdout}"
    );
    assert!(stdout.contains("Verdict: ferry vs python:"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("python: python3 -m http.server"),
        "the setup is said: {stderr}"
    );
}

#[test]
fn bench_skips_servers_that_are_not_installed_and_says_how_to_install_them() {
    let output = ferry_command()
        .args([
            "bench",
            "--compare",
            "darkhttpd",
            "--workload",
            "small",
            "--duration",
            "200ms",
        ])
        .args(["--warmup", "0s", "--runs", "1", "--connections", "2"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("skipped darkhttpd: not installed ("),
        "{stdout}"
    );
}

#[test]
fn bench_loads_a_running_target() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &["--quiet"]);
    let output = ferry_command()
        .args([
            "bench",
            "--target",
            &ferry.url("/index.html"),
            "--duration",
            "300ms",
            "--warmup",
            "0s",
        ])
        .args(["--runs", "1", "--connections", "2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.trim_start().starts_with("target")),
        "{stdout}"
    );
}

#[test]
fn bench_rejects_unknown_workloads_and_servers() {
    let (status, _, stderr) = run_to_end(&["bench", "--workload", "huge"]);
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("unknown workload 'huge'"), "{stderr}");
    let (status, _, stderr) = run_to_end(&["bench", "--compare", "apache"]);
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("unknown server 'apache'"), "{stderr}");
}
