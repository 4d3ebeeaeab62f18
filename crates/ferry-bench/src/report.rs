//! Turning results into tables: text for the terminal, Markdown with the machine and the
//! command, and JSON with every raw run.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::load::ErrorCounts;
use crate::runner::{Results, Sample};
use crate::stats::{Spread, spread};
use crate::workload::Workload;

/// What was asked for, for titles and the Markdown header.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Connections asked for.
    pub connections: usize,
    /// Measured time per workload and run.
    pub duration: Duration,
    /// Runs.
    pub runs: usize,
    /// Open-loop rate, if any.
    pub rate: Option<f64>,
    /// Whether servers and the generator were pinned to different cores.
    pub pinned: bool,
}

/// The machine the numbers come from.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Logical cores this process may use (detect before pinning).
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
}

impl Machine {
    /// Reads the machine's description (Linux `/proc`; "unknown" elsewhere).
    pub fn detect() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_owned())
            .unwrap_or_else(|_| "unknown".to_owned());
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel,
        }
    }
}

/// One line of a workload's table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Server name.
    pub server: String,
    /// Requests per second across runs.
    pub requests_per_second: Spread,
    /// Median latency across runs (ms).
    pub p50: Spread,
    /// 99th-percentile latency across runs (ms).
    pub p99: Spread,
    /// Slowest request across runs (ms).
    pub max: Spread,
    /// Requests per second of server CPU time, across runs.
    pub requests_per_cpu_second: Option<Spread>,
    /// Peak resident memory over all runs, in bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Errors of every run added up.
    pub errors: ErrorCounts,
    /// Runs that had errors.
    pub runs_with_errors: usize,
}

/// The rows of `workload`, in the order servers were configured.
pub fn rows(results: &Results, workload: &str) -> Vec<Row> {
    let mut servers: Vec<&str> = Vec::new();
    for sample in results.samples.iter().filter(|s| s.workload == workload) {
        if !servers.contains(&sample.server.as_str()) {
            servers.push(&sample.server);
        }
    }
    servers
        .into_iter()
        .map(|server| {
            let samples: Vec<&Sample> = results
                .samples
                .iter()
                .filter(|s| s.workload == workload && s.server == server)
                .collect();
            let of = |f: &dyn Fn(&Sample) -> f64| {
                spread(&samples.iter().map(|s| f(s)).collect::<Vec<_>>())
            };
            let per_cpu: Vec<f64> = samples
                .iter()
                .filter_map(|s| {
                    let cpu = s.server_cpu_seconds?;
                    (cpu > 0.0).then(|| s.requests_per_second * s.measured_seconds / cpu)
                })
                .collect();
            let mut errors = ErrorCounts::default();
            let mut runs_with_errors = 0;
            for sample in &samples {
                if sample.errors.total() > 0 {
                    runs_with_errors += 1;
                }
                errors.connect += sample.errors.connect;
                errors.timeout += sample.errors.timeout;
                errors.status += sample.errors.status;
                errors.body_length += sample.errors.body_length;
                errors.read += sample.errors.read;
            }
            Row {
                server: server.to_owned(),
                requests_per_second: of(&|s| s.requests_per_second),
                p50: of(&|s| s.latency.p50),
                p99: of(&|s| s.latency.p99),
                max: of(&|s| s.latency.max),
                requests_per_cpu_second: (!per_cpu.is_empty()).then(|| spread(&per_cpu)),
                peak_rss_bytes: results
                    .servers
                    .iter()
                    .filter(|s| s.server == server)
                    .map(|s| s.peak_rss_bytes)
                    .max(),
                errors,
                runs_with_errors,
            }
        })
        .collect()
}

/// The title of a workload's table.
pub fn title(workload: &Workload, settings: &Settings, connections: usize) -> String {
    let runs = if settings.runs == 1 {
        "1 run".to_owned()
    } else {
        format!("{} runs", settings.runs)
    };
    let mode = match settings.rate {
        Some(rate) => format!(", open loop at {rate:.0} req/s"),
        None => String::new(),
    };
    format!(
        "{} ({}, {connections} connections, {}, {runs}{mode})",
        workload.name,
        workload.description,
        seconds(settings.duration)
    )
}

fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0} s")
    } else {
        format!("{secs:.1} s")
    }
}

/// A latency in milliseconds the way people read it: `0.72ms`, `4.1ms`, `41ms`.
pub fn millis(ms: f64) -> String {
    if !ms.is_finite() {
        "-".to_owned()
    } else if ms < 1.0 {
        format!("{ms:.2}ms")
    } else if ms < 10.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{ms:.0}ms")
    }
}

