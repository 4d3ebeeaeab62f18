//! The JavaScript engine's flags, shared by `ferry run` and `ferry mcp`. Their defaults are
//! the library's ([`Limits::default`]), read from there.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use clap::builder::TypedValueParser as _;
use ferry_js::{EngineOptions, Limits};

use super::DataArgs;
use super::values::{Size, millis};

/// How scripts run: workers and the sandbox limits.
#[derive(Debug, Clone, Args)]
pub(crate) struct EngineArgs {
    /// JavaScript worker threads, each with its own runtime [default: number of cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,

    /// Memory one worker's runtime may use, e.g. 64MiB or 1GiB.
    #[arg(long, default_value_t = Size(Limits::default().memory_bytes), value_name = "SIZE")]
    pub memory_limit: Size,

    /// Milliseconds one call into a script may run (async work included); past it the
    /// call is stopped and the client gets 504.
    #[arg(long, default_value_t = millis(Limits::default().call_timeout), value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// JavaScript stack per runtime; deeper recursion throws a RangeError.
    #[arg(long, default_value_t = Size(Limits::default().stack_bytes), value_name = "SIZE")]
    pub stack_size: Size,

    /// Largest script accepted.
    #[arg(long, default_value_t = Size(Limits::default().script_bytes), value_name = "SIZE")]
    pub max_script_size: Size,

    /// Largest request body passed to a script; longer ones get 413.
    #[arg(long, default_value_t = Size(Limits::default().body_bytes), value_name = "SIZE")]
    pub max_body_size: Size,

    /// The most each script's own SQL tables may take (`db`, `database`); past it, writes
    /// that could grow them are refused.
    #[arg(long, default_value_t = Size(Limits::default().sql.quota_bytes as usize), value_name = "SIZE")]
    pub sql_quota: Size,

    /// The most rows one SQL statement of a script may return.
    #[arg(long, default_value_t = Limits::default().sql.max_rows, value_name = "N", value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub sql_max_rows: usize,

    /// The most data one SQL statement of a script may return.
    #[arg(long, default_value_t = Size(Limits::default().sql.max_bytes), value_name = "SIZE")]
    pub sql_max_result: Size,

    /// The key scripts' secrets (secretStorage) are sealed with: 32 random bytes in base64
    /// or hex (`openssl rand -base64 32`). Every node of a cluster needs the same one.
    #[arg(
        long = "secret-key",
        env = "FERRY_SECRET_KEY",
        hide_env_values = true,
        value_name = "KEY",
        conflicts_with = "secret_key_file"
    )]
    pub secret_key: Option<String>,

    /// A file holding the secret key (what --secret-key takes), kept out of the process
    /// list and the environment.
    #[arg(long, value_name = "FILE")]
    pub secret_key_file: Option<PathBuf>,

    #[command(flatten)]
    pub data: DataArgs,
}

impl EngineArgs {
    /// The secret key from --secret-key, FERRY_SECRET_KEY or --secret-key-file, if any.
    pub(crate) fn secret_key(
        &self,
    ) -> anyhow::Result<Option<std::sync::Arc<ferry_store::SecretKey>>> {
        let (text, from) = match (&self.secret_key, &self.secret_key_file) {
            (Some(text), _) => (
                text.clone(),
                "--secret-key (or FERRY_SECRET_KEY)".to_owned(),
            ),
            (None, Some(file)) => (
                std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read --secret-key-file {}", file.display()))?,
                format!("--secret-key-file {}", file.display()),
            ),
            (None, None) => return Ok(None),
        };
        let key =
            ferry_store::SecretKey::parse(&text).with_context(|| format!("{from} is not a key"))?;
        Ok(Some(std::sync::Arc::new(key)))
    }

    /// The engine's options for these flags (the other options at their defaults, and no
    /// store: open it with [`DataArgs::open`]).
    pub(crate) fn options(&self) -> EngineOptions {
        let defaults = EngineOptions::default();
        EngineOptions {
            workers: self.workers.map_or(defaults.workers, usize::from),
            limits: Limits {
                memory_bytes: self.memory_limit.0,
                call_timeout: Duration::from_millis(self.timeout),
                stack_bytes: self.stack_size.0,
                script_bytes: self.max_script_size.0,
                body_bytes: self.max_body_size.0,
                sql: ferry_store::SqlLimits {
                    max_rows: self.sql_max_rows,
                    max_bytes: self.sql_max_result.0,
                    quota_bytes: self.sql_quota.0 as u64,
                },
                ..Limits::default()
            },
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn engine_of(args: &[&str]) -> EngineArgs {
        match Cli::try_parse_from(args).unwrap().command {
            Command::Run(run) => run.engine,
            Command::Mcp(mcp) => mcp.engine,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn without_flags_the_engine_runs_with_the_library_defaults() {
        for command in [["ferry", "run", "app.js"], ["ferry", "mcp", "app.js"]] {
            let options = engine_of(&command).options();
            assert_eq!(options.limits, Limits::default(), "{command:?}");
            assert_eq!(options.workers, EngineOptions::default().workers);
        }
    }

    #[test]
    fn flags_reach_the_limits() {
        let options = engine_of(&[
            "ferry",
            "mcp",
            "app.js",
            "--memory-limit",
            "16MiB",
            "--timeout",
            "250",
            "--stack-size",
            "1MiB",
            "--max-body-size",
            "2KiB",
        ])
        .options();
        assert_eq!(options.limits.memory_bytes, 16 << 20);
        assert_eq!(options.limits.call_timeout, Duration::from_millis(250));
        assert_eq!(options.limits.stack_bytes, 1 << 20);
        assert_eq!(options.limits.body_bytes, 2 << 10);
    }
}
