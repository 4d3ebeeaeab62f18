//! Running a comparison: start each server in turn on the fixtures, load it with every
//! workload, measure it, stop it; alternate the order between runs.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::fixtures::Fixtures;
use crate::load::{self, ErrorCounts, LatencySummary, LoadConfig};
use crate::peers::{Launch, Peer};
use crate::procstat;
use crate::target::Target;
use crate::workload::Workload;

/// What to compare and how.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The servers, Ferry first.
    pub peers: Vec<Peer>,
    /// The workloads.
    pub workloads: Vec<Workload>,
    /// Connections per workload (the large file uses a fifth).
    pub connections: usize,
    /// Measured time per workload and run.
    pub duration: Duration,
    /// Load before each measurement, not counted.
    pub warmup: Duration,
    /// Runs; each figure is the median of the runs.
    pub runs: usize,
    /// Open loop at this rate instead of closed loop.
    pub rate: Option<f64>,
    /// Pin servers to CPU 0 (the load generator pins itself to CPU 1).
    pub pin: bool,
    /// The `ferry` executable to measure.
    pub ferry: PathBuf,
}

/// One workload, one server, one run.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Server name.
    pub server: String,
    /// Workload name.
    pub workload: String,
    /// Run number, from 1.
    pub run: usize,
    /// Connections used.
    pub connections: usize,
    /// Length of the measurement, in seconds.
    pub measured_seconds: f64,
    /// Successful requests per second.
    pub requests_per_second: f64,
    /// Body bytes per second.
    pub bytes_per_second: f64,
    /// Latency, in milliseconds.
    pub latency: LatencySummary,
    /// Time to first byte, in milliseconds.
    pub ttfb: LatencySummary,
    /// Errors by kind.
    pub errors: ErrorCounts,
    /// CPU seconds the server used during the measurement, when it was started here.
    pub server_cpu_seconds: Option<f64>,
}

/// One server, one run: what is measured once per start.
#[derive(Debug, Clone, Serialize)]
pub struct ServerSample {
    /// Server name.
    pub server: String,
    /// Run number, from 1.
    pub run: usize,
    /// Spawn to first successful response, in milliseconds.
    pub startup_ms: f64,
    /// Peak resident memory of its processes over the run, in bytes.
    pub peak_rss_bytes: u64,
}

/// A server that was not measured, and what to do about it.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Server name.
    pub server: String,
    /// Why.
    pub reason: String,
}

/// Everything a comparison measured.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// Per workload, server and run.
    pub samples: Vec<Sample>,
    /// Per server and run.
    pub servers: Vec<ServerSample>,
    /// Servers left out.
    pub skipped: Vec<Skipped>,
    /// How each measured server was started.
    pub setups: Vec<(String, String)>,
}

/// Loads one running target (`--target`): `runs` measurements of its URL.
pub async fn run_target(
    target: &Target,
    config: &BenchConfig,
    progress: &mut dyn FnMut(&str),
) -> Results {
    let mut samples = Vec::new();
    for run in 1..=config.runs {
        let sample = measure(
            target,
            "target",
            "target",
            run,
            config.connections,
            config,
            None,
        )
        .await;
        progress(&progress_line(&sample));
        samples.push(sample);
    }
    Results {
        samples,
        servers: Vec::new(),
        skipped: Vec::new(),
        setups: vec![("target".to_owned(), "a server already running".to_owned())],
    }
}

/// Runs the comparison `config` describes.
pub async fn run(config: &BenchConfig, progress: &mut dyn FnMut(&str)) -> io::Result<Results> {
    let fixtures = Fixtures::create()?;
    let scratch = fixtures.scratch();
    let mut results = Results {
        samples: Vec::new(),
        servers: Vec::new(),
        skipped: Vec::new(),
        setups: Vec::new(),
    };
    let probe = Launch {
        root: fixtures.root(),
        port: 0,
        scratch,
        ferry: &config.ferry,
    };
    let mut available = Vec::new();
    for peer in &config.peers {
        if peer.command(&probe).is_some() {
            available.push(*peer);
            results
                .setups
                .push((peer.name.to_owned(), peer.setup.to_owned()));
        } else {
            results.skipped.push(Skipped {
                server: peer.name.to_owned(),
                reason: format!("not installed ({})", peer.install),
            });
        }
    }
    for run in 1..=config.runs {
        // Alternate the order so no server always runs first (or last) on a warming machine.
        let order: Vec<Peer> = if run % 2 == 1 {
            available.clone()
        } else {
            available.iter().rev().copied().collect()
        };
        for peer in order {
            match measure_server(&peer, &fixtures, config, run, progress).await {
                Ok((server, samples)) => {
                    results.servers.push(server);
                    results.samples.extend(samples);
                }
                Err(error) => {
                    progress(&format!("run {run} {}: {error}", peer.name));
                    results.skipped.push(Skipped {
                        server: peer.name.to_owned(),
                        reason: format!("run {run}: {error}"),
                    });
                }
            }
        }
    }
    Ok(results)
}

