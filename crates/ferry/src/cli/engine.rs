//! The JavaScript engine's flags, shared by `ferry run` and `ferry mcp`. Their defaults are
//! the library's ([`Limits::default`]), read from there.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use clap::builder::TypedValueParser as _;
use ferry_js::{EngineOptions, FetchStyle, Limits, NetPolicy, OutboundOptions};

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

    /// Where scripts' fetch may go. Absent: public addresses only (loopback, private and
    /// link-local ones are refused); alone: everywhere; with a list
    /// (--allow-net=api.example.com,127.0.0.1:8080): only those hosts.
    #[arg(long, value_name = "HOSTS", num_args = 0..=1, require_equals = true, default_missing_value = "", value_parser = parse_allow_net)]
    pub allow_net: Option<NetPolicy>,

    /// The largest answer body a script's fetch may read.
    #[arg(long, default_value_t = Size(OutboundOptions::default().max_response_bytes), value_name = "SIZE")]
    pub fetch_max_response: Size,

    /// Which fetch scripts get: the web platform's (a promise of a Response), or
    /// aiwebengine's (waits, and returns the JSON text of { status, headers, body }).
    #[arg(long, default_value = "standard", value_name = "STYLE", value_parser = ["standard", "aiwebengine"])]
    pub fetch_style: String,

    #[command(flatten)]
    pub data: DataArgs,
}

/// `--allow-net`'s value: empty for everywhere, else a comma-separated list of hosts.
fn parse_allow_net(text: &str) -> Result<NetPolicy, String> {
    NetPolicy::from_flag(Some(text))
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
    /// The engine these flags describe, on the data store they name, with the secret key
    /// they give: what the commands that run scripts without serving them start.
    pub(crate) async fn start(&self) -> anyhow::Result<ferry_js::Engine> {
        let options = EngineOptions {
            store: Some(self.data.open()?),
            secret_key: self.secret_key()?,
            ..self.options()
        };
        ferry_js::Engine::start(options)
            .await
            .context("cannot start the JavaScript engine")
    }

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
            outbound: OutboundOptions {
                policy: self.allow_net.clone().unwrap_or_default(),
                max_response_bytes: self.fetch_max_response.0,
                style: if self.fetch_style == "aiwebengine" {
                    FetchStyle::Aiwebengine
                } else {
                    FetchStyle::Standard
                },
                ..defaults.outbound.clone()
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

    #[test]
    fn allow_net_reads_as_deno_spells_it() {
        let policy = |extra: &[&str]| {
            let mut args = vec!["ferry", "run"];
            args.extend_from_slice(extra);
            args.push("app.js");
            engine_of(&args).options().outbound.policy
        };
        assert_eq!(policy(&[]), NetPolicy::PublicOnly);
        assert_eq!(policy(&["--allow-net"]), NetPolicy::Everything);
        assert!(
            matches!(policy(&["--allow-net=a.test,127.0.0.1:9"]), NetPolicy::Only(rules) if rules.len() == 2)
        );
        assert!(
            Cli::try_parse_from(["ferry", "run", "--allow-net=http://a.test", "app.js"]).is_err()
        );
        let styled = engine_of(&[
            "ferry",
            "run",
            "--fetch-style",
            "aiwebengine",
            "--fetch-max-response",
            "1MiB",
            "app.js",
        ])
        .options();
        assert_eq!(styled.outbound.style, FetchStyle::Aiwebengine);
        assert_eq!(styled.outbound.max_response_bytes, 1 << 20);
    }
}
