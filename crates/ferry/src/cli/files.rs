//! The file service's flags, shared by `ferry serve DIR` and `ferry run APP --static DIR`:
//! the same files are served the same way by both commands.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use http::{HeaderName, HeaderValue};

use super::header::parse_header;

/// How static files are served.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Files")]
pub(crate) struct FileArgs {
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

    /// Send files as they are: no on-the-fly compression and no precompressed copies.
    #[arg(long)]
    pub no_compress: bool,

    /// Send this page, with status 404, when nothing is found (default: a plain answer).
    #[arg(long = "404", value_name = "FILE")]
    pub not_found_page: Option<PathBuf>,

    /// Add a header to every file response; repeatable. Example: -H 'X-Frame-Options: DENY'.
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'", value_parser = parse_header)]
    pub headers: Vec<(HeaderName, HeaderValue)>,

    /// Cross-Origin-Embedder-Policy to send with the default cross-origin isolation.
    #[arg(long, value_enum, default_value_t = CoepArg::RequireCorp, value_name = "POLICY")]
    pub coep: CoepArg,

    /// Send no cross-origin isolation headers (COOP, COEP, CORP).
    #[arg(long)]
    pub no_isolation: bool,
}

/// `--coep` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CoepArg {
    /// Cross-origin resources must opt in with CORP or CORS.
    RequireCorp,
    /// Cross-origin resources load without credentials.
    Credentialless,
}
