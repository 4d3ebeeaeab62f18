//! `ferry run APP`: starts the JavaScript engine, loads the app's scripts, serves their
//! routes (and static files beside them), and reloads scripts when their files change.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, anyhow};
use ferry_core::health::HealthChecks;
use ferry_core::layers::{ResponseHeadersLayer, SecurityHeaders};
use ferry_core::prometheus::Metrics;
use ferry_core::router::{RouterService, Routes};
use ferry_core::server::PerThreadError;
use ferry_core::sse::HubSettings;
use ferry_core::stack::Stack;
use ferry_core::{App, BoxService, ServerConfig};
use ferry_js::management::Management;
use ferry_js::watch::ScriptFiles;
use ferry_js::{Engine, EngineOptions, LoadedScript, Script, WorkerModel};
use ferry_mcp::McpOptions;

use http::Method;

use crate::cli::{FrameOptionsArg, RunArgs, WorkerModelArg};
use crate::config::RunSettings;
use crate::files::{self, FileSetup};
use crate::listen::{self, Outcome};
use crate::protection::{self, SecurityDefaults};
use crate::{banner, sign_in};

/// Runs `ferry run` to completion.
pub(crate) async fn run(settings: RunSettings) -> anyhow::Result<Outcome> {
    let RunSettings {
        args,
        config_file,
        header_rules,
        sign_in,
    } = settings;
    let files = ScriptFiles::new(&args.app)?;
    let scripts = files.read_all()?;
    // Before the engine and servers: they look their metrics up once.
    let metrics = args.observe.enabled().then(Metrics::install).transpose()?;
    let store = args.engine.data.open()?;
    let sign_in = sign_in::configure(
        &args.sign_in,
        sign_in,
        args.dev,
        args.listen.host,
        || Ok(store.clone()),
        sign_in::AppEndpoints {
            admin_token: args.admin_token.as_deref(),
            mcp_path: Some(ferry_js::MCP_PATH),
        },
    )?;
    let mut options = engine_options(&args);
    options.store = Some(store);
    options.secret_key = args.engine.secret_key()?;
    // Signed in (an MCP access token, an API token or a session), MCP clients may use the
    // endpoint; others are told where to sign in.
    options.mcp.gate = sign_in.as_ref().map(sign_in::SignIn::mcp_gate);
    let engine = Engine::start(options)
        .await
        .context("cannot start the JavaScript engine")?;
    // The files get what `ferry serve` gives them: the same flags, config files never
    // served, and their isolation and `-H` headers (on the files only, not the scripts).
    let static_files = match &args.static_dir {
        Some(dir) => {
            let setup = FileSetup {
                config_file: config_file.clone(),
                private_files: sign_in
                    .as_ref()
                    .map(|sign_in| sign_in.database_files.clone())
                    .unwrap_or_default(),
                header_rules,
                live_reload: false,
            };
            let files = files::service(dir, &args.files, setup)?;
            let cross_origin = !args.security.cors_origin.is_empty();
            Some(files::with_headers(files, &args.files, cross_origin))
        }
        None => None,
    };
    let interfaces = banner::interface_addresses();
    let tls = listen::tls_config(&args.listen, &interfaces)?;
    let config = listen::server_config(&args.listen, &args.limits)?;
    let app_engine = engine.clone();
    let app_tls = tls.as_ref().map(|(tls, _)| tls.clone());
    let admin_token = args.admin_token.clone();
    let signed_in = sign_in.is_some();
    let security = protection::security_headers(
        &args.security,
        SecurityDefaults {
            frame_options: FrameOptionsArg::Deny,
            // A self-signed certificate is for testing: no HSTS pinning by default.
            hsts: args
                .listen
                .tls_cert
                .is_some()
                .then_some(SecurityHeaders::HSTS_ONE_YEAR),
        },
    )?;
    let headers =
        security.map(|security| security.add_to(ResponseHeadersLayer::new(), tls.is_some()));
    let cors = protection::cors(
        &args.security,
        false,
        &[
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ],
    )?;
    let stack = Stack {
        count_requests: metrics.is_some(),
        metrics: metrics.clone().filter(|_| args.observe.metrics),
        // Health checks answer after the scripts' routes instead: a script may serve /live.
        health: None,
        headers,
        cors,
        rate_limit: protection::rate_limits(&args.limits),
        auth: sign_in.as_ref().map(sign_in::SignIn::step),
    };
    let after_scripts = if args.no_health {
        static_files
    } else {
        let mut health = HealthChecks::new(env!("CARGO_PKG_VERSION"));
        if let Some(store) = app_engine.store().cloned() {
            health = health.with_check("database", database_check(store));
        }
        let health = health.into_router();
        Some(BoxService::new(RouterService::new(
            Routes::new(health),
            static_files,
        )))
    };
    let make_app = move |config: ServerConfig| {
        let app = App::new().config(config).fallback(RouterService::new(
            app_engine.routes(),
            after_scripts.clone(),
        ));
        let mut app = stack.clone().apply(app);
        if let Some(tls) = &app_tls {
            app = app.tls(tls.clone());
        }
        if admin_token.is_some() || signed_in {
            let mut management = Management::new(app_engine.clone());
            if let Some(token) = &admin_token {
                management = management.admin_token(token);
            }
            app = management.install(app);
        }
        app
    };
    let addr = SocketAddr::new(args.listen.host, args.listen.port);
    let explain = |error| listen::explain_bind_error(error, &args.listen);
    // Before the scripts load: a thread-per-core thread must be a worker first.
    let servers = engine
        .bind(make_app, config, addr)
        .await
        .map_err(|error| match error {
            PerThreadError::Bind(error) => explain(error),
            PerThreadError::Thread(error) => anyhow!(error),
        })?;
    let metrics_url = match (&metrics, args.observe.metrics_addr) {
        (Some(metrics), Some(addr)) => Some(metrics.serve_apart(addr).await?),
        _ => None,
    };
    let loaded = load_scripts(&engine, scripts).await?;
    // Kept alive while the server runs: dropping it stops the reloading.
    let watcher = if args.no_watch {
        None
    } else {
        let handle = tokio::runtime::Handle::current();
        Some(
            files
                .watch(engine.clone(), handle)
                .with_context(|| format!("cannot watch {} for changes", args.app.display()))?,
        )
    };
    let urls = banner::urls(servers.local_addr(), tls.is_some(), &interfaces);
    if args.log.quiet {
        println!("{}", urls.local);
    } else {
        let sign_in_line = sign_in.as_ref().map(sign_in::SignIn::describe);
        let extra = BannerExtras {
            settings: config_file.as_deref(),
            metrics: metrics_url.as_deref(),
            sign_in: sign_in_line.as_deref(),
        };
        print!("{}", describe(&args, &engine, &loaded, &urls, &extra));
    }
    let report = servers.run().await;
    drop(watcher);
    Ok(Outcome::of(&report))
}

