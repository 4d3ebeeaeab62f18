//! `ferry serve [DIR]`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use http::{HeaderName, HeaderValue};

use super::header::parse_header;
use super::{LimitArgs, ListenArgs, LogArgs, ObserveArgs, SecurityArgs};

/// Flags of `ferry serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
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

    /// Answer 404 for directories without an index file instead of listing them.
    #[arg(long)]
    pub no_listing: bool,

    /// Serve and list hidden files such as `.env` and `.git/` (refused by default).
    #[arg(long)]
    pub hidden: bool,

    /// Follow symlinks that lead outside the directory (refused with 403 by default).
    #[arg(long)]
    pub follow_symlinks: bool,

    /// Single-page-app mode: browser navigations to missing paths get `index.html` (200);
    /// missing assets stay 404.
    #[arg(long)]
    pub spa: bool,

    /// Let browsers reuse files for SECONDS without asking (`Cache-Control: max-age`).
    /// By default they revalidate every time (`no-cache`), so edits show at once.
    #[arg(long, value_name = "SECONDS")]
    pub cache: Option<u64>,

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

    /// Send files as they are: no on-the-fly compression and no precompressed copies.
    #[arg(long)]
    pub no_compress: bool,

    /// Require this user name and password (HTTP Basic authentication). FERRY_AUTH keeps
    /// the password out of shell history.
    #[arg(long, value_name = "USER:PASSWORD", value_parser = parse_credentials)]
    pub auth: Option<(String, String)>,

    /// Send this page, with status 404, when nothing is found (default: a plain answer).
    #[arg(long = "404", value_name = "FILE")]
    pub not_found_page: Option<PathBuf>,

    /// Allow every origin to fetch these files (CORS `*`), answering preflights.
    #[arg(long)]
    pub cors: bool,

    /// Add a header to every response; repeatable. Example: -H 'X-Frame-Options: DENY'.
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'", value_parser = parse_header)]
    pub headers: Vec<(HeaderName, HeaderValue)>,

    /// Cross-Origin-Embedder-Policy to send with the default cross-origin isolation.
    #[arg(long, value_enum, default_value_t = CoepArg::RequireCorp, value_name = "POLICY")]
    pub coep: CoepArg,

    /// Send no cross-origin isolation headers (COOP, COEP, CORP).
    #[arg(long)]
    pub no_isolation: bool,

    #[command(flatten)]
    pub log: LogArgs,

    // Last: each group sets its own help heading, which would carry over to later flags.
    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub security: SecurityArgs,

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

/// `--coep` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CoepArg {
    /// Cross-origin resources must opt in with CORP or CORS.
    RequireCorp,
    /// Cross-origin resources load without credentials.
    Credentialless,
}
