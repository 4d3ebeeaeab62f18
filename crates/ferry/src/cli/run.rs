//! `ferry run APP`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{FileArgs, LimitArgs, ListenArgs, LogArgs, ObserveArgs, SecurityArgs};

/// Flags of `ferry run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The app: a `.js` script, or a directory whose `.js` files are all loaded.
    #[arg(value_name = "APP")]
    pub app: PathBuf,

    /// Read settings from this file (TOML, YAML or JSON) instead of a ferry.toml,
    /// ferry.yaml or ferry.json beside the app. Command-line flags and FERRY_* variables
    /// win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Serve the files of DIR for every path no route answers (routes come first).
    #[arg(long = "static", value_name = "DIR")]
    pub static_dir: Option<PathBuf>,

    #[command(flatten)]
    pub listen: ListenArgs,

    /// Do not answer health checks at /health, /live and /ready (a script's own route on
    /// one of these paths wins anyway).
    #[arg(long)]
    pub no_health: bool,

    /// Write script log lines (console.*, writeLog, script errors) to this file instead
    /// of the server log; rotated like --log-file.
    #[arg(long, value_name = "FILE")]
    pub script_log_file: Option<PathBuf>,

    /// Where scripts run: `pool` (worker threads of their own behind a queue: a long call
    /// never delays other requests) or `thread-per-core` (each server thread has its own
    /// JavaScript runtime and runs the scripts of its requests, as Deno does: no hand-off
    /// between threads, faster on few cores, but a long call delays its thread's other
    /// requests).
    #[arg(long, value_enum, default_value_t = WorkerModelArg::Pool, value_name = "MODEL")]
    pub worker_model: WorkerModelArg,

    /// JavaScript worker threads, each with its own runtime [default: number of cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,

    /// Memory one worker's runtime may use, e.g. 64MiB or 1GiB.
    #[arg(long, default_value = "64MiB", value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: usize,

    /// Milliseconds one call into a script may run (async work included); past it the
    /// call is stopped and the client gets 504.
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// JavaScript stack per runtime; deeper recursion throws a RangeError.
    #[arg(long, default_value = "512KiB", value_name = "SIZE", value_parser = parse_size)]
    pub stack_size: usize,

    /// Largest script accepted.
    #[arg(long, default_value = "1MiB", value_name = "SIZE", value_parser = parse_size)]
    pub max_script_size: usize,

    /// Largest request body passed to a script; longer ones get 413.
    #[arg(long, default_value = "1MiB", value_name = "SIZE", value_parser = parse_size)]
    pub max_body_size: usize,

    /// Where `sharedStorage` data (and scripts uploaded through the management API) are
    /// kept, in an SQLite database.
    #[arg(long, default_value = ".ferry", value_name = "DIR")]
    pub data_dir: PathBuf,

    /// Development mode: error messages and stack traces go to the client too.
    #[arg(long)]
    pub dev: bool,

    /// Do not reload scripts when their files change.
    #[arg(long)]
    pub no_watch: bool,

    /// Seconds between the comments that keep an idle event stream open.
    #[arg(long, default_value_t = 15, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub sse_heartbeat: u64,

    /// Clients one event stream accepts at a time; more get 503 with Retry-After.
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub sse_max_clients: u64,

    /// Messages queued for one event-stream client before it counts as too slow and is
    /// disconnected (its EventSource reconnects and catches up from the replay buffer).
    #[arg(long, default_value_t = 256, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub sse_client_queue: u64,

    /// Messages each event stream keeps for clients that reconnect with Last-Event-ID
    /// (0: none).
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=65_536))]
    pub sse_replay: u64,

    /// Refuse GraphQL introspection (`__schema`, `__type`) at /graphql.
    #[arg(long)]
    pub no_graphql_introspection: bool,

    /// Require `Authorization: Bearer TOKEN` at /mcp (FERRY_MCP_TOKEN keeps it out of
    /// shell history).
    #[arg(long, env = "FERRY_MCP_TOKEN", hide_env_values = true, value_name = "TOKEN", value_parser = parse_token)]
    pub mcp_token: Option<String>,

    /// Also accept this `Host` at /mcp (besides localhost, 127.0.0.1 and ::1), e.g. the
    /// name clients use when Ferry listens on a network address. Repeatable.
    #[arg(long, value_name = "HOST")]
    pub mcp_allowed_host: Vec<String>,

    /// Also accept browser requests from this origin at /mcp (e.g.
    /// `https://app.example.com:443`; ports may be `*`). Repeatable.
    #[arg(long, value_name = "ORIGIN")]
    pub mcp_allowed_origin: Vec<String>,

    /// Turn on the management API (POST /engine/upsert_script, POST /engine/delete_script,
    /// GET /engine/scripts, GET /engine/read_script), which then requires
    /// `Authorization: Bearer TOKEN`. FERRY_ADMIN_TOKEN keeps it out of shell history.
    #[arg(long, env = "FERRY_ADMIN_TOKEN", hide_env_values = true, value_name = "TOKEN", value_parser = parse_token)]
    pub admin_token: Option<String>,

    #[command(flatten)]
    pub log: LogArgs,

    // Last: each group sets its own help heading, which would carry over to later flags.
    #[command(flatten)]
    pub files: FileArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub security: SecurityArgs,

    #[command(flatten)]
    pub observe: ObserveArgs,
}

/// `--worker-model` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WorkerModelArg {
    /// Worker threads of their own, fed by a bounded queue.
    Pool,
    /// One runtime per server thread; requests run where they were accepted.
    ThreadPerCore,
}

/// An admin token must be long enough not to be guessed.
fn parse_token(text: &str) -> Result<String, String> {
    if text.trim().len() < 16 {
        return Err("use a token of at least 16 characters (e.g. openssl rand -hex 32)".to_owned());
    }
    Ok(text.trim().to_owned())
}

/// Parses a size: a number of bytes, or a number with a unit (`KiB`, `MiB`, `GiB`, or the
/// decimal `KB`, `MB`, `GB`; `K`, `M`, `G` count as binary).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|ch: char| !ch.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size; write e.g. 65536, 512KiB or 64MiB"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => return Err(format!("unknown size unit {other:?}; use KiB, MiB or GiB")),
    };
    number
        .checked_mul(factor)
        .filter(|size| *size > 0)
        .ok_or_else(|| format!("{text:?} is not a usable size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_binary_and_decimal_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2MB"), Ok(2_000_000));
    }

    #[test]
    fn bad_sizes_say_what_to_write() {
        assert!(parse_size("lots").unwrap_err().contains("64MiB"));
        assert!(
            parse_size("5 parsecs")
                .unwrap_err()
                .contains("unknown size unit")
        );
        assert!(parse_size("0").is_err());
    }
}

/// Flags of `ferry mcp`.
#[derive(Debug, Clone, clap::Args)]
pub struct McpArgs {
    /// A script, or a directory of scripts, that register MCP tools, resources and prompts.
    #[arg(value_name = "APP")]
    pub app: PathBuf,

    /// JavaScript workers.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,

    /// Memory limit of each worker's JavaScript runtime.
    #[arg(long, default_value = "64MiB", value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: usize,

    /// Time limit of one call, in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Where `sharedStorage` data is kept.
    #[arg(long, default_value = ".ferry", value_name = "DIR")]
    pub data_dir: PathBuf,

    /// Log more (to standard error; standard output carries the protocol).
    #[arg(short, long)]
    pub verbose: bool,
}