/// Loads the app's scripts, then those uploaded through the management API.
pub(crate) async fn load_scripts(
    engine: &Engine,
    scripts: Vec<Script>,
) -> anyhow::Result<Vec<LoadedScript>> {
    let mut loaded = load_each(
        engine,
        scripts,
        "fix the script and start again (with --dev, errors also reach the browser)",
    )
    .await?;
    // Scripts uploaded through the management API come back after a restart.
    let uploaded = engine
        .restore_uploaded()
        .await
        .context("cannot read the stored scripts")?;
    // Other nodes on the same database: their uploads and messages from now on.
    engine.follow_other_nodes(uploaded.iter().map(|script| script.name.clone()));
    loaded.extend(uploaded);
    Ok(loaded)
}

/// Loads `scripts` in order; the first that does not load stops it, its error followed by
/// `hint`.
pub(crate) async fn load_each(
    engine: &Engine,
    scripts: Vec<Script>,
    hint: &str,
) -> anyhow::Result<Vec<LoadedScript>> {
    let mut loaded = Vec::with_capacity(scripts.len());
    for script in scripts {
        let script = engine
            .load(script)
            .await
            .map_err(|error| anyhow!("{error}\n  hint: {hint}"))?;
        loaded.push(script);
    }
    Ok(loaded)
}

