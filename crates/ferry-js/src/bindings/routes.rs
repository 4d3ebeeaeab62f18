//! `register` and `routeRegistry.registerRoute`: recording a script's routes while it loads.

use std::rc::Rc;

use http::Method;
use rquickjs::{Ctx, Function, Object};

use super::{ScriptHost, throw};

/// One route a script registered; its position in the script's list is its handler's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registration {
    pub pattern: String,
    pub method: Method,
    /// The handler function's name (or the global name it was registered by), for logs.
    pub handler: String,
}

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let script = script.clone();
    let register = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, path: String, method: String, handler: String| {
            record(&ctx, &script, path, &method, handler)
        },
    )?;
    host.set("register", register)
}

fn record(
    ctx: &Ctx<'_>,
    script: &ScriptHost,
    pattern: String,
    method: &str,
    handler: String,
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
    if let Err(error) = ferry_core::router::check_pattern(&pattern) {
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
    let label = format!("registered {method} {pattern}");
    list.push(Registration {
        pattern,
        method,
        handler,
    });
    Ok(label)
}
