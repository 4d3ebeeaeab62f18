//! What can go wrong in a call into a script, how it is logged and what the client gets.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use ferry_core::{IntoResponse, Response};
use http::StatusCode;
use rquickjs::{Ctx, Value};

use crate::bindings::Registration;
use crate::error::ScriptError;
use crate::response::InvalidResponse;

/// Which handler a call went to, for log lines.
#[derive(Debug, Clone)]
pub(crate) struct CallLabel {
    pub script: Arc<str>,
    pub handler: String,
    pub route: String,
}

impl CallLabel {
    pub(crate) fn new(script: &Arc<str>, registration: &Registration) -> Self {
        CallLabel {
            script: script.clone(),
            handler: registration.handler.clone(),
            route: format!("{} {}", registration.method, registration.pattern),
        }
    }
}

/// An exception thrown by a script, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thrown {
    /// `Name: message`, as JavaScript prints it.
    pub message: String,
    pub stack: Option<String>,
    /// A status the script asked for by throwing (`request.auth.requireAuth()` → 401).
    pub status: Option<StatusCode>,
}

impl Thrown {
    /// Describes `error`, taking the pending exception from `ctx` when it is one.
    pub(crate) fn catch(ctx: &Ctx<'_>, error: &rquickjs::Error) -> Self {
        if !error.is_exception() {
            return Thrown {
                message: error.to_string(),
                stack: None,
                status: None,
            };
        }
        Self::from_value(&ctx.catch())
    }

    /// Describes a thrown (or rejected) value.
    pub(crate) fn from_value(value: &Value<'_>) -> Self {
        if let Some(exception) = value.as_exception() {
            let name: Option<String> = exception.get("name").ok();
            let message = exception.message().unwrap_or_default();
            let status = exception
                .get::<_, Option<u16>>("ferryStatus")
                .ok()
                .flatten()
                .and_then(|code| StatusCode::from_u16(code).ok());
            return Thrown {
                message: match name {
                    Some(name) if !name.is_empty() => format!("{name}: {message}"),
                    _ => message,
                },
                stack: exception.stack().filter(|stack| !stack.trim().is_empty()),
                status,
            };
        }
        let text = if let Some(text) = value.as_string() {
            text.to_string().unwrap_or_default()
        } else if value.is_null() {
            "null".to_owned()
        } else if value.is_undefined() {
            "undefined".to_owned()
        } else {
            value
                .ctx()
                .json_stringify(value.clone())
                .ok()
                .flatten()
                .and_then(|text| text.to_string().ok())
                .unwrap_or_else(|| format!("a value of type {}", value.type_name()))
        };
        Thrown {
            message: format!("uncaught {text}"),
            stack: None,
            status: None,
        }
    }

