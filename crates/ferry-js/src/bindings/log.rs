//! `console.*` and `writeLog`: script log lines, tagged with the script and the request.

use std::rc::Rc;

use rquickjs::{Ctx, Function, Object};

use super::ScriptHost;

use crate::SCRIPT_LOG_TARGET as TARGET;

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let script = script.clone();
    let log = Function::new(ctx.clone(), move |level: String, message: String| {
        let request_id = script.host.request_id.borrow();
        let request_id = request_id.as_deref().unwrap_or("-");
        let name = &*script.name;
        match level.as_str() {
            "error" => tracing::error!(target: TARGET, script = name, request_id, "{message}"),
            "warn" => tracing::warn!(target: TARGET, script = name, request_id, "{message}"),
            "debug" => tracing::debug!(target: TARGET, script = name, request_id, "{message}"),
            "trace" => tracing::trace!(target: TARGET, script = name, request_id, "{message}"),
            _ => tracing::info!(target: TARGET, script = name, request_id, "{message}"),
        }
    })?;
    host.set("log", log)
}
