//! What can go wrong in a call into a script, how it is logged and what the client gets.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use ferry_core::{IntoResponse, Response};
use http::StatusCode;
use rquickjs::Ctx;

use crate::deadline::Deadline;
use crate::registration::Registration;
use crate::response::InvalidResponse;
use crate::thrown::Thrown;

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

/// Where a section was when its deadline stopped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stage {
    /// In the handler (or the promise jobs it queued).
    Running,
    /// Waiting: the handler's promise had not settled.
    Waiting,
    /// Reading what the handler returned: this part of it.
    Reading(String),
    /// Reading what the handler threw.
    Describing,
}

impl Stage {
    /// The end of the log line of a timeout, after "... and was stopped".
    fn explain(&self) -> String {
        match self {
            Stage::Running => String::new(),
            Stage::Waiting => " (its promise had not settled)".to_owned(),
            Stage::Reading(part) => format!(
                " while Ferry read what it returned: {part} (a getter, toString/valueOf/toJSON or Proxy trap that does not return?)"
            ),
            Stage::Describing => {
                " while Ferry read the error it threw (a getter on the error that does not return?)"
                    .to_owned()
            }
        }
    }
}

/// Why a call did not produce a response.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The call ran past its deadline and was stopped.
    Timeout { limit: Duration, during: Stage },
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
    /// Classifies an error of a section `guard` watches (still armed: describing what
    /// was thrown may run script code), which was at `during` when it failed.
    pub(crate) fn from_error(
        ctx: &Ctx<'_>,
        error: &rquickjs::Error,
        guard: &Deadline,
        limit: Duration,
        during: Stage,
    ) -> Self {
        if matches!(error, rquickjs::Error::Allocation) {
            return Failure::OutOfMemory;
        }
        if guard.fired() {
            if error.is_exception() {
                // The interrupt's own exception: nothing to describe.
                ctx.catch();
            }
            return Failure::Timeout { limit, during };
        }
        let thrown = Thrown::catch(ctx, error);
        if guard.fired() {
            Failure::Timeout {
                limit,
                during: Stage::Describing,
            }
        } else if thrown.is_out_of_memory() {
            Failure::OutOfMemory
        } else {
            Failure::Thrown(thrown)
        }
    }

    /// The failure of a value that could not be read or is not what was expected; a
    /// timeout when the deadline stopped the reading.
    pub(crate) fn invalid(invalid: InvalidResponse, guard: &Deadline, limit: Duration) -> Self {
        if guard.fired() {
            let part = invalid.reading.unwrap_or_else(|| "the value".to_owned());
            return Failure::Timeout {
                limit,
                during: Stage::Reading(part),
            };
        }
        Failure::Invalid(invalid)
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
            Failure::Timeout { .. } => "timeout",
            Failure::Thrown(_) => "thrown",
            Failure::Invalid(_) => "invalid_response",
            Failure::OutOfMemory => "out_of_memory",
            Failure::Missing(_) => "missing_handler",
        };
        metrics::counter!("ferry_script_errors_total", "kind" => kind).increment(1);
        match self {
            Failure::Timeout { limit, during } => tracing::error!(
                target: crate::SCRIPT_LOG_TARGET, script, handler, route, request_id,
                "handler {handler} ({route}) in {script} ran longer than its time limit of {} ms and was stopped{}",
                limit.as_millis(),
                during.explain()
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
                "handler {handler} ({route}) in {script} ran out of memory (past the runtime's memory limit); the worker's runtime is rebuilt"
            ),
            Failure::Missing(reason) => tracing::error!(
                target: crate::SCRIPT_LOG_TARGET, script, handler, route, request_id,
                "handler {handler} ({route}) in {script} cannot be called: {reason}"
            ),
        }
    }

    /// The answer for a GraphQL resolver's failure: a 500 whose body is the message the
    /// client sees in `errors` (what the script threw; never a stack).
    pub(crate) fn resolver_error(&self) -> Response {
        let message = match self {
            Failure::Timeout { limit, .. } => {
                format!("the resolver ran longer than {} ms", limit.as_millis())
            }
            // `throw new Error("not found")` reads "not found", as GraphQL servers say it.
            Failure::Thrown(thrown) => thrown
                .message
                .strip_prefix("Error: ")
                .unwrap_or(&thrown.message)
                .to_owned(),
            Failure::Invalid(invalid) => invalid.message.clone(),
            Failure::OutOfMemory => "the resolver ran out of memory".to_owned(),
            Failure::Missing(_) => "the resolver is not available".to_owned(),
        };
        (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
    }

    /// The client's answer; with `dev`, it carries the details (message and stack).
    pub(crate) fn response(&self, dev: bool) -> Response {
        let status = match self {
            Failure::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
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
                Failure::Timeout { limit, during } => {
                    let _ = writeln!(
                        text,
                        "the handler ran longer than {} ms and was stopped{}",
                        limit.as_millis(),
                        during.explain()
                    );
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
        let mut response = (status, text).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // A script that does not catch "the database cannot be reached" (or asks for
            // 503 itself): the client may try again shortly.
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, crate::response::RETRY_LATER);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let timeout = Failure::Timeout {
            limit: Duration::from_secs(1),
            during: Stage::Reading("the response's status".into()),
        };
        assert_eq!(timeout.response(false).status(), 504);
    }
}