    /// The line in `script` the stack points at first.
    pub(crate) fn line_in(&self, script: &str) -> Option<u32> {
        let stack = self.stack.as_deref()?;
        let needle = format!("{script}:");
        stack.match_indices(&needle).find_map(|(at, _)| {
            let digits: String = stack[at + needle.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
    }

    /// This exception as a load error of `script`.
    pub(crate) fn into_script_error(self, script: &Arc<str>) -> ScriptError {
        ScriptError {
            line: self.line_in(script),
            script: script.clone(),
            message: self.message,
        }
    }

    fn is_out_of_memory(&self) -> bool {
        self.message.contains("out of memory")
    }
}

/// Why a call did not produce a response.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The call ran past its deadline and was stopped.
    Timeout(Duration),
    /// The script threw (or its promise rejected).
    Thrown(Thrown),
    /// The handler returned something that is not a response.
    Invalid(InvalidResponse),
    /// The runtime ran out of memory.
    OutOfMemory,
    /// The handler the route points at is gone or not callable.
    Missing(String),
}

impl Failure {
    /// Classifies an error from a call; `interrupted` says whether the deadline stopped it.
    pub(crate) fn from_error(
        ctx: &Ctx<'_>,
        error: &rquickjs::Error,
        interrupted: bool,
        limit: Duration,
    ) -> Self {
        if matches!(error, rquickjs::Error::Allocation) {
            return Failure::OutOfMemory;
        }
        let thrown = Thrown::catch(ctx, error);
        if interrupted {
            Failure::Timeout(limit)
        } else if thrown.is_out_of_memory() {
            Failure::OutOfMemory
        } else {
            Failure::Thrown(thrown)
        }
    }

    /// Whether the runtime should be rebuilt after this failure.
    pub(crate) fn poisons_runtime(&self) -> bool {
        matches!(self, Failure::OutOfMemory)
    }

    /// Logs the failure for the script's author.
    pub(crate) fn log(&self, label: &CallLabel, request_id: &str) {
        let script = &*label.script;
        let handler = label.handler.as_str();
        let route = label.route.as_str();
        let kind = match self {
            Failure::Timeout(_) => "timeout",
            Failure::Thrown(_) => "thrown",
            Failure::Invalid(_) => "invalid_response",
            Failure::OutOfMemory => "out_of_memory",
            Failure::Missing(_) => "missing_handler",
        };
        metrics::counter!("ferry_script_errors_total", "kind" => kind).increment(1);
        match self {
            Failure::Timeout(limit) => tracing::error!(
                target: crate::SCRIPT_LOG_TARGET, script, handler, route, request_id,
                "handler {handler} ({route}) in {script} ran longer than {} ms and was stopped (raise --timeout if it needs longer)",
                limit.as_millis()
            ),
            Failure::Thrown(thrown) => tracing::error!(
                target: crate::SCRIPT_LOG_TARGET, script, handler, route, request_id,
                "handler {handler} ({route}) in {script} threw {}{}",
                thrown.message,
                thrown.stack.as_deref().map(|stack| format!("\n{stack}")).unwrap_or_default()
            ),
            Failure::Invalid(problem) => tracing::error!(
                target: crate::SCRIPT_LOG_TARGET, script, handler, route, request_id,
                "handler {handler} ({route}) in {script} returned an invalid response: {problem}"
            ),
            Failure::OutOfMemory => tracing::error!(
                target: crate::SCRIPT_LOG_TARGET, script, handler, route, request_id,
                "handler {handler} ({route}) in {script} ran out of memory (raise --memory-limit if it needs more); the worker's runtime is rebuilt"
            ),
            Failure::Missing(reason) => tracing::error!(
                target: crate::SCRIPT_LOG_TARGET, script, handler, route, request_id,
                "handler {handler} ({route}) in {script} cannot be called: {reason}"
            ),
        }
    }

    /// The client's answer; with `dev`, it carries the details (message and stack).
    /// The answer for a GraphQL resolver's failure: a 500 whose body is the message the
    /// client sees in `errors` (what the script threw; never a stack).
    pub(crate) fn resolver_error(&self) -> Response {
        let message = match self {
            Failure::Timeout(limit) => {
                format!("the resolver ran longer than {} ms", limit.as_millis())
            }
            // `throw new Error("not found")` reads "not found", as GraphQL servers say it.
            Failure::Thrown(thrown) => thrown
                .message
                .strip_prefix("Error: ")
                .unwrap_or(&thrown.message)
                .to_owned(),
            Failure::Invalid(invalid) => invalid.0.clone(),
            Failure::OutOfMemory => "the resolver ran out of memory".to_owned(),
            Failure::Missing(_) => "the resolver is not available".to_owned(),
        };
        (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
    }

    pub(crate) fn response(&self, dev: bool) -> Response {
        let status = match self {
            Failure::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Failure::Thrown(Thrown {
                status: Some(status),
                ..
            }) => *status,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut text = format!(
            "{} {}\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or_default()
        );
        if dev {
            text.push('\n');
            match self {
                Failure::Timeout(limit) => {
                    let _ = writeln!(text, "the handler ran longer than {} ms", limit.as_millis());
                }
                Failure::Thrown(thrown) => {
                    let _ = writeln!(text, "{}", thrown.message);
                    if let Some(stack) = &thrown.stack {
                        let _ = writeln!(text, "{stack}");
                    }
                }
                Failure::Invalid(problem) => {
                    let _ = writeln!(text, "invalid response: {problem}");
                }
                Failure::OutOfMemory => text.push_str("the script ran out of memory\n"),
                Failure::Missing(reason) => {
                    let _ = writeln!(text, "{reason}");
                }
            }
        }
        (status, text).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_is_found_in_the_stack() {
        let thrown = Thrown {
            message: "ReferenceError: x is not defined".into(),
            stack: Some(
                "    at handler (apps/app.js:12:5)\n    at <eval> (apps/app.js:20)\n".into(),
            ),
            status: None,
        };
        assert_eq!(thrown.line_in("apps/app.js"), Some(12));
        assert_eq!(thrown.line_in("other.js"), None);
    }

    #[test]
    fn dev_mode_shows_the_details_and_production_does_not() {
        let failure = Failure::Thrown(Thrown {
            message: "Error: boom".into(),
            stack: Some("    at h (a.js:1:1)".into()),
            status: None,
        });
        let response = failure.response(false);
        assert_eq!(response.status(), 500);
        let dev = failure.response(true);
        assert_eq!(dev.status(), 500);
        assert_eq!(
            Failure::Timeout(Duration::from_secs(1))
                .response(false)
                .status(),
            504
        );
    }
}
