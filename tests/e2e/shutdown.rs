//! Stopping `ferry`: graceful on the first signal, immediate on a second Ctrl+C.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{Ferry, site};

const BIG_FILE_BYTES: usize = 64 * 1024 * 1024;

/// Starts a download of a large file and reads only its first bytes, so the request stays
/// in flight (the server is blocked on a full socket buffer).
fn start_slow_download(ferry: &Ferry) -> TcpStream {
    let authority = ferry
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = TcpStream::connect(&authority).unwrap();
    stream
        .write_all(format!("GET /big.bin HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes())
        .unwrap();
    let mut first = [0u8; 4096];
    let n = stream.read(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    stream
}

fn site_with_big_file() -> tempfile::TempDir {
    let dir = site();
    std::fs::write(dir.path().join("big.bin"), vec![7u8; BIG_FILE_BYTES]).unwrap();
    dir
}

#[test]
fn sigterm_lets_in_flight_requests_finish_then_exits_zero() {
    let dir = site_with_big_file();
    let mut ferry = Ferry::serve(dir.path(), &[]);
    let mut download = start_slow_download(&ferry);
    ferry.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        ferry.child.try_wait().unwrap().is_none(),
        "exited while a request was in flight"
    );

    // New connections are refused once shutdown has begun.
    let authority = ferry
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    assert!(TcpStream::connect(&authority).is_err());

    // The in-flight download completes in full.
    let mut rest = Vec::new();
    download.read_to_end(&mut rest).unwrap();
    assert!(
        rest.len() >= BIG_FILE_BYTES - 4096,
        "download cut short: {} bytes",
        rest.len()
    );

    let status = ferry
        .wait_exit(Duration::from_secs(10))
        .expect("ferry exits after draining");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn shutdown_timeout_bounds_the_wait() {
    let dir = site_with_big_file();
    let mut ferry = Ferry::serve(dir.path(), &["--shutdown-timeout", "0.5"]);
    let _stalled = start_slow_download(&ferry);
    let started = Instant::now();
    ferry.signal("INT");
    let status = ferry
        .wait_exit(Duration::from_secs(10))
        .expect("ferry exits after the timeout");
    assert_eq!(status.code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "did not wait: {:?}",
        started.elapsed()
    );
}

#[test]
fn second_ctrl_c_exits_at_once() {
    let dir = site_with_big_file();
    let mut ferry = Ferry::serve(dir.path(), &["--shutdown-timeout", "60"]);
    let _stalled = start_slow_download(&ferry);
    ferry.signal("INT");
    ferry.stderr_until(Duration::from_secs(5), |line| {
        line.contains("shutting down")
    });
    let started = Instant::now();
    ferry.signal("INT");
    let status = ferry
        .wait_exit(Duration::from_secs(5))
        .expect("second Ctrl+C ends ferry");
    assert_eq!(status.code(), Some(130));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn idle_server_stops_at_once_on_sigterm() {
    let dir = site();
    let mut ferry = Ferry::serve(dir.path(), &[]);
    let started = Instant::now();
    ferry.signal("TERM");
    let status = ferry
        .wait_exit(Duration::from_secs(5))
        .expect("ferry exits");
    assert_eq!(status.code(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(2));
}
