//! `ferry serve`: assembles the file service, the isolation and custom headers, CORS and
//! the server, then runs until Ctrl+C.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, anyhow};
use ferry_core::layers::{BasicAuthLayer, CorsLayer, ResponseHeadersLayer};
use ferry_core::server::TlsConfig;
use ferry_core::{App, AppError, BindError, ServerConfig};
use ferry_static::live_reload::{self, LiveReload};
use ferry_static::{CachePolicy, CrossOriginIsolation, StaticFiles, StaticOptions};
use http::Method;

use crate::cli::{CoepArg, ServeArgs};
use crate::config::ServeSettings;
use crate::{banner, launch};

/// How `ferry serve` ended.
pub enum Outcome {
    /// Stopped gracefully.
    Stopped,
    /// A second Ctrl+C cut the shutdown short.
    Forced,
}

/// Runs `ferry serve` to completion.
pub async fn run(settings: ServeSettings) -> anyhow::Result<Outcome> {
    let ServeSettings {
        args,
        config_file,
        header_rules,
    } = settings;
    let options = StaticOptions {
        header_rules,
        private_files: config_file.into_iter().collect(),
        live_reload: args.watch,
        ..static_options(&args)
    };
    let files = StaticFiles::new(&args.dir, options)
        .with_context(|| format!("cannot serve {}", args.dir.display()))?;
    let files_root = files.root().to_path_buf();
    let config = server_config(&args)?;
    let addr = SocketAddr::new(args.host, args.port);

    let interfaces = banner::interface_addresses();
    let tls = tls_config(&args, &interfaces)?;

    let mut app = App::new().config(config).layer(response_headers(&args));
    // Kept alive for as long as the server runs: dropping it stops the watcher.
    let live_reload = if args.watch {
        let live = LiveReload::watch(&files_root, args.hidden)
            .with_context(|| format!("cannot watch {} for changes", files_root.display()))?;
        app = app
            .get(live_reload::EVENTS_PATH, live.events_handler())
            .get(live_reload::SCRIPT_PATH, live.script_handler());
        Some(live)
    } else {
        None
    };
    if args.cors {
        app = app.layer(CorsLayer::any_origin().allow_methods(&[Method::GET, Method::HEAD]));
    }
    // Inside CORS: preflights, which never carry credentials, are answered before it.
    if let Some((user, password)) = &args.auth {
        app = app.layer(BasicAuthLayer::new(user, password, "ferry"));
    }
    if let Some((tls, _)) = &tls {
        app = app.tls(tls.clone());
    }
    let server = app
        .fallback(files)
        .bind(addr)
        .await
        .map_err(|error| explain_bind_error(error, &args))?;

    let local = server.local_addr();
    let urls = banner::urls(local, tls.is_some(), &interfaces);
    if args.log.quiet {
        println!("{}", urls.local);
    } else {
        let banner = banner::Banner {
            dir: &files_root,
            urls: &urls,
            loopback: local.ip().is_loopback(),
            tls: tls.as_ref().map(|(_, description)| description.as_str()),
            live_reload: args.watch,
        };
        print!("{}", banner.render());
    }
    if args.qr {
        let target = urls.network.first().unwrap_or(&urls.local);
        match launch::qr_code(target) {
            Some(code) => println!("\n  Scan to open {target}\n{code}"),
            None => tracing::warn!(url = %target, "the URL is too long for a QR code"),
        }
    }
    if args.open {
        launch::open_in_browser(&urls.local);
    }

    let report = server.run().await;
    drop(live_reload);
    Ok(if report.forced {
        Outcome::Forced
    } else {
        Outcome::Stopped
    })
}