async fn measure_server(
    peer: &Peer,
    fixtures: &Fixtures,
    config: &BenchConfig,
    run: usize,
    progress: &mut dyn FnMut(&str),
) -> io::Result<(ServerSample, Vec<Sample>)> {
    let port = free_port()?;
    let launch = Launch {
        root: fixtures.root(),
        port,
        scratch: fixtures.scratch(),
        ferry: &config.ferry,
    };
    let command = peer
        .command(&launch)
        .ok_or_else(|| io::Error::other("not installed"))?;
    let log = fixtures.scratch().join(format!("{}-{run}.log", peer.name));
    let started = Instant::now();
    let mut server = Server::spawn(command, config.pin, &log)?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    if !wait_ready(addr, Duration::from_secs(20)) {
        server.stop();
        return Err(io::Error::other(format!(
            "did not answer within 20 s (its output is in {})",
            log.display()
        )));
    }
    let startup_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut samples = Vec::new();
    for workload in &config.workloads {
        let connections = workload.connections(config.connections);
        let target = Target {
            tls: false,
            host: "127.0.0.1".to_owned(),
            addr,
            authority: format!("127.0.0.1:{port}"),
            paths: workload.paths.clone(),
        };
        let sample = measure(
            &target,
            peer.name,
            workload.name,
            run,
            connections,
            config,
            Some(server.group),
        )
        .await;
        progress(&progress_line(&sample));
        samples.push(sample);
    }
    let peak_rss_bytes = procstat::peak_rss_bytes(server.group);
    server.stop();
    Ok((
        ServerSample {
            server: peer.name.to_owned(),
            run,
            startup_ms,
            peak_rss_bytes,
        },
        samples,
    ))
}

/// A warm-up (discarded), then the measurement.
async fn measure(
    target: &Target,
    server: &str,
    workload: &str,
    run: usize,
    connections: usize,
    config: &BenchConfig,
    group: Option<u32>,
) -> Sample {
    let load = LoadConfig {
        connections,
        duration: config.duration,
        requests: None,
        warmup: Duration::ZERO,
        rate: config.rate,
        timeout: Duration::from_secs(5),
    };
    if !config.warmup.is_zero() {
        load::run(
            target,
            &LoadConfig {
                duration: config.warmup,
                ..load.clone()
            },
        )
        .await;
    }
    let cpu_before = group.map(procstat::cpu_seconds);
    let report = load::run(target, &load).await;
    let server_cpu_seconds = group
        .zip(cpu_before)
        .map(|(group, before)| procstat::cpu_seconds(group) - before);
    Sample {
        server: server.to_owned(),
        workload: workload.to_owned(),
        run,
        connections,
        measured_seconds: report.elapsed.as_secs_f64(),
        requests_per_second: report.requests_per_second(),
        bytes_per_second: report.bytes_per_second(),
        latency: report.latency_summary(),
        ttfb: report.ttfb_summary(),
        errors: report.errors,
        server_cpu_seconds,
    }
}

fn progress_line(sample: &Sample) -> String {
    let errors = sample.errors.total();
    format!(
        "run {} {:<18} {:<8} {:>10.0} req/s  p50 {:.2} ms  p99 {:.2} ms{}",
        sample.run,
        sample.server,
        sample.workload,
        sample.requests_per_second,
        sample.latency.p50,
        sample.latency.p99,
        if errors > 0 {
            format!("  ({errors} errors)")
        } else {
            String::new()
        }
    )
}

/// A started server: its own process group, so it and its children stop together.
struct Server {
    child: Child,
    group: u32,
}

impl Server {
    fn spawn(mut command: Command, pin: bool, log: &Path) -> io::Result<Self> {
        use std::os::unix::process::CommandExt;
        if pin && crate::peers::find_program("taskset").is_some() {
            let program = command.get_program().to_owned();
            let args: Vec<_> = command.get_args().map(ToOwned::to_owned).collect();
            let mut pinned = Command::new("taskset");
            pinned.args(["-c", "0"]).arg(program).args(args);
            command = pinned;
        }
        let output = std::fs::File::create(log)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output)
            .process_group(0)
            .spawn()?;
        let group = child.id();
        Ok(Server { child, group })
    }

    /// SIGTERM to the whole group, then SIGKILL after five seconds. If no `kill` program can
    /// be run, the direct child is killed instead, so stopping never hangs.
    fn stop(&mut self) {
        if !signal_group("-TERM", self.group) {
            let _ = self.child.kill();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !signal_group("-KILL", self.group) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Sends `signal` to process group `group` with the `kill` program (from `PATH`, else the
/// usual places); whether that worked.
fn signal_group(signal: &str, group: u32) -> bool {
    let target = format!("-{group}");
    ["kill", "/bin/kill", "/usr/bin/kill"]
        .iter()
        .any(|program| {
            Command::new(program)
                .args([signal, "--", &target])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls until `GET /small.html` answers 200, or `limit` passes.
fn wait_ready(addr: SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if answers_200(addr) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn answers_200(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = b"GET /small.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}
