//! `ferry serve` over HTTPS, checked with curl.

use std::path::Path;
use std::process::Command;

use crate::support::{Ferry, client_json, examples, python_clients, run_app, run_to_end, site};

/// Runs curl and returns its `-w` output: HTTP version and status.
fn curl(args: &[&str], url: &str) -> String {
    let output = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
            "--max-time",
            "10",
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("curl is installed (.ci/run installs it)");
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn write_certificate(dir: &Path, names: &[&str]) -> (String, String) {
    let generated =
        rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    (cert.display().to_string(), key.display().to_string())
}

#[test]
fn self_signed_tls_serves_http2_and_http1_and_prints_the_fingerprint() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &["--tls-self-signed"]);
    assert!(ferry.url.starts_with("https://127.0.0.1:"), "{}", ferry.url);
    let banner = ferry.banner.join("\n");
    assert!(
        banner.contains("TLS:      self-signed for localhost, 127.0.0.1, ::1"),
        "{banner}"
    );
    let fingerprint = banner
        .lines()
        .find_map(|line| line.trim().strip_prefix("SHA-256 "))
        .unwrap_or_else(|| panic!("no fingerprint in {banner}"));
    assert_eq!(fingerprint.len(), 95, "{fingerprint}");

    assert_eq!(curl(&["-k", "--http2"], &ferry.url("/")), "2 200");
    assert_eq!(
        curl(&["-k", "--http1.1"], &ferry.url("/app.wasm")),
        "1.1 200"
    );
}

/// What SSLyze finds when it scans `ferry` against Mozilla's "intermediate" profile.
async fn scan_against_mozilla_intermediate(ferry: &Ferry) -> serde_json::Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/tls_check.py"
    );
    let port = ferry.url.trim_end_matches('/').rsplit(':').next().unwrap();
    let mut command = Command::new(python_clients());
    command
        .args(["-W", "ignore", script, "127.0.0.1"])
        .arg(port);
    client_json(command, std::time::Duration::from_secs(120)).await
}

#[tokio::test]
async fn the_self_signed_setup_meets_mozillas_intermediate_profile_but_for_trust() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &["--tls-self-signed", "--quiet"]);
    let report = scan_against_mozilla_intermediate(&ferry).await;
    // TLS 1.2 and 1.3 only, with forward-secret AEAD suites only.
    let accepted = report["accepted"].as_object().unwrap();
    assert_eq!(
        accepted.keys().collect::<Vec<_>>(),
        ["TLSv1.2", "TLSv1.3"],
        "{report}"
    );
    for suite in accepted["TLSv1.2"].as_array().unwrap() {
        let suite = suite.as_str().unwrap();
        assert!(
            suite.starts_with("ECDHE-") && (suite.contains("GCM") || suite.contains("CHACHA20")),
            "{suite}"
        );
    }
    assert_eq!(report["lifetime_days"], 90, "{report}");
    assert_eq!(
        report["subject"], "CN=Ferry development certificate,O=Ferry",
        "{report}"
    );
    // The one finding: no trust store knows a certificate made a moment ago.
    let issues = report["issues"].as_object().unwrap();
    assert_eq!(
        issues.keys().collect::<Vec<_>>(),
        ["certificate_path_validation"],
        "{report}"
    );
}

#[test]
fn certificate_files_are_served_and_verify() {
    let dir = site();
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = write_certificate(certs.path(), &["localhost"]);
    let ferry = Ferry::serve(dir.path(), &["--tls-cert", &cert, "--tls-key", &key]);
    let port = ferry
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    // A verifying client that trusts only this certificate.
    let url = format!("https://localhost:{port}/");
    assert_eq!(curl(&["--cacert", &cert, "--http2"], &url), "2 200");
}

/// The response head of `url`, fetched with `curl -k` (header names in lower case).
fn head_of(url: &str) -> String {
    let output = Command::new("curl")
        .args(["-ksS", "-D", "-", "-o", "/dev/null", "--max-time", "10"])
        .arg(url)
        .output()
        .expect("curl is installed (.ci/run installs it)");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).to_lowercase()
}

