//! `register`, `routeRegistry.registerRoute` and the stream registrations: recording a
//! script's routes while it loads.

use std::rc::Rc;

use ferry_graphql::RootKind;
use http::Method;
use rquickjs::{Ctx, Function, Object};

use super::{ScriptHost, throw};
use crate::registration::{McpKind, Registration, RouteKind};

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let http_script = script.clone();
    let register = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, path: String, method: String, handler: String, cross_site: bool| {
            let label = record(&ctx, &http_script, path, &method, handler, RouteKind::Http)?;
            if cross_site
                && let Some(registration) = http_script
                    .registrations
                    .borrow_mut()
                    .as_mut()
                    .and_then(|list| list.last_mut())
            {
                registration.cross_site = true;
            }
            Ok::<_, rquickjs::Error>(label)
        },
    )?;
    host.set("register", register)?;
    let stream_script = script.clone();
    let register_stream = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, path: String, customizer: Option<String>| {
            check_exact_path(&ctx, &path, "stream")?;
            let kind = RouteKind::Stream {
                customized: customizer.is_some(),
            };
            let handler = customizer.unwrap_or_else(|| "(stream)".to_owned());
            record(&ctx, &stream_script, path, "GET", handler, kind)
        },
    )?;
    host.set("registerStream", register_stream)?;
    let socket_script = script.clone();
    let register_socket = Function::new(ctx.clone(), move |ctx: Ctx<'js>, path: String| {
        check_exact_path(&ctx, &path, "WebSocket")?;
        let handler = "(websocket)".to_owned();
        record(
            &ctx,
            &socket_script,
            path,
            "GET",
            handler,
            RouteKind::WebSocket,
        )
    })?;
    host.set("registerWebSocket", register_socket)?;
    let asset_script = script.clone();
    let register_asset = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, path: String, asset: String| {
            if is_pattern(&path) {
                return Err(throw(
                    &ctx,
                    &format!(
                        "asset route path {path:?} must be an exact path: it serves one asset"
                    ),
                ));
            }
            if !super::assets::valid_name(&asset) {
                return Err(throw(
                    &ctx,
                    &format!(
                        "registerAssetRoute: {asset:?} is not an asset name (a relative path such as \"logo.svg\" or \"css/site.css\")"
                    ),
                ));
            }
            let mut label = record(
                &ctx,
                &asset_script,
                path,
                "GET",
                "(asset)".to_owned(),
                RouteKind::Asset,
            )?;
            if let Some(list) = asset_script.registrations.borrow_mut().as_mut()
                && let Some(last) = list.last_mut()
            {
                last.definition = asset.clone();
            }
            label.push_str(&format!(" (asset {asset})"));
            Ok::<_, rquickjs::Error>(label)
        },
    )?;
    host.set("registerAsset", register_asset)?;
    let graphql_script = script.clone();
    let register_graphql = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, kind: String, name: String, sdl: String, handler: String| {
            let kind = match kind.as_str() {
                "query" => RootKind::Query,
                "mutation" => RootKind::Mutation,
                "subscription" => RootKind::Subscription,
                other => return Err(throw(&ctx, &format!("{other:?} is not a GraphQL root"))),
            };
            let valid_name = name.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            if !valid_name {
                return Err(throw(
                    &ctx,
                    &format!(
                        "{name:?} is not a GraphQL field name (letters, digits and _, not starting with a digit)"
                    ),
                ));
            }
            let pattern = format!("{kind} {name}");
            let mut label = record(
                &ctx,
                &graphql_script,
                pattern,
                "GET",
                handler,
                RouteKind::GraphQl(kind),
            )?;
            if let Some(list) = graphql_script.registrations.borrow_mut().as_mut()
                && let Some(last) = list.last_mut()
            {
                last.definition = sdl;
            }
            label.push_str(" (GraphQL)");
            Ok(label)
        },
    )?;
    host.set("registerGraphQL", register_graphql)?;
    let mcp_script = script.clone();
    let register_mcp = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, kind: String, key: String, definition: String, handler: String| {
            let kind = match kind.as_str() {
                "tool" => McpKind::Tool,
                "resource" => McpKind::Resource,
                "prompt" => McpKind::Prompt,
                other => return Err(throw(&ctx, &format!("{other:?} is not an MCP kind"))),
            };
            if key.trim().is_empty() {
                return Err(throw(
                    &ctx,
                    &format!("an MCP {} needs a name", kind.label()),
                ));
            }
            let pattern = format!("{} {key}", kind.label());
            let mut label = record(
                &ctx,
                &mcp_script,
                pattern,
                "POST",
                handler,
                RouteKind::Mcp(kind),
            )?;
            if let Some(list) = mcp_script.registrations.borrow_mut().as_mut()
                && let Some(last) = list.last_mut()
            {
                last.definition = definition;
            }
            label.push_str(" (MCP)");
            Ok(label)
        },
    )?;
    host.set("registerMCP", register_mcp)?;

    let job_script = script.clone();
    let register_job = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, name: String, definition: String, handler: String| {
            if name.trim().is_empty() || name.len() > 200 {
                return Err(throw(
                    &ctx,
                    "schedulerService: a job needs a name (at most 200 characters)",
                ));
            }
            crate::scheduler::JobSpec::parse(&definition).map_err(|error| {
                throw(&ctx, &format!("schedulerService: job {name:?}: {error}"))
            })?;
            let label = record(
                &ctx,
                &job_script,
                format!("job {name}"),
                "POST",
                handler,
                RouteKind::Job,
            )?;
            if let Some(list) = job_script.registrations.borrow_mut().as_mut()
                && let Some(last) = list.last_mut()
            {
                last.definition = definition;
            }
            Ok(label)
        },
    )?;
    host.set("registerJob", register_job)?;

    // After the script loaded, removes its jobs from the job table (until it is loaded
    // again): the id of the host call that does, or null while it loads (the jobs a load
    // registers replace the stored ones anyway).
    let clear_script = script.clone();
    let clear_jobs = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>| -> rquickjs::Result<Option<u32>> {
            if clear_script.registrations.borrow().is_some() {
                return Ok(None);
            }
            let Some(store) = clear_script.host.store.clone() else {
                return Err(throw(&ctx, "schedulerService needs a data directory"));
            };
            let name = clear_script.name.clone();
            Ok(Some(clear_script.spawn_host_call(async move {
                crate::scheduler::forget(&store, &name)
                    .await
                    .map(|count| count.to_string())
                    .map_err(|message| crate::job::HostCallError {
                        message,
                        status: None,
                    })
            })))
        },
    )?;
    host.set("clearJobs", clear_jobs)
}