/// A count with thousands separators: `61,200`.
pub fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_owned();
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (index, ch) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if value < 0.0 { format!("-{out}") } else { out }
}

fn megabytes(bytes: Option<u64>) -> String {
    bytes.map_or("-".to_owned(), |b| {
        format!("{:.1} MB", b as f64 / 1_000_000.0)
    })
}

/// `1.00`, `20.7x slower` or `1.14x faster` against Ferry's requests per second.
pub fn versus(ferry: f64, other: f64, is_ferry: bool) -> String {
    if is_ferry {
        "1.00".to_owned()
    } else if !(ferry > 0.0 && other > 0.0) {
        "-".to_owned()
    } else if other <= ferry {
        format!("{:.1}x slower", ferry / other)
    } else {
        format!("{:.2}x faster", other / ferry)
    }
}

fn ferry_rate(rows: &[Row]) -> f64 {
    rows.iter()
        .find(|r| r.server == "ferry")
        .map_or(f64::NAN, |r| r.requests_per_second.median)
}

/// The terminal report: a table per workload, errors flagged under it, and the verdict.
pub fn text(results: &Results, workloads: &[Workload], settings: &Settings) -> String {
    let mut out = String::new();
    for workload in workloads {
        let rows = rows(results, workload.name);
        if rows.is_empty() {
            continue;
        }
        let connections = workload.connections(settings.connections);
        let _ = writeln!(out, "\n{}", title(workload, settings, connections));
        let _ = writeln!(
            out,
            "  {:<18} {:>14} {:>9} {:>19} {:>8} {:>8} {:>8} {:>9} {:>11}  vs ferry",
            "server",
            "req/s (median)",
            "±95% CI",
            "min–max",
            "p50",
            "p99",
            "max",
            "RSS",
            "req/CPU-s"
        );
        let ferry = ferry_rate(&rows);
        for row in &rows {
            let rps = &row.requests_per_second;
            let _ = writeln!(
                out,
                "  {:<18} {:>14} {:>9} {:>19} {:>8} {:>8} {:>8} {:>9} {:>11}  {}",
                row.server,
                thousands(rps.median),
                rps.ci95
                    .map_or("-".to_owned(), |ci| format!("±{}", thousands(ci))),
                format!("{}–{}", thousands(rps.min), thousands(rps.max)),
                millis(row.p50.median),
                millis(row.p99.median),
                millis(row.max.median),
                megabytes(row.peak_rss_bytes),
                row.requests_per_cpu_second
                    .map_or("-".to_owned(), |s| thousands(s.median)),
                versus(ferry, rps.median, row.server == "ferry"),
            );
        }
        for row in rows.iter().filter(|r| r.runs_with_errors > 0) {
            let _ = writeln!(
                out,
                "  ! {}: errors in {} of {} runs ({})",
                row.server,
                row.runs_with_errors,
                settings.runs,
                describe(&row.errors)
            );
        }
    }
    for line in verdict(results, workloads) {
        let _ = writeln!(out, "\n{line}");
    }
    out
}

fn describe(errors: &ErrorCounts) -> String {
    let parts: Vec<String> = [
        ("connect", errors.connect),
        ("timeout", errors.timeout),
        ("status", errors.status),
        ("body length", errors.body_length),
        ("read", errors.read),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(kind, n)| format!("{kind} {n}"))
    .collect();
    parts.join(", ")
}

/// One line per measured peer among Python and Node, against Ferry's 10x goal.
pub fn verdict(results: &Results, workloads: &[Workload]) -> Vec<String> {
    let mut lines = Vec::new();
    for peer in ["python", "node"] {
        let mut ratios = Vec::new();
        for workload in workloads {
            let rows = rows(results, workload.name);
            let ferry = ferry_rate(&rows);
            if let Some(row) = rows.iter().find(|r| r.server == peer)
                && ferry > 0.0
                && row.requests_per_second.median > 0.0
            {
                ratios.push((workload.name, ferry / row.requests_per_second.median));
            }
        }
        if ratios.is_empty() {
            continue;
        }
        let missed: Vec<String> = ratios
            .iter()
            .filter(|(_, ratio)| *ratio < 10.0)
            .map(|(name, ratio)| format!("{name} ({ratio:.1}x)"))
            .collect();
        let list: Vec<String> = ratios
            .iter()
            .map(|(name, ratio)| format!("{ratio:.1}x on {name}"))
            .collect();
        let outcome = if missed.is_empty() {
            "goal of 10x met on every workload".to_owned()
        } else {
            format!("goal of 10x NOT met on {}", missed.join(", "))
        };
        lines.push(format!(
            "Verdict: ferry vs {peer}: {} — {outcome}.",
            list.join(", ")
        ));
    }
    lines
}

