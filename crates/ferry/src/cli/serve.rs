//! `ferry serve [DIR]`.

use std::path::PathBuf;

use clap::Args;

use super::{
    DataArgs, FileArgs, LimitArgs, ListenArgs, LogArgs, ObserveArgs, SecurityArgs, SignInArgs,
};

/// Flags of `ferry serve`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    /// The directory to serve.
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,

    /// Read settings from this file (TOML, YAML or JSON) instead of a ferry.toml,
    /// ferry.yaml or ferry.json in DIR. Command-line flags and FERRY_* variables win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub listen: ListenArgs,

    /// Answer health checks at /health, /live and /ready (for load balancers).
    #[arg(long)]
    pub health: bool,

    /// Live reload: watch DIR and make open pages reload when a file changes (a changed
    /// stylesheet is swapped in place, without a reload).
    #[arg(short, long)]
    pub watch: bool,

    /// Print a QR code of the network URL (of the local URL on loopback), for phones.
    #[arg(long)]
    pub qr: bool,

    /// Open the URL in the default browser once the server listens.
    #[arg(long)]
    pub open: bool,

    /// Require this user name and password (HTTP Basic authentication). FERRY_AUTH keeps
    /// the password out of shell history.
    #[arg(long, value_name = "USER:PASSWORD", value_parser = parse_credentials)]
    pub auth: Option<(String, String)>,

    /// Offer a development sign-in on the sign-in page (any name, e-mail and role, no
    /// provider needed); only when listening on loopback, and only to this machine.
    #[arg(long)]
    pub dev: bool,

    #[command(flatten)]
    pub data: DataArgs,

    /// Allow every origin to fetch these files (CORS `*`), answering preflights.
    #[arg(long)]
    pub cors: bool,

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

/// Parses `user:password` (the password may contain `:`; the user name may not).
fn parse_credentials(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((user, password)) if !user.is_empty() => Ok((user.to_owned(), password.to_owned())),
        _ => Err("expected USER:PASSWORD with a non-empty user name".to_owned()),
    }
}