/// Records a `dispatcher` listener of `script` for messages of type `kind`.
pub(super) fn record_listener(
    ctx: &Ctx<'_>,
    script: &ScriptHost,
    kind: String,
    handler: String,
) -> rquickjs::Result<String> {
    record(
        ctx,
        script,
        format!("listener {kind}"),
        "POST",
        handler,
        RouteKind::Listener,
    )
}

/// Streams and WebSockets are addressed by their exact path when messages are sent, so
/// patterns are out.
fn check_exact_path(ctx: &Ctx<'_>, path: &str, what: &str) -> rquickjs::Result<()> {
    if is_pattern(path) {
        return Err(throw(
            ctx,
            &format!(
                "{what} path {path:?} must be an exact path (messages are sent to a path); to address groups of clients, filter on their metadata (e.g. a ?room= query parameter)"
            ),
        ));
    }
    Ok(())
}

/// Whether `path` has a parameter or wildcard segment.
fn is_pattern(path: &str) -> bool {
    path.split('/').any(|segment| {
        segment.starts_with(':') || segment.starts_with('*') || segment.starts_with('{')
    })
}

fn record(
    ctx: &Ctx<'_>,
    script: &ScriptHost,
    pattern: String,
    method: &str,
    handler: String,
    kind: RouteKind,
) -> rquickjs::Result<String> {
    let mut registrations = script.registrations.borrow_mut();
    let Some(list) = registrations.as_mut() else {
        return Err(throw(
            ctx,
            "routes can only be registered while the script loads (at top level or in init())",
        ));
    };
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| throw(ctx, &format!("{method:?} is not an HTTP method")))?;
    if !matches!(
        kind,
        RouteKind::GraphQl(_) | RouteKind::Mcp(_) | RouteKind::Job | RouteKind::Listener
    ) && let Err(error) = ferry_core::router::check_pattern(&pattern)
    {
        return Err(throw(ctx, &error.to_string()));
    }
    if list
        .iter()
        .any(|existing| existing.pattern == pattern && existing.method == method)
    {
        return Err(throw(
            ctx,
            &format!("{method} {pattern} is already registered by this script"),
        ));
    }
    let label = match kind {
        RouteKind::Http | RouteKind::Asset => format!("registered {method} {pattern}"),
        RouteKind::Stream { .. } => format!("registered stream {pattern}"),
        RouteKind::WebSocket => format!("registered WebSocket {pattern}"),
        RouteKind::GraphQl(_) | RouteKind::Mcp(_) | RouteKind::Job | RouteKind::Listener => {
            format!("registered {pattern}")
        }
    };
    list.push(Registration {
        pattern,
        method,
        handler,
        kind,
        definition: String::new(),
        cross_site: false,
    });
    Ok(label)
}
