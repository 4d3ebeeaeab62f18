//! Sign-in for `ferry serve` and `ferry run`: the `[auth]` table of the config file and the
//! sign-in flags, turned into the library's [`AuthSettings`] and an [`Auth`] whose users
//! and sessions live in the data directory. Off — no `/auth` routes, no cost — unless a
//! provider, a protected path or the development sign-in asks for it.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use ferry_auth::{AccessRule, Auth, AuthSettings, ProviderSettings, SessionSettings};
use ferry_core::stack::Authentication;
use ferry_store::Store;

use crate::cli::SignInArgs;
use ferry_auth::ResolvedAuthConfig;

/// The name of the provider `--oidc-issuer` configures.
const FLAG_PROVIDER: &str = "oidc";

/// Sign-in as configured, ready for the stack.
pub(crate) struct SignIn {
    /// The sign-in state.
    pub auth: Auth,
    /// The database files, which no file service may serve.
    pub database_files: Vec<PathBuf>,
}

impl SignIn {
    /// The stack's authentication step.
    pub(crate) fn step(&self) -> Authentication {
        self.auth.stack_step()
    }

    /// The MCP endpoint's gate: signed-in requests enter; the others are challenged with
    /// the protected-resource metadata, where MCP clients start signing in.
    pub(crate) fn mcp_gate(&self) -> ferry_mcp::McpGate {
        let auth = self.auth.clone();
        ferry_mcp::McpGate::new(
            |request| request.extensions().get::<ferry_auth::Identity>().is_some(),
            move |request| auth.mcp_challenge(request),
        )
    }

    /// One line for the banner: the providers and protected paths.
    pub(crate) fn describe(&self) -> String {
        let settings = self.auth.settings();
        let mut parts: Vec<String> = settings
            .providers
            .iter()
            .map(|provider| provider.label.clone())
            .collect();
        if settings.dev_sign_in {
            parts.push("development sign-in (this machine only)".into());
        }
        let mut line = format!("/auth/login — {}", parts.join(", "));
        if !settings.rules.is_empty() {
            let paths: Vec<&str> = settings
                .rules
                .iter()
                .map(|rule| rule.path.as_str())
                .collect();
            line.push_str(&format!("; protected: {}", paths.join(" ")));
        }
        line
    }
}

/// What `ferry run` serves besides the app that sign-in must know of.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AppEndpoints<'a> {
    /// `--admin-token`, the break-glass administrator.
    pub admin_token: Option<&'a str>,
    /// The MCP endpoint's path, whose clients sign in through Ferry's authorization server.
    pub mcp_path: Option<&'a str>,
}

/// Sign-in from `args` and `file`, with the development sign-in when `dev` asks and the
/// server listens on loopback (`host`), users and sessions kept in the store `open` gives
/// (called only when sign-in is on), and the `app`'s admin token and MCP endpoint; `None`
/// when nothing asks for sign-in.
pub(crate) fn configure(
    args: &SignInArgs,
    file: ResolvedAuthConfig,
    dev: bool,
    host: IpAddr,
    open: impl FnOnce() -> anyhow::Result<Store>,
    app: AppEndpoints<'_>,
) -> anyhow::Result<Option<SignIn>> {
    let dev_sign_in = dev && host.is_loopback();
    if dev && !dev_sign_in {
        tracing::warn!(%host, "the development sign-in is off: Ferry listens beyond this machine");
    }
    let mut providers = file.providers;
    if let (Some(issuer), Some(client_id)) = (&args.oidc_issuer, &args.oidc_client_id) {
        let secret = args.oidc_client_secret.as_deref().unwrap_or_default();
        let mut provider = ProviderSettings::generic(FLAG_PROVIDER, issuer, client_id, secret);
        provider.label = label_of(issuer);
        providers.push(provider);
    }
    let mut rules = file.rules;
    for path in &args.protect {
        if !path.starts_with('/') {
            bail!("--protect {path}: a path starts with /");
        }
        rules.push(AccessRule {
            emails: args.allow_email.clone(),
            domains: args.allow_domain.clone(),
            groups: args.allow_group.clone(),
            ..AccessRule::signed_in(path)
        });
    }
    if rules.is_empty()
        && (!args.allow_email.is_empty()
            || !args.allow_domain.is_empty()
            || !args.allow_group.is_empty())
    {
        bail!(
            "--allow-email, --allow-domain and --allow-group apply to the paths of --protect; add --protect / to keep the whole site for them"
        );
    }
    if providers.is_empty() && rules.is_empty() && !dev_sign_in {
        return Ok(None);
    }
    if providers.is_empty() && !dev_sign_in {
        bail!(
            "paths are protected but nobody can sign in: add a provider ([auth.providers.NAME] in the config file, or --oidc-issuer with --oidc-client-id)"
        );
    }
    let mut bootstrap_admins = file.bootstrap_admins;
    bootstrap_admins.extend(
        args.bootstrap_admin
            .iter()
            .map(|email| email.to_ascii_lowercase()),
    );
    let settings = AuthSettings {
        providers,
        sessions: SessionSettings {
            cookie_name: args.session_cookie.clone(),
            idle_timeout: Duration::from_secs(args.session_idle_timeout),
            max_age: Duration::from_secs(args.session_max_age),
            max_per_user: usize::try_from(args.sessions_per_user).unwrap_or(usize::MAX),
        },
        bootstrap_admins,
        dev_sign_in,
        public_url: args.public_url.clone(),
        rules,
        admin_token: app.admin_token.map(str::to_owned),
        mcp_resource: app.mcp_path.map(str::to_owned),
    };
    let store = open()?;
    let auth = Auth::new(settings, store.connect()?)?;
    if dev_sign_in {
        tracing::warn!(
            "development sign-in on: anyone on this machine can sign in as anyone, with any role"
        );
    }
    let database_files = store.files();
    Ok(Some(SignIn {
        auth,
        database_files,
    }))
}

