//! The command line: one struct per subcommand, flags documented by their help text.

mod bench;
mod data;
#[cfg(test)]
mod docs;
mod engine;
mod files;
mod header;
mod limits;
mod listen;
mod mcp;
mod observe;
mod run;
mod security;
mod serve;
mod sign_in;
mod test;
mod values;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(crate) use bench::BenchArgs;
pub(crate) use data::DataArgs;
pub(crate) use engine::EngineArgs;
pub(crate) use files::{CoepArg, FileArgs};
pub(crate) use limits::LimitArgs;
pub(crate) use listen::ListenArgs;
pub(crate) use mcp::McpArgs;
pub(crate) use observe::ObserveArgs;
pub(crate) use run::{RunArgs, WorkerModelArg};
pub(crate) use security::{FrameOptionsArg, SecurityArgs};
pub(crate) use serve::ServeArgs;
pub(crate) use sign_in::SignInArgs;
pub(crate) use test::TestArgs;

/// Ferry: a fast single-binary web server.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Ferry's subcommands.
// Parsed once at start-up and taken apart at once: the size of the largest flags is no cost.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve a directory of static files (the current directory by default).
    Serve(ServeArgs),
    /// Run a JavaScript app: a script (or a directory of scripts) that registers routes.
    Run(RunArgs),
    /// Serve a JavaScript app's MCP tools, resources and prompts over stdin/stdout (for MCP
    /// clients that start their servers).
    Mcp(McpArgs),
    /// Measure Ferry, and optionally other servers, on this machine.
    Bench(BenchArgs),
    /// Run a JavaScript app's tests (`*.test.js|ts` files: describe, it, expect), with
    /// every database write rolled back; exits non-zero when one fails.
    Test(TestArgs),
}

/// Logging flags shared by every server command.
#[derive(Debug, Clone, Args)]
pub(crate) struct LogArgs {
    /// Log more: connection events and decisions, besides one line per request.
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Log only warnings and errors (no request lines) and print only the URL at start-up.
    #[arg(short, long)]
    pub quiet: bool,

    /// Log format: `human` for people, `json` (one object per line) for machines.
    #[arg(long, value_enum, default_value_t = LogFormat::Human, value_name = "FORMAT")]
    pub log_format: LogFormat,

    /// Write logs to this file instead of standard error; it is rotated (FILE.2026-11-22,
    /// ...) as --log-rotation says.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// When --log-file starts a new file.
    #[arg(long, value_enum, default_value_t = LogRotation::Daily, value_name = "WHEN")]
    pub log_rotation: LogRotation,

    /// Rotated log files kept; older ones are deleted.
    #[arg(long, default_value_t = 7, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub log_keep: u16,
}

/// When a log file is rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogRotation {
    /// A new file every hour.
    Hourly,
    /// A new file every day.
    Daily,
    /// One file, never rotated.
    Never,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Plain lines, coloured in a terminal.
    Human,
    /// One JSON object per line, with a timestamp and every field.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