#[test]
fn hsts_comes_with_certificate_files_for_run_and_otherwise_when_asked() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = write_certificate(certs.path(), &["localhost"]);
    let data = tempfile::tempdir().unwrap();
    let app = examples().join("hello");
    let tls = ["--tls-cert", cert.as_str(), "--tls-key", key.as_str()];
    let run = run_app(&app, &data.path().join("a"), &tls);
    let head = head_of(&run.url("/"));
    assert!(
        head.contains("\r\nstrict-transport-security: max-age=31536000\r\n"),
        "{head}"
    );
    let off = run_app(
        &app,
        &data.path().join("b"),
        &[&tls[..], &["--hsts", "0"]].concat(),
    );
    let head = head_of(&off.url("/"));
    assert!(!head.contains("strict-transport-security"), "{head}");

    // A self-signed certificate is for testing: no HSTS unless asked for.
    let dir = site();
    let serve = Ferry::serve(dir.path(), &["--tls-self-signed"]);
    let head = head_of(&serve.url("/"));
    assert!(!head.contains("strict-transport-security"), "{head}");
    let asked = Ferry::serve(dir.path(), &["--tls-self-signed", "--hsts", "600"]);
    let head = head_of(&asked.url("/"));
    assert!(
        head.contains("\r\nstrict-transport-security: max-age=600\r\n"),
        "{head}"
    );
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_a_clear_error() {
    let dir = site();
    let certs = tempfile::tempdir().unwrap();
    let (cert, _) = write_certificate(certs.path(), &["localhost"]);
    let other = tempfile::tempdir().unwrap();
    let (_, other_key) = write_certificate(other.path(), &["localhost"]);
    let dir_arg = dir.path().to_str().unwrap();
    let (status, _, stderr) = run_to_end(&[
        "serve",
        dir_arg,
        "--port",
        "0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &other_key,
    ]);
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains("does not belong to the certificate"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&other_key) && stderr.contains(&cert),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[test]
fn an_unreadable_certificate_file_is_a_clear_error() {
    let dir = site();
    let dir_arg = dir.path().to_str().unwrap();
    let (status, _, stderr) = run_to_end(&[
        "serve",
        dir_arg,
        "--port",
        "0",
        "--tls-cert",
        "/nope/cert.pem",
        "--tls-key",
        "/nope/key.pem",
    ]);
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains("cannot read the certificate file /nope/cert.pem"),
        "{stderr}"
    );
}

#[test]
fn tls_flags_must_come_in_pairs() {
    let (status, _, stderr) = run_to_end(&["serve", ".", "--tls-cert", "cert.pem"]);
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("--tls-key"), "{stderr}");
    let (status, _, _) = run_to_end(&[
        "serve",
        ".",
        "--tls-self-signed",
        "--tls-cert",
        "c",
        "--tls-key",
        "k",
    ]);
    assert_eq!(status.code(), Some(2));
}

#[test]
fn h2load_multiplexes_many_streams_over_tls_and_h2c() {
    let dir = site();
    let tls = Ferry::serve(dir.path(), &["--tls-self-signed", "--quiet"]);
    let plain = Ferry::serve(dir.path(), &["--quiet"]);
    for url in [tls.url("/"), plain.url("/")] {
        let output = Command::new("h2load")
            .args(["-n", "400", "-c", "4", "-m", "20", &url])
            .output()
            .expect("h2load is installed (.ci/run installs nghttp2-client)");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{text}");
        assert!(text.contains("Application protocol: h2"), "{text}");
        assert!(
            text.contains("400 succeeded, 0 failed, 0 errored"),
            "{text}"
        );
        assert!(text.contains("status codes: 400 2xx"), "{text}");
    }
}

#[test]
fn curl_speaks_http2_with_prior_knowledge_to_the_plain_port() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &["--quiet"]);
    assert_eq!(curl(&["--http2-prior-knowledge"], &ferry.url("/")), "2 200");
    assert_eq!(curl(&["--http1.1"], &ferry.url("/")), "1.1 200");
}