/// `/health`'s report on the database (the engine's, off the async threads).
fn database_check(store: ferry_store::Store) -> ferry_core::health::HealthCheck {
    std::sync::Arc::new(move || {
        let store = store.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || ferry_js::cluster::database_health(&store))
                .await
                .unwrap_or_else(|_| serde_json::json!({ "status": "unknown" }))
        })
    })
}

pub(crate) fn engine_options(args: &RunArgs) -> EngineOptions {
    EngineOptions {
        dev: args.dev,
        model: match args.worker_model {
            WorkerModelArg::ThreadPerCore => WorkerModel::PerThread,
            WorkerModelArg::Pool => WorkerModel::Pool,
            WorkerModelArg::Auto => WorkerModel::Auto,
        },
        streams: HubSettings {
            keep_alive: Duration::from_secs(args.sse_heartbeat),
            max_clients: to_usize(args.sse_max_clients),
            client_queue: to_usize(args.sse_client_queue),
            replay: to_usize(args.sse_replay),
        },
        graphql_introspection: !args.no_graphql_introspection,
        mcp: McpOptions {
            token: args.mcp_token.clone(),
            gate: None,
            allowed_hosts: args.mcp_allowed_host.clone(),
            allowed_origins: args.mcp_allowed_origin.clone(),
        },
        ..args.engine.options()
    }
}

/// A count the flag's range already bounds, as a `usize`.
fn to_usize(count: u64) -> usize {
    usize::try_from(count).unwrap_or(usize::MAX)
}

/// Banner lines that only some runs have.
struct BannerExtras<'a> {
    /// The config file read.
    settings: Option<&'a std::path::Path>,
    /// Where metrics are served, when on a listener of their own.
    metrics: Option<&'a str>,
    /// Sign-in, described, when on.
    sign_in: Option<&'a str>,
}

/// The start-up banner of `ferry run`: the scripts and their routes, and where they are
/// served.
fn describe(
    args: &RunArgs,
    engine: &Engine,
    scripts: &[LoadedScript],
    urls: &banner::Urls,
    extra: &BannerExtras<'_>,
) -> String {
    let workers = engine.workers();
    let split = match args.worker_model {
        // As many on the server threads as in the pool.
        WorkerModelArg::Auto => format!(
            " ({} on the server threads, {} in the pool)",
            workers / 2,
            workers / 2
        ),
        WorkerModelArg::Pool | WorkerModelArg::ThreadPerCore => String::new(),
    };
    let mut text = format!(
        "\n  Ferry running {} on {workers} JavaScript worker{}{split}\n\n",
        args.app.display(),
        if workers == 1 { "" } else { "s" }
    );
    for script in scripts {
        for route in &script.routes {
            text.push_str(&format!("    {route:<32} {}\n", script.name));
        }
    }
    if let Some(dir) = &args.static_dir {
        text.push_str(&format!("    {:<32} {}\n", "static files", dir.display()));
    }
    text.push_str(&format!("\n  Local:    {}\n", urls.local));
    for url in &urls.network {
        text.push_str(&format!("  Network:  {url}\n"));
    }
    if let Some(metrics) = extra.metrics {
        text.push_str(&format!("  Metrics:  {metrics}\n"));
    }
    if let Some(settings) = extra.settings {
        text.push_str(&format!("  Settings: {}\n", settings.display()));
    }
    if let Some(sign_in) = extra.sign_in {
        text.push_str(&format!("  Sign-in:  {sign_in}\n"));
    }
    if args.admin_token.is_some() || extra.sign_in.is_some() {
        text.push_str(
            "\n  Management API on /engine/ (the admin token, or signed in as an editor).",
        );
    }
    if !args.no_watch {
        text.push_str("\n  Scripts reload when their files change.");
    }
    text.push('\n');
    text.push_str("  Press Ctrl+C to stop\n\n");
    text
}
