//! `ferry bench`: measures Ferry (and the peers asked for) on this machine with
//! `ferry-bench`, prints the tables and writes the reports.

use std::io::Write;
use std::process::Command;

use anyhow::{Context, anyhow};
use ferry_bench::report::{self, Machine, Settings};
use ferry_bench::runner::{self, BenchConfig};
use ferry_bench::{Target, peers, workload};

use crate::cli::BenchArgs;

/// Runs `ferry bench` to completion.
pub(crate) fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.runs == 0 || args.connections == 0 {
        return Err(anyhow!("--runs and --connections must be at least 1"));
    }
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this ferry is a debug build, many times slower than a release build; \
measure `cargo build --release` for real figures"
        );
    }
    // Before pinning, which narrows the cores this process sees to one.
    let machine = Machine::detect();
    let pinned = args.pin && pin_this_process_to_cpu_1();
    // Pinned, the generator has one core: one thread, like `wrk -t1`.
    let runtime = if pinned {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    }
    .context("cannot start the async runtime")?;

    let workloads = workload::select(args.workload.as_deref()).map_err(|e| anyhow!(e))?;
    let config = BenchConfig {
        peers: peers::select(args.compare.as_deref()).map_err(|e| anyhow!(e))?,
        workloads: workloads.clone(),
        connections: args.connections,
        duration: args.duration,
        warmup: args.warmup,
        runs: args.runs,
        rate: args.rate,
        pin: pinned,
        ferry: std::env::current_exe().context("cannot find the ferry executable to measure")?,
    };
    let settings = Settings {
        connections: args.connections,
        duration: args.duration,
        runs: args.runs,
        rate: args.rate,
        pinned,
    };
    let mut progress = |line: &str| {
        eprintln!("{line}");
    };
    let (results, workloads) = match &args.target {
        Some(url) => {
            let target = Target::parse(url)?;
            let results = runtime.block_on(runner::run_target(&target, &config, &mut progress));
            let only = workload::Workload {
                name: "target",
                description: "the given URL",
                paths: target.paths.clone(),
                connection_divisor: 1,
            };
            (results, vec![only])
        }
        None => {
            for peer in &config.peers {
                eprintln!("{}: {}", peer.name, peer.setup);
            }
            let results = runtime
                .block_on(runner::run(&config, &mut progress))
                .context("cannot prepare the fixtures")?;
            (results, workloads)
        }
    };

    let mut stdout = std::io::stdout().lock();
    let _ = write!(stdout, "{}", report::text(&results, &workloads, &settings));
    for skipped in &results.skipped {
        let _ = writeln!(stdout, "skipped {}: {}", skipped.server, skipped.reason);
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    if let Some(path) = &args.json {
        std::fs::write(path, report::json(&results, &settings, &machine, &command))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.markdown {
        std::fs::write(
            path,
            report::markdown(&results, &workloads, &settings, &machine, &command),
        )
        .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Pins this process (and the threads it starts later) to CPU 1 with `taskset`. Says why
/// when it cannot.
fn pin_this_process_to_cpu_1() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 {
        eprintln!("warning: --pin needs two cores; running unpinned");
        return false;
    }
    let pinned = Command::new("taskset")
        .args(["-p", "-c", "1", &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !pinned {
        eprintln!("warning: --pin needs taskset (util-linux); running unpinned");
    }
    pinned
}
