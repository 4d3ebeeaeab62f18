//! Security response headers and CORS. Shared by `ferry serve` and `ferry run`, whose
//! defaults differ where noted.

use clap::{Args, ValueEnum};

/// Response-header flags of every server command.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Security headers and CORS")]
pub(crate) struct SecurityArgs {
    /// Send none of the security headers (X-Content-Type-Options, X-Frame-Options,
    /// Referrer-Policy, Content-Security-Policy, Strict-Transport-Security).
    #[arg(long)]
    pub no_security_headers: bool,

    /// X-Frame-Options: who may show pages in a frame [default: sameorigin for `serve`,
    /// deny for `run`].
    #[arg(long, value_enum, value_name = "POLICY")]
    pub frame_options: Option<FrameOptionsArg>,

    /// Referrer-Policy to send, or `off`.
    #[arg(
        long,
        default_value = "strict-origin-when-cross-origin",
        value_name = "POLICY"
    )]
    pub referrer_policy: String,

    /// Content-Security-Policy to send, e.g. "default-src 'self'" (none by default).
    #[arg(long, value_name = "POLICY")]
    pub csp: Option<String>,

    /// Strict-Transport-Security max-age in seconds, sent over HTTPS (0: none) [default:
    /// 31536000 for `run` with --tls-cert; none for `serve` and self-signed certificates,
    /// where pinning browsers to HTTPS would outlive the test].
    #[arg(long, value_name = "SECONDS")]
    pub hsts: Option<u64>,

    /// Let pages of other origins read responses (CORS) when they come from ORIGIN, e.g.
    /// `https://app.example.com`; `*` for every origin. Repeatable.
    #[arg(long, value_name = "ORIGIN")]
    pub cors_origin: Vec<String>,

    /// Methods a CORS preflight allows, comma-separated [default: GET, HEAD for `serve`;
    /// GET, HEAD, POST, PUT, PATCH, DELETE for `run`].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub cors_methods: Vec<http::Method>,

    /// Request headers a CORS preflight allows, comma-separated [default: the ones asked
    /// for].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub cors_headers: Vec<String>,

    /// Let cross-origin pages send cookies and credentials (the origin is reflected
    /// instead of `*`).
    #[arg(long)]
    pub cors_credentials: bool,

    /// Seconds browsers may cache a CORS preflight's answer.
    #[arg(long, default_value_t = 86400, value_name = "SECONDS")]
    pub cors_max_age: u64,
}

/// `--frame-options` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FrameOptionsArg {
    /// No page may frame these responses.
    Deny,
    /// Only pages of the same origin may.
    Sameorigin,
    /// Send no X-Frame-Options.
    Off,
}
