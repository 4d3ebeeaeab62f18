//! `ferry serve`: assembles the file service, the isolation and custom headers, CORS and
//! the server, then runs until Ctrl+C.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use ferry_core::App;
use ferry_core::health::HealthChecks;
use ferry_core::layers::BasicAuthLayer;
use ferry_core::prometheus::Metrics;
use ferry_core::stack::{Authentication, Stack};
use ferry_static::live_reload::{self, LiveReload};
use http::Method;

use crate::cli::FrameOptionsArg;
use crate::config::ServeSettings;
use crate::files::{self, FileSetup};
use crate::listen::{self, Outcome};
use crate::protection::{self, SecurityDefaults};
use crate::{banner, launch, sign_in};

/// Runs `ferry serve` to completion.
pub(crate) async fn run(settings: ServeSettings) -> anyhow::Result<Outcome> {
    let ServeSettings {
        args,
        config_file,
        header_rules,
        sign_in,
    } = settings;
    // Before the files: the database must exist to be kept out of them.
    let sign_in = sign_in::configure(
        &args.sign_in,
        sign_in,
        args.dev,
        args.listen.host,
        || args.data.open(),
        sign_in::AppEndpoints::default(),
    )?;
    if sign_in.is_some() && args.auth.is_some() {
        bail!(
            "--auth (one password for everyone) and sign-in cannot both guard the site; keep one"
        );
    }
    let files = files::service(
        &args.dir,
        &args.files,
        FileSetup {
            config_file,
            private_files: sign_in
                .as_ref()
                .map(|sign_in| sign_in.database_files.clone())
                .unwrap_or_default(),
            header_rules,
            live_reload: args.watch,
        },
    )?;
    let files_root = files.root().to_path_buf();
    let config = listen::server_config(&args.listen, &args.limits)?;
    let addr = SocketAddr::new(args.listen.host, args.listen.port);

    let interfaces = banner::interface_addresses();
    let tls = listen::tls_config(&args.listen, &interfaces)?;
    let cors = protection::cors(&args.security, args.cors, &[Method::GET, Method::HEAD])?;
    let metrics = args.observe.enabled().then(Metrics::install).transpose()?;

    let security = protection::security_headers(
        &args.security,
        SecurityDefaults {
            frame_options: FrameOptionsArg::Sameorigin,
            hsts: None,
        },
    )?;
    let mut headers = files::response_headers(
        &args.files,
        args.cors || !args.security.cors_origin.is_empty(),
    );
    if let Some(security) = security {
        headers = security.add_to(headers, tls.is_some());
    }
    let stack = Stack {
        count_requests: metrics.is_some(),
        metrics: metrics.clone().filter(|_| args.observe.metrics),
        health: args
            .health
            .then(|| HealthChecks::new(env!("CARGO_PKG_VERSION"))),
        headers: Some(headers),
        cors,
        rate_limit: protection::rate_limits(&args.limits),
        auth: match &sign_in {
            Some(sign_in) => Some(sign_in.step()),
            None => args.auth.as_ref().map(|(user, password)| {
                Authentication::Basic(BasicAuthLayer::new(user, password, "ferry"))
            }),
        },
    };
    let mut app = App::new().config(config);
    // Kept alive for as long as the server runs: dropping it stops the watcher.
    let live_reload = if args.watch {
        let live = LiveReload::watch(&files_root, args.files.hidden)
            .with_context(|| format!("cannot watch {} for changes", files_root.display()))?;
        app = app
            .get(live_reload::EVENTS_PATH, live.events_handler())
            .get(live_reload::SCRIPT_PATH, live.script_handler());
        Some(live)
    } else {
        None
    };
    app = stack.apply(app);
    if let Some((tls, _)) = &tls {
        app = app.tls(tls.clone());
    }
    let server = app
        .fallback(files)
        .bind(addr)
        .await
        .map_err(|error| listen::explain_bind_error(error, &args.listen))?;

    let metrics_url = match (&metrics, args.observe.metrics_addr) {
        (Some(metrics), Some(addr)) => Some(metrics.serve_apart(addr).await?),
        _ => None,
    };

    let sign_in_line = sign_in.as_ref().map(sign_in::SignIn::describe);
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
            metrics: metrics_url.as_deref(),
            sign_in: sign_in_line.as_deref(),
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
    Ok(Outcome::of(&report))
}
