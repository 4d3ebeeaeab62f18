//! Running the `ferry` binary under test.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `ferry` process.
pub(crate) struct Ferry {
    pub child: Child,
    /// The base URL from the banner, e.g. `http://127.0.0.1:41234/`.
    pub url: String,
    stderr: mpsc::Receiver<String>,
    stdout: mpsc::Receiver<String>,
    /// Banner lines read from stdout.
    pub banner: Vec<String>,
}

pub(crate) fn ferry_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
}

impl Ferry {
    /// Starts `ferry serve DIR --port 0 EXTRA...` and waits for its URL.
    pub(crate) fn serve(dir: &Path, extra: &[&str]) -> Ferry {
        let mut command = ferry_command();
        command
            .arg("serve")
            .arg(dir)
            .args(["--port", "0"])
            .args(extra);
        Ferry::start(command)
    }

    pub(crate) fn start(mut command: Command) -> Ferry {
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("NO_COLOR", "1");
        let mut child = command.spawn().expect("the ferry binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");

        let (line_tx, line_rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (err_tx, err_rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if err_tx.send(line).is_err() {
                    break;
                }
            }
        });

        let deadline = Instant::now() + Duration::from_secs(30);
        let mut banner = Vec::new();
        let url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = line_rx.recv_timeout(left) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no URL printed; stdout so far: {banner:?}");
            };
            banner.push(line.clone());
            // The URL is on the `Local:` line of a banner, or alone (with --quiet); other
            // banner lines may hold URLs too (script names, for instance).
            let start = line.find("http://").or_else(|| line.find("https://"));
            let is_url_line = line.contains("Local:") || line.trim_start().starts_with("http");
            if let Some(start) = start.filter(|_| is_url_line) {
                break line[start..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
        };
        // Collect the rest of the banner (it ends with the Ctrl+C line).
        if banner.iter().any(|l| l.contains("Local:")) {
            while let Ok(line) = line_rx.recv_timeout(Duration::from_secs(5)) {
                let done = line.contains("Press Ctrl+C");
                banner.push(line);
                if done {
                    break;
                }
            }
        }
        Ferry {
            child,
            url,
            stderr: err_rx,
            stdout: line_rx,
            banner,
        }
    }

    /// `path` appended to the base URL (`path` starts with `/`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.url.trim_end_matches('/'), path)
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait works") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stderr lines until one satisfies `matches`, or `limit` passes.
    pub(crate) fn stderr_until(
        &self,
        limit: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        lines_until(&self.stderr, limit, matches)
    }

    /// Stdout lines after the banner until one satisfies `matches`, or `limit` passes.
    pub(crate) fn stdout_until(
        &self,
        limit: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        lines_until(&self.stdout, limit, matches)
    }
}

fn lines_until(
    receiver: &mpsc::Receiver<String>,
    limit: Duration,
    matches: impl Fn(&str) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let mut lines = Vec::new();
    while let Ok(line) = receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let done = matches(&line);
        lines.push(line);
        if done {
            break;
        }
    }
    lines
}

impl Drop for Ferry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `ferry ARGS` to completion and returns (exit status, stdout, stderr).
pub(crate) fn run_to_end(args: &[&str]) -> (ExitStatus, String, String) {
    let mut child = ferry_command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ferry binary starts");
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap(), stdout, stderr)
}

/// The example apps.
pub(crate) fn examples() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/apps"))
}

/// Starts `ferry run APP --port 0 --data-dir DATA EXTRA...` and waits for its URL.
pub(crate) fn run_app(app: &Path, data: &Path, extra: &[&str]) -> Ferry {
    let mut command = ferry_command();
    command
        .arg("run")
        .arg(app)
        .args(["--port", "0", "--data-dir"])
        .arg(data)
        .args(extra);
    Ferry::start(command)
}

/// The Python interpreter with the test clients (`websockets`, the MCP SDK,
/// `prometheus_client`, SSLyze), which scripts/install-test-tools puts in tests/python/.venv.
pub(crate) fn python_clients() -> std::path::PathBuf {
    let venv = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/.venv/bin/python"
    ));
    assert!(
        venv.exists(),
        "{} is missing: run scripts/install-test-tools",
        venv.display()
    );
    venv.to_path_buf()
}

/// Runs `command` to its end, killing it after `limit`.
pub(crate) fn output_within(
    mut command: std::process::Command,
    limit: Duration,
) -> std::process::Output {
    use std::process::Stdio;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{command:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Runs a client `command` (a Python or Node program driving Ferry) to its end within
/// `limit` and returns the JSON object it prints last.
pub(crate) async fn client_json(
    command: std::process::Command,
    limit: Duration,
) -> serde_json::Value {
    let described = format!("{command:?}");
    let output = tokio::task::spawn_blocking(move || output_within(command, limit))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{described} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap()
}

/// A temporary site with a few files.
pub(crate) fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!DOCTYPE html><title>t</title><p>hello</p>",
    )
    .unwrap();
    std::fs::write(dir.path().join("app.wasm"), b"\0asm\x01\0\0\0").unwrap();
    dir
}

/// Requests RFC 9112 §3.2 says a server must refuse with 400: no `Host` in HTTP/1.1, two
/// of them, an invalid one, a target that is not a path. Each is sent on a fresh raw
/// connection to `ferry`, followed by a valid request that must not be answered; the answer
/// must be 400 and the connection closed.
pub(crate) fn assert_bad_targets_and_hosts_are_refused(ferry: &Ferry) {
    use std::io::{Read, Write};
    let authority = ferry
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let cases: [(&str, &str); 5] = [
        ("no Host", "GET / HTTP/1.1\r\n\r\n"),
        (
            "two Host fields",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        ),
        ("a space in Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
        (
            "user information in Host",
            "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n",
        ),
        (
            "a target without /",
            "GET index.html HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
    ];
    for (name, request) in cases {
        let mut stream = std::net::TcpStream::connect(&authority).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let started = Instant::now();
        stream
            .write_all(format!("{request}GET / HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
            .unwrap();
        let mut answer = Vec::new();
        // Ends when the server closes the connection (or the read timeout passes).
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 400 "), "{name}: {answer:?}");
        assert!(!answer.contains(" 200 "), "{name}: {answer:?}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{name}: the connection stayed open"
        );
    }
}