/// The TLS configuration the flags ask for, with a line describing it for the banner.
fn tls_config(
    args: &ServeArgs,
    interfaces: &[IpAddr],
) -> anyhow::Result<Option<(TlsConfig, String)>> {
    if args.tls_self_signed {
        let names = self_signed_names(args.host, interfaces);
        let tls = TlsConfig::self_signed(&names)?;
        let description = format!(
            "self-signed for {}\n            SHA-256 {}",
            names.join(", "),
            tls.fingerprint()
        );
        return Ok(Some((tls, description)));
    }
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        return Ok(None);
    };
    let tls = TlsConfig::from_pem_files(cert, key).map_err(|error| {
        anyhow!("{error}\n  hint: --tls-cert takes the certificate chain and --tls-key its private key, both PEM; or use --tls-self-signed for development")
    })?;
    let description = format!("{} (SHA-256 {})", cert.display(), tls.fingerprint());
    Ok(Some((tls, description)))
}

/// The names a development certificate should cover: localhost, the loopback addresses,
/// the machine's host name and the addresses it is served on.
fn self_signed_names(host: IpAddr, interfaces: &[IpAddr]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Ok(hostname) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let hostname = hostname.trim();
        if !hostname.is_empty() {
            names.push(hostname.to_owned());
        }
    }
    let served: Vec<IpAddr> = if host.is_unspecified() {
        interfaces.to_vec()
    } else {
        vec![host]
    };
    for ip in served {
        let text = ip.to_string();
        if !names.contains(&text) {
            names.push(text);
        }
    }
    names
}

fn static_options(args: &ServeArgs) -> StaticOptions {
    StaticOptions {
        listing: !args.no_listing,
        hidden: args.hidden,
        follow_symlinks: args.follow_symlinks,
        spa: args.spa,
        compress: !args.no_compress,
        not_found_page: args.not_found_page.clone(),
        cache: match args.cache {
            Some(seconds) => CachePolicy::MaxAge(Duration::from_secs(seconds)),
            None => CachePolicy::NoCache,
        },
        ..StaticOptions::default()
    }
}

fn server_config(args: &ServeArgs) -> anyhow::Result<ServerConfig> {
    let shutdown_timeout = Duration::try_from_secs_f64(args.shutdown_timeout)
        .map_err(|_| anyhow!("--shutdown-timeout must be a number of seconds, 0 or more"))?;
    let config = ServerConfig {
        shutdown_timeout,
        max_connections: args.max_connections,
        ..ServerConfig::default()
    };
    config.validate().map_err(|error| anyhow!("{error}"))?;
    Ok(config)
}

/// Cross-origin isolation (unless turned off) and the user's `-H` headers, which win.
fn response_headers(args: &ServeArgs) -> ResponseHeadersLayer {
    let isolation = match (args.no_isolation, args.coep) {
        (true, _) => CrossOriginIsolation::Off,
        (false, CoepArg::RequireCorp) => CrossOriginIsolation::RequireCorp,
        (false, CoepArg::Credentialless) => CrossOriginIsolation::Credentialless,
    };
    let mut layer = ResponseHeadersLayer::new();
    for (name, value) in isolation.headers(args.cors) {
        layer = layer.set_if_absent(name, value);
    }
    for (name, value) in &args.headers {
        layer = layer.set(name.clone(), value.clone());
    }
    layer
}

fn explain_bind_error(error: AppError, args: &ServeArgs) -> anyhow::Error {
    match error {
        AppError::Bind(BindError::AddrInUse { addr }) => anyhow!(
            "port {} is already in use on {}\n  hint: stop the other server, pick another port with --port, or use --port 0 for a free one",
            addr.port(),
            addr.ip()
        ),
        AppError::Bind(BindError::PermissionDenied { addr }) => anyhow!(
            "no permission to listen on port {} (ports below 1024 need privileges)\n  hint: use a port of 1024 or more, e.g. --port {}",
            addr.port(),
            if args.port < 1024 { 8080 } else { args.port }
        ),
        AppError::Bind(BindError::AddrNotAvailable { addr }) => anyhow!(
            "{} is not an address of this machine\n  hint: use --host 127.0.0.1 for this machine only, or --host 0.0.0.0 for every interface",
            addr.ip()
        ),
        other => anyhow!(other),
    }
}
