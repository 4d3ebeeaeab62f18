//! The `ferry` binary: parses the command line and hands over to one module per
//! subcommand. It holds no protocol or file logic itself.

mod banner;
mod bench;
mod cli;
mod config;
mod files;
mod launch;
mod listen;
mod logging;
mod mcp;
mod protection;
mod run;
mod serve;
mod sign_in;
mod test;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let raw: Vec<OsString> = std::env::args_os().collect();
    // The command line alone first, so --help, --version and typos are answered by clap.
    let cli = Cli::parse_from(&raw);
    match cli.command {
        Command::Serve(_) => match config::serve_settings(&raw) {
            Ok(settings) => run_server(&settings.args.log.clone(), None, serve::run(settings)),
            Err(error) => failure(&error),
        },
        Command::Run(_) => match config::run_settings(&raw) {
            Ok(settings) => {
                let log = settings.args.log.clone();
                let script_log = settings.args.script_log_file.clone();
                run_server(&log, script_log.as_deref(), run::run(settings))
            }
            Err(error) => failure(&error),
        },
        Command::Mcp(args) => run_mcp(args),
        Command::Test(args) => run_tests(args),
        Command::Bench(args) => match bench::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => failure(&error),
        },
    }
}

/// Runs `ferry mcp`: logs go to standard error, which MCP leaves free.
fn run_mcp(args: cli::McpArgs) -> ExitCode {
    match run_logged(&stderr_log(args.verbose), None, mcp::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => failure(&error),
    }
}

/// Runs `ferry test`: quiet logs unless `--verbose`; failing tests exit with 1.
fn run_tests(args: cli::TestArgs) -> ExitCode {
    match run_logged(&stderr_log(args.verbose), None, test::run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => failure(&error),
    }
}

/// Logging of the commands whose standard output is theirs (`mcp`, `test`): warnings and
/// errors on standard error, everything with `--verbose`.
fn stderr_log(verbose: bool) -> cli::LogArgs {
    cli::LogArgs {
        verbose,
        quiet: !verbose,
        log_format: cli::LogFormat::Human,
        log_file: None,
        log_rotation: cli::LogRotation::Never,
        log_keep: 1,
    }
}

/// Sets up logging and the async runtime, runs a server command, and maps its outcome to an
/// exit code (errors are printed with their causes and hints).
fn run_server(
    log: &cli::LogArgs,
    script_log: Option<&std::path::Path>,
    command: impl std::future::Future<Output = anyhow::Result<listen::Outcome>>,
) -> ExitCode {
    match run_logged(log, script_log, command) {
        Ok(listen::Outcome::Stopped) => ExitCode::SUCCESS,
        // The conventional status of a process ended by SIGINT.
        Ok(listen::Outcome::Forced) => ExitCode::from(130),
        Err(error) => failure(&error),
    }
}

/// Installs the logger, starts the async runtime and runs `command` on it; the logger's
/// writers flush when this returns.
fn run_logged<T>(
    log: &cli::LogArgs,
    script_log: Option<&std::path::Path>,
    command: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let _log_guards = logging::init(log, script_log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow::anyhow!("cannot start the async runtime: {error}"))?;
    runtime.block_on(command)
}

/// Prints `error` with its causes and hints.
fn failure(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}