/// What the sign-in page calls the provider at `issuer`.
fn label_of(issuer: &str) -> String {
    let host = issuer
        .split("://")
        .nth(1)
        .unwrap_or(issuer)
        .split(['/', ':'])
        .next()
        .unwrap_or(issuer);
    match host {
        "accounts.google.com" => "Google".into(),
        "login.microsoftonline.com" => "Microsoft".into(),
        "appleid.apple.com" => "Apple".into(),
        host => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(flags: &[&str]) -> SignInArgs {
        let mut argv = vec!["ferry", "serve"];
        argv.extend_from_slice(flags);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Serve(serve) => serve.sign_in,
            _ => unreachable!(),
        }
    }

    const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn without_providers_rules_or_dev_there_is_no_sign_in() {
        let dir = tempfile::tempdir().unwrap();
        let none = configure(
            &args(&[]),
            ResolvedAuthConfig::default(),
            false,
            LOOPBACK,
            || Ok(ferry_store::Store::sqlite(dir.path())?),
            AppEndpoints::default(),
        )
        .unwrap();
        assert!(none.is_none());
        assert!(
            !dir.path().join("ferry.db").exists(),
            "no database is made for nothing"
        );
    }

    #[test]
    fn flags_make_a_provider_and_rules() {
        let dir = tempfile::tempdir().unwrap();
        let flags = args(&[
            "--oidc-issuer",
            "https://accounts.google.com",
            "--oidc-client-id",
            "id",
            "--protect",
            "/",
            "--allow-domain",
            "example.com",
        ]);
        let sign_in = configure(
            &flags,
            ResolvedAuthConfig::default(),
            false,
            LOOPBACK,
            || Ok(ferry_store::Store::sqlite(dir.path())?),
            AppEndpoints::default(),
        )
        .unwrap()
        .unwrap();
        let settings = sign_in.auth.settings();
        assert_eq!(settings.providers[0].label, "Google");
        assert_eq!(settings.rules[0].domains, ["example.com"]);
        assert!(sign_in.describe().contains("protected: /"));
    }

    #[test]
    fn development_sign_in_needs_loopback_and_rules_need_a_provider() {
        let dir = tempfile::tempdir().unwrap();
        let everywhere = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        assert!(
            configure(
                &args(&[]),
                ResolvedAuthConfig::default(),
                true,
                everywhere,
                || Ok(ferry_store::Store::sqlite(dir.path())?),
                AppEndpoints::default(),
            )
            .unwrap()
            .is_none()
        );
        let dev = configure(
            &args(&[]),
            ResolvedAuthConfig::default(),
            true,
            LOOPBACK,
            || Ok(ferry_store::Store::sqlite(dir.path())?),
            AppEndpoints::default(),
        )
        .unwrap()
        .unwrap();
        assert!(dev.auth.settings().dev_sign_in);
        let error = configure(
            &args(&["--protect", "/"]),
            ResolvedAuthConfig::default(),
            false,
            LOOPBACK,
            || Ok(ferry_store::Store::sqlite(dir.path())?),
            AppEndpoints::default(),
        )
        .err()
        .unwrap();
        assert!(error.to_string().contains("nobody can sign in"), "{error}");
        let error = configure(
            &args(&["--allow-email", "a@b.c"]),
            ResolvedAuthConfig::default(),
            false,
            LOOPBACK,
            || Ok(ferry_store::Store::sqlite(dir.path())?),
            AppEndpoints::default(),
        )
        .err()
        .unwrap();
        assert!(error.to_string().contains("--protect"), "{error}");
    }
}