/// The Markdown report: machine, command, how each server ran, one table per workload,
/// start-up and memory, skipped servers, and the verdict.
pub fn markdown(
    results: &Results,
    workloads: &[Workload],
    settings: &Settings,
    machine: &Machine,
    command: &str,
) -> String {
    let mut out = String::from("# ferry bench\n\n");
    let _ = writeln!(
        out,
        "- Machine: {} ({} cores), Linux {}",
        machine.cpu, machine.cores, machine.kernel
    );
    let _ = writeln!(out, "- Command: `{command}`");
    let _ = writeln!(
        out,
        "- Each figure is the median of {} runs; servers ran one at a time, in alternating order{}.",
        settings.runs,
        if settings.pinned {
            ", servers pinned to CPU 0 and the load generator to CPU 1"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "\n| server | started as |\n|---|---|");
    for (server, setup) in &results.setups {
        let _ = writeln!(out, "| {server} | {setup} |");
    }
    for workload in workloads {
        let rows = rows(results, workload.name);
        if rows.is_empty() {
            continue;
        }
        let connections = workload.connections(settings.connections);
        let _ = writeln!(out, "\n## {}\n", title(workload, settings, connections));
        let _ = writeln!(
            out,
            "| server | req/s (median) | ±95% CI | min–max | p50 | p99 | max | req per server CPU-s | vs ferry |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        let ferry = ferry_rate(&rows);
        for row in &rows {
            let rps = &row.requests_per_second;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {}–{} | {} | {} | {} | {} | {} |",
                row.server,
                thousands(rps.median),
                rps.ci95
                    .map_or("-".to_owned(), |ci| format!("±{}", thousands(ci))),
                thousands(rps.min),
                thousands(rps.max),
                millis(row.p50.median),
                millis(row.p99.median),
                millis(row.max.median),
                row.requests_per_cpu_second
                    .map_or("-".to_owned(), |s| thousands(s.median)),
                versus(ferry, rps.median, row.server == "ferry"),
            );
        }
        for row in rows.iter().filter(|r| r.runs_with_errors > 0) {
            let _ = writeln!(
                out,
                "\nErrors: {} in {} of {} runs ({}).",
                row.server,
                row.runs_with_errors,
                settings.runs,
                describe(&row.errors)
            );
        }
    }
    if !results.servers.is_empty() {
        let _ = writeln!(
            out,
            "\n## Start-up and memory\n\n| server | start-up (median) | peak RSS |\n|---|---:|---:|"
        );
        let mut names: Vec<&str> = Vec::new();
        for sample in &results.servers {
            if !names.contains(&sample.server.as_str()) {
                names.push(&sample.server);
            }
        }
        for name in names {
            let startup: Vec<f64> = results
                .servers
                .iter()
                .filter(|s| s.server == name)
                .map(|s| s.startup_ms)
                .collect();
            let rss = results
                .servers
                .iter()
                .filter(|s| s.server == name)
                .map(|s| s.peak_rss_bytes)
                .max();
            let _ = writeln!(
                out,
                "| {name} | {} | {} |",
                millis(spread(&startup).median),
                megabytes(rss)
            );
        }
    }
    if !results.skipped.is_empty() {
        let _ = writeln!(out, "\n## Not measured\n");
        for skipped in &results.skipped {
            let _ = writeln!(out, "- {}: {}", skipped.server, skipped.reason);
        }
    }
    for line in verdict(results, workloads) {
        let _ = writeln!(out, "\n{line}");
    }
    out
}

/// Every raw run, with the settings, machine and command, as JSON.
pub fn json(results: &Results, settings: &Settings, machine: &Machine, command: &str) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        command: &'a str,
        machine: &'a Machine,
        settings: &'a Settings,
        results: &'a Results,
    }
    serde_json::to_string_pretty(&Document {
        command,
        machine,
        settings,
        results,
    })
    .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(thousands(61200.4), "61,200");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(millis(0.7234), "0.72ms");
        assert_eq!(millis(4.12), "4.1ms");
        assert_eq!(millis(41.3), "41ms");
        assert_eq!(versus(61200.0, 2950.0, false), "20.7x slower");
        assert_eq!(versus(61200.0, 70000.0, false), "1.14x faster");
        assert_eq!(versus(61200.0, 61200.0, true), "1.00");
    }
}
