//! `ferry run APP`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ferry_core::sse::HubSettings;

use super::values::parse_token;
use super::{
    EngineArgs, FileArgs, LimitArgs, ListenArgs, LogArgs, ObserveArgs, SecurityArgs, SignInArgs,
};

/// Flags of `ferry run`.
#[derive(Debug, Clone, Args)]
pub(crate) struct RunArgs {
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

    /// Where scripts run: `auto` (quick routes on the server thread that accepted the
    /// request, a route whose calls hold it over a millisecond on average on the worker pool
    /// from then on), `pool` (worker threads of their own behind a queue: a long call never delays
    /// other requests) or `thread-per-core` (each server thread has its own JavaScript
    /// runtime and runs the scripts of its requests, as Deno does: no hand-off between
    /// threads, but a long call delays its thread's other requests).
    #[arg(long, value_enum, default_value_t = WorkerModelArg::Auto, value_name = "MODEL")]
    pub worker_model: WorkerModelArg,

    #[command(flatten)]
    pub engine: EngineArgs,

    /// Development mode: error messages and stack traces go to the client too, and the
    /// sign-in page offers a development sign-in (any name, e-mail and role) to this
    /// machine when listening on loopback.
    #[arg(long)]
    pub dev: bool,

    /// Do not reload scripts when their files change.
    #[arg(long)]
    pub no_watch: bool,

    /// Seconds between the comments that keep an idle event stream open.
    #[arg(long, default_value_t = HubSettings::default().keep_alive.as_secs(), value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub sse_heartbeat: u64,

    /// Clients one event stream accepts at a time; more get 503 with Retry-After.
    #[arg(long, default_value_t = HubSettings::default().max_clients as u64, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub sse_max_clients: u64,

    /// Messages queued for one event-stream client before it counts as too slow and is
    /// disconnected (its EventSource reconnects and catches up from the replay buffer).
    #[arg(long, default_value_t = HubSettings::default().client_queue as u64, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub sse_client_queue: u64,

    /// Messages each event stream keeps for clients that reconnect with Last-Event-ID
    /// (0: none).
    #[arg(long, default_value_t = HubSettings::default().replay as u64, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=65_536))]
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
    pub sign_in: SignInArgs,

    #[command(flatten)]
    pub observe: ObserveArgs,
}

/// `--worker-model` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum WorkerModelArg {
    /// Quick routes on the server threads, slow ones on the worker pool.
    Auto,
    /// Worker threads of their own, fed by a bounded queue.
    Pool,
    /// One runtime per server thread; requests run where they were accepted.
    ThreadPerCore,
}
