//! Sign-in flags, shared by `ferry serve` and `ferry run`: one OpenID Connect provider,
//! paths kept for signed-in users, and how sessions behave. Several providers, roles per
//! path and presets are written in the config file's `[auth]` table (docs/auth.md).

use clap::Args;
use ferry_auth::SessionSettings;

/// Sign-in and protection flags of every server command.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Sign-in (OpenID Connect)")]
pub(crate) struct SignInArgs {
    /// Let users sign in with the OpenID Connect provider at this issuer URL (its
    /// discovery document is read from ISSUER/.well-known/openid-configuration), e.g.
    /// `https://accounts.google.com`.
    #[arg(long, value_name = "URL", requires = "oidc_client_id")]
    pub oidc_issuer: Option<String>,

    /// The client id the provider issued to this site.
    #[arg(long, value_name = "ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,

    /// The client secret the provider issued; FERRY_OIDC_CLIENT_SECRET keeps it out of
    /// shell history.
    #[arg(
        long,
        env = "FERRY_OIDC_CLIENT_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub oidc_client_secret: Option<String>,

    /// Keep PATH and everything under it for signed-in users (`/` for the whole site): a
    /// browser is sent to sign in and back, other clients get 401. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub protect: Vec<String>,

    /// Only this e-mail address (verified by the provider) may enter the paths of
    /// --protect. Repeatable; with --allow-domain or --allow-group, any of them may.
    #[arg(long, value_name = "EMAIL")]
    pub allow_email: Vec<String>,

    /// Only addresses of this domain (e.g. example.com) may enter the paths of --protect.
    /// Repeatable.
    #[arg(long, value_name = "DOMAIN")]
    pub allow_domain: Vec<String>,

    /// Only members of this group (see /engine/groups; nested groups count) may enter the
    /// paths of --protect. Repeatable.
    #[arg(long, value_name = "GROUP")]
    pub allow_group: Vec<String>,

    /// Make the user with this verified e-mail address an administrator at sign-in.
    /// Repeatable.
    #[arg(long, value_name = "EMAIL")]
    pub bootstrap_admin: Vec<String>,

    /// The site's public origin, e.g. `https://app.example.com`, for the callback URL given
    /// to providers and for secure cookies behind a proxy that terminates TLS [default:
    /// from each request].
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,

    /// Seconds a session may go unused before it ends.
    #[arg(long, default_value_t = SessionSettings::default().idle_timeout.as_secs(), value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(60..))]
    pub session_idle_timeout: u64,

    /// Seconds after sign-in when a session ends however much it is used.
    #[arg(long, default_value_t = SessionSettings::default().max_age.as_secs(), value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(60..))]
    pub session_max_age: u64,

    /// Sessions one user may have at once; signing in again ends the oldest.
    #[arg(long, default_value_t = SessionSettings::default().max_per_user as u64, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub sessions_per_user: u64,

    /// The session cookie's name (over HTTPS it gets the __Host- prefix).
    #[arg(long, default_value = ferry_auth::DEFAULT_COOKIE_NAME, value_name = "NAME")]
    pub session_cookie: String,
}
